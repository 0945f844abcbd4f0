#!/usr/bin/env bash
# run.sh <courier build dir> <consumer source dir> <c++ compiler> [c++ flags]
set -euo pipefail
build=$1 consumer=$2 cxx=$3 flags=${4:-}
work=$(mktemp -d /tmp/courier-find-package.XXXXXX)
trap 'rm -rf "$work"' EXIT
cmake --install "$build" --prefix "$work/prefix" >/dev/null
cmake -S "$consumer" -B "$work/build" -DCMAKE_PREFIX_PATH="$work/prefix" \
      -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_CXX_FLAGS="$flags" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$work/build" >/dev/null
COURIER_RUNTIME_DIR="$work/runtime" "$work/build/consumer_app"
