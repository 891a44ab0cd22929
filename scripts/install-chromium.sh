#!/usr/bin/env bash
# Make headless Chromium available for the report page's browser test (Debian's chromium);
# otherwise say exactly what to run.
set -eu
if command -v chromium >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "chromium is not installed; the report page's browser test will be skipped. Install it with:" >&2
  echo "  sudo apt-get install -y chromium" >&2
  exit 0
fi
echo "installing chromium with apt-get ..." >&2
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
