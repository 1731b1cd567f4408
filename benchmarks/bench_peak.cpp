// The machine's FMA peak as xsimd sees it: many independent FMA chains on batches of the default arch, so every
// other figure in ctnn_bench reads as a fraction of this one.

#include <benchmark/benchmark.h>

#include <cstddef>

#include "bench_common.hpp"
#include "ctnn/kernels/detail/simd.hpp"

namespace {

using ctnn::kernels::detail::vec;

void peak_fma(benchmark::State& state) {
    // More chains than latency x throughput (4 x 2 on every x86 core seen) so the FMA units never wait, yet
    // few enough to stay in registers with x and y: 16 of 32 with AVX-512, 12 of 16 with AVX2 and SSE (16
    // chains there spill: the "peak" read 48 instead of 83 GFLOP/s on a Zen 3).
    constexpr std::size_t chains = vec::size == 16 ? 16 : 12;
    constexpr std::size_t steps = 4096;
    vec acc[chains];
    for (std::size_t i = 0; i < chains; ++i) acc[i] = vec(0.001f * static_cast<float>(i));
    vec x(0.999f), y(0.0001f);
    for (auto _ : state) {
        benchmark::DoNotOptimize(x);
        for (std::size_t s = 0; s < steps; ++s)
            for (std::size_t i = 0; i < chains; ++i) acc[i] = ctnn::kernels::detail::fmadd(acc[i], x, y);
        for (auto& a : acc) benchmark::DoNotOptimize(a);
    }
    ctnn::bench::set_gflops(state, 2.0 * chains * steps * vec::size);
    state.SetLabel(std::to_string(vec::size) + " lanes");
}
BENCHMARK(peak_fma);

}  // namespace
