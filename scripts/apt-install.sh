#!/usr/bin/env bash
# Install the named Debian packages that are missing, quietly; nothing when all are there.
# Not root or no apt-get: print the command to run (for PURPOSE) and return 0, so that the
# run goes on and whatever needs the packages reports their absence itself.
# A policy-rc.d for the duration keeps packages with a service (nginx, apache2) from starting
# it on port 80. Usage: scripts/apt-install.sh "PURPOSE" PACKAGE...
set -eu
purpose="$1"; shift
missing=""
for pkg in "$@"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" || missing="$missing $pkg"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "Debian packages missing for $purpose:$missing; install them with:" >&2
  echo "  sudo apt-get install -y$missing" >&2
  exit 0
fi
created_policy=0
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
  chmod +x /usr/sbin/policy-rc.d
  created_policy=1
fi
trap '[ "$created_policy" = 1 ] && rm -f /usr/sbin/policy-rc.d' EXIT
echo "installing$missing with apt-get ..." >&2
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
