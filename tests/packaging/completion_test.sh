#!/usr/bin/env bash
# completion_test.sh <completion file> <courier binary>
# Sources the bash completion of courier and completes command lines the way bash does
# (COMP_WORDS, COMP_CWORD, then the function `complete` names); its subcommands must be
# exactly those `courier --help` lists, so the completion cannot fall behind the program.
set -euo pipefail
completion=$1 courier=$2
# shellcheck source=tests/packaging/help_text.sh
source "$(dirname "$0")/help_text.sh"
work=$(mktemp -d /tmp/courier-completion.XXXXXX)
trap 'rm -rf "$work"' EXIT
failures=0

# shellcheck source=/dev/null
source "$completion"
spec=$(complete -p courier)
function=$(sed -nE 's/.* -F ([^ ]+) .*/\1/p' <<<"$spec")
[[ -n $function ]] || { echo "FAIL: no completion function for courier: $spec" >&2; exit 1; }

# What completing the last word of `courier WORDS...` offers, sorted, one line.
complete_line() {
    COMP_WORDS=("$courier" "$@")
    COMP_CWORD=$#
    COMP_LINE="${COMP_WORDS[*]}"
    COMP_POINT=${#COMP_LINE}
    COMPREPLY=()
    "$function" courier "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
    printf '%s\n' "${COMPREPLY[@]}" | sort | tr '\n' ' ' | sed 's/ $//'
}

expect() {
    local want=$1 got
    shift
    got=$(complete_line "$@")
    if [[ $got != "$want" ]]; then
        echo "FAIL: 'courier $*<TAB>' offers '$got', expected '$want'" >&2
        failures=$((failures + 1))
    fi
}

expect "links" li
expect "clean" cl
expect "--runtime-dir" ps --run
expect "--dry-run" clean --dr
expect "--runtime-dir" clean --dry-run --r
expect "--help" --he
mkdir "$work/registry"
expect "$work/registry" ps --runtime-dir "$work/reg"

# Every subcommand, and nothing else, is offered for an empty word.
listed=$("$courier" --help | subcommands | tr '\n' ' ' | sed 's/ $//')
expect "$listed" ""

if ((failures > 0)); then
    echo "$failures completion(s) wrong" >&2
    exit 1
fi
echo "bash completion: subcommands and options as courier --help lists them"
