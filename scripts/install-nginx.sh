#!/usr/bin/env bash
# Make nginx available for the proxy checks: Debian's nginx-light when missing and we are root;
# otherwise say exactly what to run (the proxy checks are then skipped with that command as the
# reason). Never starts the system nginx service (scripts/apt-install.sh).
set -eu
if command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ]; then
  exit 0
fi
exec bash "$(dirname "$0")/apt-install.sh" "the proxy checks (nginx)" nginx-light
