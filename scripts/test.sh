#!/usr/bin/env bash
# Set up and run the whole test suite: the virtualenv, Chromium for the browser tests, pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh test
if [ ! -x /usr/bin/chromium ]; then
  echo "Installing Chromium (Debian package) for the browser tests…" >&2
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q chromium >/dev/null
fi
# Two workers: the machine has two cores, and the slow tests (NER, browser) are independent.
exec .venv/bin/python -m pytest -n 2 --dist loadfile "$@"
