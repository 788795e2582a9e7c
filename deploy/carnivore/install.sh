#!/bin/sh
# carnivore provisioning (runs as root on the aws builder's temporary instance, after
# the template uploaded tmp/appserver to /tmp/appserver and app.service to /tmp):
# install the app in /opt/app, enable it as a systemd service, and check its health
# endpoint answers, so a broken build fails the bake instead of the deploy.
set -eu
: "${NODE_ENV:?NODE_ENV must be set}"

config="/tmp/appserver/deploy/env/$NODE_ENV.json"
if [ ! -f "$config" ] || [ ! -f /tmp/appserver/app/server.py ]; then
  echo "carnivore: tmp/appserver is incomplete (need app/server.py and deploy/env/$NODE_ENV.json)" >&2
  exit 1
fi

echo "carnivore: installing the app in /opt/app..."
rm -rf /opt/app
mkdir -p /opt/app
cp -R /tmp/appserver/. /opt/app/
chown -R root:root /opt/app
chmod -R u=rwX,go=rX /opt/app
rm -rf /tmp/appserver

echo "carnivore: installing app.service (NODE_ENV=$NODE_ENV)..."
printf 'NODE_ENV=%s\n' "$NODE_ENV" > /etc/default/app
install -m 0644 /tmp/app.service /etc/systemd/system/app.service
rm -f /tmp/app.service
systemctl daemon-reload
systemctl enable app.service
systemctl restart app.service

echo "carnivore: checking the health endpoint..."
tries=0
port=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1])).get("port", 80))' "/opt/app/deploy/env/$NODE_ENV.json")
until python3 -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=2)' "http://127.0.0.1:$port/api/status/health" 2>/dev/null; do
  tries=$((tries + 1))
  if [ "$tries" -ge 15 ]; then
    echo "carnivore: the app did not answer on port $port; its log follows" >&2
    journalctl -u app.service --no-pager -n 50 >&2 || true
    exit 1
  fi
  sleep 1
done
echo "carnivore: done."
