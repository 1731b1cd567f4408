#!/usr/bin/env bash
# Builds the libFuzzer targets of tests/fuzz with clang++-14 in build/fuzz and runs each for SECONDS
# (default 60) through ctest -L fuzz. A crash, sanitizer report, leak, uncaught exception or oversized
# allocation fails its test; the input is saved as build/fuzz/tests/fuzz/artifacts/<target>-crash-<sha1>.
# Usage: scripts/run_fuzz.sh [SECONDS]   (from any directory; tests/fuzz/README.md has the longer runs)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

seconds=${1:-60}
if [[ ! $seconds =~ ^[1-9][0-9]*$ ]]; then
    echo "usage: scripts/run_fuzz.sh [SECONDS]   (SECONDS: a positive integer, per target)" >&2
    exit 2
fi

scripts/install_deps.sh --ci
# libFuzzer's runtime is a package of its own; without it clang fails at link time with a less helpful message.
probe=$(mktemp -d)
trap 'rm -rf "$probe"' EXIT
echo 'extern "C" int LLVMFuzzerTestOneInput(const unsigned char*, unsigned long) { return 0; }' >"$probe/probe.cpp"
if ! clang++-14 -fsanitize=fuzzer,address,undefined "$probe/probe.cpp" -o "$probe/probe" 2>"$probe/log"; then
    cat "$probe/log" >&2
    echo "run_fuzz.sh: clang++-14 cannot link a libFuzzer target; install libFuzzer's runtime:" >&2
    echo "    apt-get install -y --no-install-recommends libclang-rt-14-dev" >&2
    exit 1
fi

# Only the fuzz targets and their seed generator are built: the tests, examples and benchmarks are not needed.
cmake -S . -B build/fuzz -DCMAKE_CXX_COMPILER=clang++-14 -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCTNN_FUZZ=ON \
    -DCTNN_FUZZ_SECONDS="$seconds" -DCTNN_BUILD_EXAMPLES=OFF -DCTNN_BUILD_BENCHMARKS=OFF \
    -DCTNN_PACKAGING_TESTS=OFF -DCTNN_INSTALL=OFF
cmake --build build/fuzz --target fuzz_all -j 2
# Two targets at a time, one per core (each fuzzer runs on one); the time limit is per target.
set +e
ctest --test-dir build/fuzz -L fuzz --output-on-failure -j 2
status=$?
set -e
# Executions per target, from libFuzzer's final statistics in ctest's full log.
awk '/^[0-9]+\/[0-9]+ Test: / { name = $3 } /stat::number_of_executed_units/ { printf "%-18s %s executions\n", name, $2 }' \
    build/fuzz/Testing/Temporary/LastTest.log
exit "$status"
