#!/usr/bin/env bash
# Installs speedo where the system looks for each part: the binary, the man page and the shell completions.
#   scripts/install.sh BINARY PREFIX [DESTDIR]
# `make install` runs it with the release binary, PREFIX (/usr/local) and DESTDIR (empty: the real root; a directory
# stages the tree there, as packaging does).
set -euo pipefail
cd "$(dirname "$0")/.."

[ $# -ge 2 ] || { echo "usage: scripts/install.sh BINARY PREFIX [DESTDIR]" >&2; exit 64; }
binary=$1 prefix=$2 destdir=${3:-}
[ -x "$binary" ] || { echo "scripts/install.sh: $binary is not an executable (run make release first)" >&2; exit 66; }
case "$prefix" in /*) ;; *) echo "scripts/install.sh: PREFIX must be an absolute path (got $prefix)" >&2; exit 64 ;; esac
root="$destdir$prefix"

install -D -m 0755 "$binary" "$root/bin/speedo"
install -D -m 0644 man/speedo.1 "$root/share/man/man1/speedo.1"
# bash-completion loads completions/NAME on demand; zsh autoloads _NAME from its fpath (site-functions is on it);
# fish reads vendor_completions.d.
install -D -m 0644 completions/speedo.bash "$root/share/bash-completion/completions/speedo"
install -D -m 0644 completions/speedo.zsh "$root/share/zsh/site-functions/_speedo"
install -D -m 0644 completions/speedo.fish "$root/share/fish/vendor_completions.d/speedo.fish"
echo "installed speedo, its man page and completions under $root"
