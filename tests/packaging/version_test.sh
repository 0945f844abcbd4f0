#!/usr/bin/env bash
# version_test.sh <courier build dir> <version>
# Installs the build's programs into a scratch prefix and runs each with --version: every
# installed program must print courier's version and exit 0 (and start from there, which
# with shared libraries proves the install rpath).
set -euo pipefail
build=$1 version=$2
work=$(mktemp -d /tmp/courier-version.XXXXXX)
trap 'rm -rf "$work"' EXIT
for component in courier_runtime courier_bench; do
    cmake --install "$build" --prefix "$work/prefix" --component "$component" >/dev/null
done
failures=0 programs=0
for program in "$work/prefix/bin/"*; do
    programs=$((programs + 1))
    name=$(basename "$program")
    if ! out=$("$program" --version 2>&1); then
        echo "FAIL: $name --version exits non-zero: $out" >&2
        failures=$((failures + 1))
    elif ! grep -qF -- "$version" <<<"$out"; then
        echo "FAIL: $name --version prints '$out', not $version" >&2
        failures=$((failures + 1))
    fi
done
if ((programs < 3)); then
    echo "FAIL: only $programs programs installed" >&2
    exit 1
fi
if ((failures > 0)); then
    exit 1
fi
echo "$programs installed programs print version $version"
