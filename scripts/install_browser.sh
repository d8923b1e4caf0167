#!/usr/bin/env bash
# Install Debian's Chromium (and the handwriting fonts the robustness tests typeset digits in)
# when they are missing. Needs root (CI runs as root); otherwise says what to run.
set -euo pipefail
fonts=$(grep -v '^#' "$(dirname "$0")/../mnist_app/measure/fonts.txt" | cut -d' ' -f1 | sort -u)
missing=""
[ -x /usr/bin/chromium ] || missing="chromium chromium-driver"
for font in $fonts; do
  dpkg -s "$font" >/dev/null 2>&1 || missing="$missing $font"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
  echo "Missing Debian packages:$missing. Install them with: sudo apt-get install -y$missing" >&2
  exit 0
fi
echo "Installing Debian packages:$missing"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
