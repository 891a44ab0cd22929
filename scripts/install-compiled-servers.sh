#!/usr/bin/env bash
# The bundled servers that compile against Debian libraries, installed into the virtualenv:
#   bjoern      needs libev-dev (its event loop)
#   mod_wsgi    needs apache2-dev (apxs, the headers) and apache2-bin (httpd, which
#               mod_wsgi-express starts)
#   uWSGI sdist the C build most deployments use, beside the pyuwsgi wheel (target uwsgi):
#               installed under VENV/uwsgi-sdist so that its bin/uwsgi does not replace
#               pyuwsgi's; needs gcc and the Python headers (on the machine already)
# Versions come from constraints.txt. Idempotent and quiet when all is there already; when
# it cannot install the Debian packages (not root, no apt-get), it says what to run, and a
# build that fails says which targets will report a start-up error.
# Usage: scripts/install-compiled-servers.sh VENV
set -eu
venv="$1"
py="$venv/bin/python"
bash "$(dirname "$0")/apt-install.sh" "bjoern and mod_wsgi" libev-dev apache2-dev apache2-bin
pin() { grep -i "^$1==" constraints.txt; }
# A build that fails (no Debian headers) must not stop `make test` or `make matrix`: the
# targets that need it then report a start-up error naming the missing command.
"$py" -m pip install -q --disable-pip-version-check "$(pin bjoern)" "$(pin mod_wsgi)" ||
  echo "bjoern / mod_wsgi did not build: their targets will report a start-up error" >&2
want="$(pin uWSGI | cut -d= -f3)"
if [ "$("$venv/uwsgi-sdist/bin/uwsgi" --version 2>/dev/null)" != "$want" ]; then
  echo "building uWSGI $want from its sdist (about a minute) ..." >&2
  rm -rf "$venv/uwsgi-sdist"
  # CPUCOUNT: uwsgiconfig.py's parallel compile jobs.
  CPUCOUNT=2 "$py" -m pip install -q --disable-pip-version-check --no-deps \
    --target "$venv/uwsgi-sdist" "uWSGI==$want" ||
    echo "the uWSGI sdist did not build: the target uwsgi-sdist will report a start-up error" >&2
fi
