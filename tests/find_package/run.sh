#!/usr/bin/env bash
# run.sh <courier build dir> <consumer source dir> <c++ compiler> [c++ flags]
# Installs the build into a scratch prefix (the components an application needs), then
# builds the consumer twice and runs each with a private registry directory:
#   1. with CMake and find_package(courier); it starts the package's courier::courierd;
#   2. with `c++ $(pkg-config --cflags --libs courier)` (--static for static libraries).
#      Against shared libraries it must find the installed courierd by itself, from where
#      the library was loaded; against static ones it runs without a registry.
# Neither is told where courierd is otherwise: no $COURIER_COURIERD, no courierd on PATH.
# Each courierd started must be the installed one; it is stopped before the prefix goes.
set -euo pipefail
build=$1 consumer=$2 cxx=$3 flags=${4:-}
work=$(mktemp -d /tmp/courier-find-package.XXXXXX)
runtime=$work/runtime
clean_path=/usr/bin:/bin

# Stops the courierd serving $runtime, if any; not our child, so we poll for its end.
stop_courierd() {
    local pid
    pid=$(cat "$runtime/courierd.lock" 2>/dev/null) || return 0
    [[ $pid =~ ^[0-9]+$ ]] || return 0
    kill "$pid" 2>/dev/null || return 0
    for _ in $(seq 200); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.05
    done
    echo "courierd $pid did not stop within 10 s" >&2
    return 1
}
trap 'stop_courierd; rm -rf "$work"' EXIT

# Runs the consumer with a registry and checks that the courierd it started is ours.
run_with_registry() {
    env -u COURIER_COURIERD PATH="$clean_path" COURIER_RUNTIME_DIR="$runtime" "$1" --registry
    local pid
    pid=$(cat "$runtime/courierd.lock")
    local exe
    exe=$(readlink "/proc/$pid/exe")
    if [[ $exe != "$prefix/bin/courierd" ]]; then
        echo "the consumer started $exe, not $prefix/bin/courierd" >&2
        exit 1
    fi
    stop_courierd
}

if PATH="$clean_path" command -v courierd >/dev/null; then
    echo "a courierd on $clean_path would hide whether the installed one is found" >&2
    exit 1
fi
for component in courier_runtime courier_development; do
    cmake --install "$build" --prefix "$work/prefix" --component "$component" >/dev/null
done
prefix=$(cd "$work/prefix" && pwd -P)

cmake -S "$consumer" -B "$work/build" -DCMAKE_PREFIX_PATH="$prefix" \
      -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_CXX_FLAGS="$flags" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$work/build" >/dev/null
run_with_registry "$work/build/consumer_app"

pc=$(find "$prefix" -name courier.pc)
export PKG_CONFIG_PATH=${pc%/courier.pc}
if compgen -G "$prefix/lib*/libcourier_framework.so*" >/dev/null ||
   compgen -G "$prefix/lib*/*/libcourier_framework.so*" >/dev/null; then
    # The loader finds courier's libraries by the rpath an application outside the prefix
    # would give itself; courierd it must find from their location alone.
    libdir=$(pkg-config --variable=libdir courier)
    # shellcheck disable=SC2046,SC2086 # pkg-config's output and the flags are word lists
    "$cxx" -std=c++20 $flags -o "$work/pc_app" "$consumer/main.cpp" \
        $(pkg-config --cflags --libs courier) -Wl,-rpath,"$libdir"
    run_with_registry "$work/pc_app"
else
    # shellcheck disable=SC2046,SC2086
    "$cxx" -std=c++20 $flags -o "$work/pc_app" "$consumer/main.cpp" \
        $(pkg-config --cflags --libs --static courier)
    "$work/pc_app"
fi
