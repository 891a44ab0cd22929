#!/usr/bin/env bash
# The bundled servers that compile against Debian libraries, installed into the virtualenv:
#   bjoern      needs libev-dev (its event loop)
#   mod_wsgi    needs apache2-dev (apxs, the headers) and apache2-bin (httpd, which
#               mod_wsgi-express starts)
#   uWSGI sdist the C build most deployments use, beside the pyuwsgi wheel (target uwsgi):
#               installed under VENV/uwsgi-sdist so that its bin/uwsgi does not replace
#               pyuwsgi's; needs gcc and the Python headers (on the machine already)
# Versions come from constraints.txt. Idempotent and quiet when all is there already; when
# it cannot install (not root, no apt-get), it says what to run and the targets that need
# the missing piece report a start-up error naming it.
# Usage: scripts/install-compiled-servers.sh VENV
set -eu
venv="$1"
py="$venv/bin/python"
missing=""
for pkg in libev-dev apache2-dev apache2-bin; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" || missing="$missing $pkg"
done
if [ -n "$missing" ]; then
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "Debian packages missing for bjoern and mod_wsgi:$missing; install them with:" >&2
    echo "  sudo apt-get install -y$missing" >&2
    exit 0
  fi
  # Keep the package's post-install from starting a system Apache on port 80.
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
fi
pin() { grep -i "^$1==" constraints.txt; }
"$py" -m pip install -q --disable-pip-version-check "$(pin bjoern)" "$(pin mod_wsgi)"
want="$(pin uWSGI | cut -d= -f3)"
if [ "$("$venv/uwsgi-sdist/bin/uwsgi" --version 2>/dev/null)" != "$want" ]; then
  echo "building uWSGI $want from its sdist (about a minute) ..." >&2
  rm -rf "$venv/uwsgi-sdist"
  # CPUCOUNT: uwsgiconfig.py's parallel compile jobs.
  CPUCOUNT=2 "$py" -m pip install -q --disable-pip-version-check --no-deps \
    --target "$venv/uwsgi-sdist" "uWSGI==$want"
fi
