#!/usr/bin/env bash
# The main experiment: MNIST and Fashion-MNIST, dense and convolutional networks, normal vs shuffled pixels.
# Usage: scripts/run_experiment.sh [arguments for shuffled_pixels...]   (from any directory)
# Fetches the data into data/, builds examples/shuffled_pixels in build/release (-march=native: the speed
# depends on it) and writes results/ (results.md, results.json, pictures).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

scripts/install_deps.sh --experiment
scripts/fetch_data.sh data

if [[ ! -f build/release/CMakeCache.txt || CMakePresets.json -nt build/release/CMakeCache.txt ||
      ! (-f build/release/Makefile || -f build/release/build.ninja) ]]; then
    cmake --preset release
fi
cmake --build --preset release -j 2 --target shuffled_pixels

# OpenMP threads that spin while waiting steal the other core on a shared two-core machine (measured: a
# batch-32 epoch 20-40x slower); sleeping waiters cost a few microseconds per training step instead.
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}

exec build/release/examples/shuffled_pixels --data-dir data --out results "$@"
