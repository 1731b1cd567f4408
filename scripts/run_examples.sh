#!/usr/bin/env bash
# The literate examples on the real data: quickstart, parameter_table, permutation_equivalence, translation.
# Usage: scripts/run_examples.sh   (from any directory)
# Installs what is missing (gnuplot for translation's plot), fetches the data into data/, builds the examples in
# build/release and writes translation.json and translation.png to results/.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

scripts/install_deps.sh --experiment --plots
scripts/fetch_data.sh data

if [[ ! -f build/release/CMakeCache.txt || CMakePresets.json -nt build/release/CMakeCache.txt ||
      ! (-f build/release/Makefile || -f build/release/build.ninja) ]]; then
    cmake --preset release
fi
cmake --build --preset release -j 2 --target quickstart parameter_table permutation_equivalence translation

export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}  # see scripts/run_experiment.sh
mkdir -p results
build/release/examples/parameter_table
(cd results && ../build/release/examples/quickstart ../data/mnist)
build/release/examples/permutation_equivalence --data-dir data/mnist
build/release/examples/translation --data-dir data/mnist --out results
