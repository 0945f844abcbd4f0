#!/usr/bin/env bash
# man_pages.sh <man page dir> <bin dir>
# Each page renders without a single groff warning, and names every long option that its
# program's --help lists (for courier, also every subcommand and each one's options), so
# a page cannot fall behind its program.
set -euo pipefail
pages=$1 bin=$2
# shellcheck source=tests/packaging/help_text.sh
source "$(dirname "$0")/help_text.sh"
failures=0
fail() {
    echo "FAIL: $*" >&2
    failures=$((failures + 1))
}

# Plain text, one paragraph a line, no hyphenation: an option is never cut in two.
render() {
    groff -man -Tascii -rLL=1000n -rHY=0 -P-cbu "$1"
}

# Is `--option` in the text, as a whole word?
names_option() {
    grep -qE -- "(^|[^a-z0-9-])$2([^a-z0-9-]|$)" <<<"$1"
}

check_options() {
    local page=$1 text=$2 option
    shift 2
    for option in $("$@" --help | long_options); do
        names_option "$text" "$option" || fail "$page does not describe $option (from $* --help)"
    done
}

for page in courier.1 courierd.8 courier-bench.1; do
    warnings=$(groff -man -ww -z -Tascii "$pages/$page" 2>&1 >/dev/null)
    [[ -z $warnings ]] || fail "$page: groff warns: $warnings"
    text=$(render "$pages/$page")
    program=${page%.*}
    check_options "$page" "$text" "$bin/$program"
    if [[ $program == courier ]]; then
        for sub in $("$bin/courier" --help | subcommands); do
            # A subcommand is the tag of a paragraph of its own in SUBCOMMANDS.
            grep -qE "^ +$sub( |$)" <<<"$text" || fail "courier.1 does not describe 'courier $sub'"
            # bench's options are courier-bench's, in courier-bench.1.
            [[ $sub == bench ]] || check_options "$page" "$text" "$bin/courier" "$sub"
        done
    fi
done
if ((failures > 0)); then
    echo "$failures problem(s) in the man pages" >&2
    exit 1
fi
echo "man pages: no warnings, every option and subcommand described"
