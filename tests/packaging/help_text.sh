# shellcheck shell=bash
# Sourced by the packaging tests: what a CLI11 `--help` lists.

# The long options of the option lines ("  -h,--help  ...", "  --runtime-dir TEXT  ..."),
# not those mentioned in descriptions.
long_options() {
    sed -nE 's/^ +(-[a-zA-Z],)?(--[a-z][a-z0-9-]*).*/\2/p' | sort -u
}

# The names under "Subcommands:".
subcommands() {
    sed -nE '/^Subcommands:/,/^$/s/^ +([a-z][a-z0-9-]*)( .*)?$/\1/p' | sort -u
}
