#!/usr/bin/env bash
# Generates man/speedo.1 and completions/speedo.{bash,zsh,fish} from the command definitions.
#   scripts/generate.sh          rewrite them (the man page's date changes only when its text does)
#   scripts/generate.sh --check  fail, showing the difference, when the committed files are out of date
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/opt/swift/usr/bin"

check=false
[ "${1:-}" = "--check" ] && check=true

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
mkdir -p "$out/man" "$out/completions"

swift build --product speedo >/dev/null
bin="$(swift build --show-bin-path)/speedo"
for shell in bash zsh fish; do
    "$bin" --generate-completion-script "$shell" >"$out/completions/speedo.$shell"
done

generate_manual() { # $1 = date, yyyy-mm-dd
    swift package plugin generate-manual --configuration debug --date "$1" >"$out/plugin.log" 2>&1 || {
        cat "$out/plugin.log" >&2
        exit 1
    }
    # The plugin's EXIT STATUS is the generic "0 on success, >0 on error"; the codes and their meanings come from
    # the root command's help (SpeedoExitCode.meaning), one .It per code.
    local codes
    codes=$("$bin" --help | sed -n '/^Exit status:$/,/^$/p' | sed -n 's/^  \([0-9][0-9]*\)  *\(.*\)$/.It \1\n\2/p')
    [ -n "$codes" ] || { echo "no exit codes in speedo --help" >&2; exit 1; }
    # The list also closes the root help's text, which is the DESCRIPTION: there it is left out (with the blank line
    # before it), to appear once, under EXIT STATUS.
    awk -v codes="$codes" '
        $0 == "Exit status:" { skipping = 1; blank = 0; next }
        skipping && /^\./ { skipping = 0 }
        skipping { next }
        $0 == "" { if (blank) print ""; blank = 1; next }
        blank { print ""; blank = 0 }
        $0 == ".Ex -std" { print ".Bl -tag -width 6n"; print codes; print ".El"; next }
        { print }
        END { if (blank) print "" }' \
        "$(swift build --show-bin-path)/../../plugins/GenerateManual/outputs/speedo/speedo.1" >"$out/man/speedo.1"
}

committed_date=""
if [ -f man/speedo.1 ]; then
    committed_date=$(date -d "$(sed -n 's/^\.Dd //p' man/speedo.1)" +%F 2>/dev/null || true)
fi
generate_manual "${committed_date:-$(date +%F)}"

if $check; then
    if ! diff -ru man "$out/man" || ! diff -ru completions "$out/completions"; then
        echo "man/ or completions/ differ from what the command definitions generate: run 'make generated' and commit" >&2
        exit 1
    fi
    echo "man/ and completions/ match the command definitions"
    exit 0
fi

if [ -n "$committed_date" ] && ! cmp -s man/speedo.1 "$out/man/speedo.1"; then
    generate_manual "$(date +%F)"
fi
mkdir -p man completions
cp "$out/man/speedo.1" man/speedo.1
cp "$out"/completions/* completions/
echo "wrote man/speedo.1 and completions/speedo.{bash,zsh,fish}"
