// The optimiser updates over the seed CNN's Dense<5408,128> weights (692,224 floats), with moments in the normal
// range and with the first moment at the smallest normal float, where the next update's result is subnormal:
// the state of every weight whose gradient has been zero for ~830 steps. The two rows must be close (the
// update flushes subnormals, core/denormals.hpp); the GB/s counter counts W, dW, m and v read and W, m, v written.

#include <limits>

#include "bench_common.hpp"
#include "ctnn/kernels/optimizer_updates.hpp"

namespace {

constexpr std::size_t weights = 5408 * 128;

void adam_update(benchmark::State& state) {
    const bool subnormal_moments = state.range(0) != 0;
    ctnn::Buffer w = ctnn::bench::random_buffer(weights, 1), g(weights, 0.0f), m(weights, 0.0f), v(weights, 1e-6f);
    const float first_moment = subnormal_moments ? std::numeric_limits<float>::min() : 1e-3f;
    for (auto _ : state) {
        state.PauseTiming();
        std::fill(m.begin(), m.end(), first_moment);
        state.ResumeTiming();
        ctnn::kernels::adam_update(w.data(), g.data(), m.data(), v.data(), weights, 1e-3f, 0.9f, 0.999f, 1e-7f);
        benchmark::DoNotOptimize(w.data());
    }
    ctnn::bench::set_bandwidth(state, 7.0 * weights * sizeof(float));
}

}  // namespace

BENCHMARK(adam_update)->Name("adam_update/692224/normal_moments")->Arg(0);
BENCHMARK(adam_update)->Name("adam_update/692224/subnormal_moments")->Arg(1);
