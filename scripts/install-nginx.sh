#!/usr/bin/env bash
# Debian's nginx for `make cluster` and the cluster system test. Installs the package only
# when it is missing, and never starts or enables Debian's own nginx service: the cluster
# runs its own nginx with deploy/nginx/lotsen.conf rendered into var/cluster/.
set -euo pipefail
if [ -x /usr/sbin/nginx ]; then
  exit 0
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
# policy-rc.d exit code 101: the package's post-install must not start a system nginx on :80.
policy=/usr/sbin/policy-rc.d
created_policy=""
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null
  $sudo chmod +x "$policy"
  created_policy=1
fi
cleanup() { if [ -n "$created_policy" ]; then $sudo rm -f "$policy"; fi; }
trap cleanup EXIT
$sudo apt-get install -y -qq nginx-light >/dev/null 2>&1 || {
  $sudo apt-get update -qq >/dev/null
  $sudo apt-get install -y -qq nginx-light >/dev/null
}
/usr/sbin/nginx -v
