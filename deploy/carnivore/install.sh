#!/bin/sh
# carnivore provisioning (runs as root on the aws builder's temporary instance, after
# the template uploaded tmp/appserver to /tmp/appserver and app.service to /tmp):
# install the app in /opt/app, enable it as a systemd service (it starts at boot and reads its
# environment and settings from the instance's user data, which the launch template carries),
# and check its health endpoint answers with stand-in settings, so a broken build fails the
# bake instead of the deploy. The image holds no environment's settings: every environment
# runs the same image.
set -eu

if [ ! -f /tmp/appserver/app/server.py ]; then
  echo "carnivore: tmp/appserver is incomplete (need app/server.py)" >&2
  exit 1
fi

echo "carnivore: installing the app in /opt/app..."
rm -rf /opt/app
mkdir -p /opt/app
cp -R /tmp/appserver/. /opt/app/
chown -R root:root /opt/app
chmod -R u=rwX,go=rX /opt/app
rm -rf /tmp/appserver

echo "carnivore: installing app.service (started at boot)..."
install -m 0644 /tmp/app.service /etc/systemd/system/app.service
rm -f /tmp/app.service
systemctl daemon-reload
systemctl enable app.service

echo "carnivore: checking the health endpoint, with stand-in settings..."
port=8079
APP_USER_DATA="{\"NODE_ENV\": \"bake\", \"config\": {\"port\": $port}}" python3 /opt/app/app/server.py &
app=$!
tries=0
until python3 -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=2)' "http://127.0.0.1:$port/api/status/health" 2>/dev/null; do
  tries=$((tries + 1))
  if [ "$tries" -ge 15 ] || ! kill -0 "$app" 2>/dev/null; then
    echo "carnivore: the app did not answer on port $port" >&2
    kill "$app" 2>/dev/null || true
    exit 1
  fi
  sleep 1
done
kill "$app"
wait "$app" || true
echo "carnivore: done."
