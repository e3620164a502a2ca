#!/bin/sh
# Installs everything unclip needs on Debian or Ubuntu, builds it in release
# mode, and puts the binary and man pages under PREFIX (default /usr/local).
# Usage: ./install.sh            (as root, or with sudo available)
set -eu
cd "$(dirname "$0")"
PREFIX=${PREFIX:-/usr/local}
SUDO=
[ "$(id -u)" -eq 0 ] || SUDO=sudo

packages="libpng-dev libjpeg-dev libopenblas-dev libssl-dev pkg-config"
missing=
for p in $packages; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
    echo "install.sh: installing$missing" >&2
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing >&2
fi

command -v swift >/dev/null || { echo "install.sh: swift not found; install Swift 6 from swift.org first" >&2; exit 1; }
swift build -c release --product unclip >&2

$SUDO install -d "$PREFIX/bin" "$PREFIX/share/man/man1"
$SUDO install -m 755 .build/release/unclip "$PREFIX/bin/unclip"
$SUDO install -m 644 Man/*.1 "$PREFIX/share/man/man1/"
echo "install.sh: installed $PREFIX/bin/unclip and its man pages" >&2
