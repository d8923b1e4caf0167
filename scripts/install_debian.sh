#!/usr/bin/env bash
# Install the Debian packages named as arguments that are missing: what the tests need from the system (a browser,
# fonts, the servers they start for real on 127.0.0.1). Needs root (CI runs as root); otherwise says what to run,
# and the tests that need a missing package skip with that reason.
set -euo pipefail
missing=""
for package in "$@"; do
  dpkg -s "$package" >/dev/null 2>&1 || missing="$missing $package"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
  echo "Missing Debian packages:$missing. Install them with: sudo apt-get install -y$missing" >&2
  exit 0
fi
echo "Installing Debian packages:$missing"
apt-get update -qq
# --no-install-recommends: a server package's own cluster or service is never used (the tests start their own).
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
