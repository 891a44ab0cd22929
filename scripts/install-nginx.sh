#!/usr/bin/env bash
# Make nginx available for the proxy checks: Debian's nginx-light when missing and we are root;
# otherwise say exactly what to run. Never starts the system nginx service.
set -eu
if command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ]; then
  exit 0
fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "nginx is not installed; the proxy checks will be skipped. Install it with:" >&2
  echo "  sudo apt-get install -y nginx-light" >&2
  exit 0
fi
# Keep the package's post-install from starting a system nginx on port 80.
created_policy=0
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
  chmod +x /usr/sbin/policy-rc.d
  created_policy=1
fi
trap '[ "$created_policy" = 1 ] && rm -f /usr/sbin/policy-rc.d' EXIT
echo "installing nginx-light with apt-get ..." >&2
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light >/dev/null
