#!/bin/sh
# primal provisioning (runs as root on the aws builder's temporary instance):
# a patched Debian/Ubuntu base with the runtime the app needs (python3). Everything
# that changes rarely belongs here, so each carnivore bake only copies the app in.
set -eu
export DEBIAN_FRONTEND=noninteractive

echo "primal: waiting for cloud-init to finish (it may still hold the apt lock)..."
if command -v cloud-init >/dev/null 2>&1; then
  cloud-init status --wait >/dev/null || true
fi

echo "primal: applying OS updates..."
apt-get update -q
apt-get -q -y -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold upgrade

echo "primal: installing the app runtime (python3)..."
apt-get -q -y install --no-install-recommends python3 ca-certificates

echo "primal: cleaning up..."
apt-get -q -y autoremove --purge
apt-get clean
rm -rf /var/lib/apt/lists/*

python3 --version
echo "primal: done."
