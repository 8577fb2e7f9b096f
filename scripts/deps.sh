#!/usr/bin/env bash
# Install the Debian packages omvflash needs to build and test (Debian 12).
set -euo pipefail
PKGS=(build-essential cmake pkg-config
      libusb-1.0-0-dev libinih-dev libserialport-dev zlib1g-dev libsystemd-dev systemd
      libzip-dev nettle-dev
      libcmocka-dev libumockdev-dev umockdev libglib2.0-dev
      dfu-util jq python3 valgrind clang libclang-rt-14-dev
      universal-ctags  # scripts/check-size.sh: function extents
      groff-base       # tests/install/check_man_pages.sh: groff -man -ww
      prometheus)  # promtool: lints the --metrics file in the tests
SUDO=
[ "$(id -u)" = 0 ] || SUDO=sudo
missing=()
for p in "${PKGS[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep "ok installed" >/dev/null || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
echo "deps: all ${#PKGS[@]} packages installed"
