#!/usr/bin/env bash
# Builds the Debian package of speedo with dpkg-deb, from a release binary (Swift's runtime linked in):
#   scripts/make-deb.sh [BINARY] [OUTPUT-DIRECTORY]      (default: .build/release/speedo, .build)
# It holds the binary, the man page, the completions, the systemd units (not enabled: configure
# /etc/speedo/speedo.env first) and the example settings; Depends names the packages of exactly the shared libraries
# the binary links (dpkg-shlibdeps). Prints the package's path.
set -euo pipefail
cd "$(dirname "$0")/.."

binary=${1:-.build/release/speedo}
output=${2:-.build}
[ -x "$binary" ] || { echo "make-deb: $binary is not an executable (run make release first)" >&2; exit 66; }
if ldd "$binary" | grep -q 'libswiftCore'; then
    echo "make-deb: $binary links Swift's runtime from the toolchain; package the release binary (make release)" >&2
    exit 65
fi

version=$("$binary" --version)
arch=$(dpkg --print-architecture)
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
root="$stage/speedo_${version}_${arch}"

scripts/install.sh "$binary" /usr "$root" >/dev/null
# Debian ships binaries without their symbol tables (a tenth of the size); backtraces keep the function names.
strip --strip-unneeded "$root/usr/bin/speedo"
gzip -9n "$root/usr/share/man/man1/speedo.1"
install -d "$root/lib/systemd/system" "$root/usr/share/doc/speedo"
install -m 0644 dist/systemd/*.service "$root/lib/systemd/system/"
install -m 0644 dist/systemd/speedo.env.example dist/config.example.yaml "$root/usr/share/doc/speedo/"

# dpkg-shlibdeps reads debian/control of a source tree: a scratch one names the package.
mkdir -p "$stage/source/debian"
printf 'Source: speedo\n\nPackage: speedo\nArchitecture: any\n' >"$stage/source/debian/control"
depends=$(cd "$stage/source" && dpkg-shlibdeps -O -e "$root/usr/bin/speedo" 2>"$stage/shlibdeps.log" \
    | sed -n 's/^shlibs:Depends=//p') || { cat "$stage/shlibdeps.log" >&2; exit 1; }
[ -n "$depends" ] || { echo "make-deb: dpkg-shlibdeps named no dependency" >&2; cat "$stage/shlibdeps.log" >&2; exit 1; }

install -d "$root/DEBIAN"
cat >"$root/DEBIAN/control" <<CONTROL
Package: speedo
Version: $version
Architecture: $arch
Maintainer: speedo developers <speedo@localhost>
Installed-Size: $(du -sk --exclude=DEBIAN "$root" | cut -f1)
Depends: $depends, passwd
Section: net
Priority: optional
Description: real-time vehicle-speed telemetry over Kafka and PostgreSQL
 speedo validates sensor readings and publishes them to Kafka, writes their
 history to PostgreSQL exactly once, keeps the latest state per sensor, and
 shows it live in the terminal or a web page. One binary; systemd units for
 its long-running commands are in /lib/systemd/system (not enabled).
CONTROL
cat >"$root/DEBIAN/postinst" <<'POSTINST'
#!/bin/sh
set -e
# The units run as the speedo system user.
if [ "$1" = configure ] && ! getent passwd speedo >/dev/null; then
    useradd --system --user-group --home-dir /nonexistent --no-create-home --shell /usr/sbin/nologin speedo
fi
if [ -d /run/systemd/system ]; then systemctl daemon-reload >/dev/null || true; fi
POSTINST
cat >"$root/DEBIAN/postrm" <<'POSTRM'
#!/bin/sh
set -e
if [ -d /run/systemd/system ]; then systemctl daemon-reload >/dev/null || true; fi
POSTRM
chmod 0755 "$root/DEBIAN/postinst" "$root/DEBIAN/postrm"

mkdir -p "$output"
package="$output/speedo_${version}_${arch}.deb"
dpkg-deb --root-owner-group -Zgzip --build "$root" "$package" >/dev/null
echo "$package"
