// What a weight stream can reach on this machine: a SIMD sum over a buffer the size of a seed model's first
// Dense weights, beside the batch-1 forward of that layer (small_batch_affine), which reads the same bytes once
// per image. Both report GB/s of the weights; their ratio is how close the batch-1 path is to the stream. The
// CNN's Dense<5408,128> (2.77 MB) is larger than the L2 of the CPUs seen (0.5-2 MB), so it streams from L3; the
// MLP's Dense<784,128> (392 KB) stays in L2. A 64 KB buffer (L1/L2) and a 1 GB one (memory, past any L3 seen)
// frame the figures.

#include <benchmark/benchmark.h>

#include <cstddef>

#include "bench_common.hpp"
#include "ctnn/kernels/detail/simd.hpp"
#include "ctnn/kernels/small_batch.hpp"

namespace {

using ctnn::kernels::detail::vec;
constexpr std::size_t lanes = vec::size;

void stream_read(benchmark::State& state) {
    const std::size_t floats = static_cast<std::size_t>(state.range(0)) / sizeof(float);
    const ctnn::Buffer data = ctnn::bench::random_buffer(floats, 1);
    for (auto _ : state) {
        vec acc[8] = {vec(0.0f), vec(0.0f), vec(0.0f), vec(0.0f), vec(0.0f), vec(0.0f), vec(0.0f), vec(0.0f)};
        for (std::size_t i = 0; i + 8 * lanes <= floats; i += 8 * lanes)
            for (std::size_t a = 0; a < 8; ++a) acc[a] += vec::load_aligned(data.data() + i + a * lanes);
        for (std::size_t a = 1; a < 8; ++a) acc[0] += acc[a];
        benchmark::DoNotOptimize(acc[0]);
    }
    ctnn::bench::set_bandwidth(state, static_cast<double>(floats * sizeof(float)));
}
BENCHMARK(stream_read)->Name("stream_read/64KB")->Arg(64 << 10);
BENCHMARK(stream_read)->Name("stream_read/392KB")->Arg(784 * 128 * 4);
BENCHMARK(stream_read)->Name("stream_read/2.77MB")->Arg(5408 * 128 * 4);
BENCHMARK(stream_read)->Name("stream_read/1GB")->Arg(1 << 30)->Iterations(20);

template <std::size_t in, std::size_t out>
void dense_batch1(benchmark::State& state) {
    const ctnn::Buffer x = ctnn::bench::random_buffer(in, 1), w = ctnn::bench::random_buffer(in * out, 2),
                       b = ctnn::bench::random_buffer(out, 3);
    ctnn::Buffer y(out);
    for (auto _ : state) {
        ctnn::kernels::small_batch_affine<in, out>(x.data(), 1, w.data(), b.data(), y.data());
        benchmark::DoNotOptimize(y.data());
        benchmark::ClobberMemory();
    }
    ctnn::bench::set_bandwidth(state, static_cast<double>(in * out * sizeof(float)));
    ctnn::bench::set_gflops(state, 2.0 * in * out);
}
BENCHMARK(dense_batch1<784, 128>)->Name("dense_forward/784/128/batch:1");
BENCHMARK(dense_batch1<5408, 128>)->Name("dense_forward/5408/128/batch:1");

}  // namespace
