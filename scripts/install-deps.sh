#!/usr/bin/env bash
# Installs the Debian packages speedo builds and tests with: only the missing ones, with sudo when not root.
# Usage: scripts/install-deps.sh [extra-package…]   (make bench adds its own, such as wrk and hyperfine)
set -euo pipefail

packages=(pkg-config librdkafka-dev libpq-dev libncursesw5-dev postgresql postgresql-15-tdigest kcat tmux util-linux curl jq man-db systemd "$@")

missing=()
for package in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed'; then
        missing+=("$package")
    fi
done

if ! command -v swift >/dev/null 2>&1 && [ -x /opt/swift/usr/bin/swift ]; then
    echo "note: swift is at /opt/swift/usr/bin but not on PATH; the Makefile adds it" >&2
fi

[ ${#missing[@]} -eq 0 ] && exit 0

sudo=()
if [ "$(id -u)" -ne 0 ]; then
    if ! command -v sudo >/dev/null 2>&1; then
        echo "speedo needs these Debian packages: ${missing[*]}; install them as root (apt-get install …)" >&2
        exit 69
    fi
    sudo=(sudo)
fi

echo "installing Debian packages: ${missing[*]}" >&2
"${sudo[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
