#!/usr/bin/env bash
# Builds everything (library tests, examples, benchmarks) in build/release and runs the tests.
# Usage: scripts/run_tests.sh   (from any directory)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

scripts/install_deps.sh

# Fast path: an existing build/release is reused (cmake --build re-runs the configure step itself when a
# CMakeLists.txt changed); configure again when there is none, the presets changed or the last configure failed.
if [[ ! -f build/release/CMakeCache.txt || CMakePresets.json -nt build/release/CMakeCache.txt ||
      ! (-f build/release/Makefile || -f build/release/build.ninja) ]]; then
    cmake --preset release
fi
cmake --build --preset release -j 2

log=$(mktemp)
trap 'rm -f "$log"' EXIT
set +e
ctest --preset release 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e

# ctest's summary: "100% tests passed, 0 tests failed out of 42".
summary=$(grep -E '[0-9]+ tests failed out of [0-9]+' "$log" | tail -n 1 || true)
if [[ -z "$summary" ]]; then
    echo "run_tests.sh: ctest printed no summary (exit code $status)" >&2
    exit $((status ? status : 1))
fi
total=$(sed -E 's/.* out of ([0-9]+).*/\1/' <<<"$summary")
failed=$(sed -E 's/.* ([0-9]+) tests failed.*/\1/' <<<"$summary")
echo "run_tests.sh: $total tests run"
echo "tests: $((total - failed)) passed, $failed failed"
exit "$status"
