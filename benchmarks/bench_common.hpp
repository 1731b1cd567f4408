#pragma once
// Shared helpers for the benchmark files: the GFLOPS counter every benchmark reports, and random inputs.

#include <benchmark/benchmark.h>

#include <cstddef>
#include <cstdint>

#include "ctnn/core/buffer.hpp"
#include "ctnn/core/random.hpp"

namespace ctnn::bench {

// GFLOP/s from the floating-point operations of one iteration.
inline void set_gflops(benchmark::State& state, double flops_per_iteration) {
    state.counters["GFLOPS"] =
        benchmark::Counter(flops_per_iteration * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

// GB/s (10^9 bytes) from the bytes one iteration moves.
inline void set_bandwidth(benchmark::State& state, double bytes_per_iteration) {
    state.counters["GB/s"] = benchmark::Counter(bytes_per_iteration, benchmark::Counter::kIsIterationInvariantRate,
                                                benchmark::Counter::kIs1000);
}

inline Buffer random_buffer(std::size_t n, std::uint64_t seed_value) {
    Buffer b(n);
    Rng rng(seed_value);
    for (auto& x : b) x = rng.uniform(-1.0f, 1.0f);
    return b;
}

}  // namespace ctnn::bench
