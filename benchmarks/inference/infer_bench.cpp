// ctnn_infer_bench: inference of the benchmark networks (benchmarks/networks.hpp) at batch 1 and 256, one
// thread, with a Workspace made once: the steady state of a server answering requests. Each row reports
// latency per call (Google Benchmark's time), us_per_image, images_per_s, GFLOPS (forward FLOPs of the network
// type) and allocations_per_call, counted by a replaced global operator new (must be 0). peak_fma runs in the
// same binary so every row can be read as a fraction of this run's peak. infer_bf16 rows run the same networks
// with their Dense weights in bfloat16 (network/bf16_inference.hpp).
//
//   ctnn_infer_bench --benchmark_filter='peak|infer' --benchmark_repetitions=3
//   benchmarks/inference/compare_inference.sh   (the same networks in PyTorch, same run, ratios)

#include <benchmark/benchmark.h>

#include <atomic>
#include <cstddef>
#include <cstdlib>
#include <new>

#include "bench_common.hpp"
#include "networks.hpp"

namespace {

std::atomic<std::size_t> allocations{0};

}  // namespace

// Every allocation of the process is counted; the benchmarks read the counter around their timed loops.
// malloc-based on purpose, so the matching deletes below free them (g++ cannot see that).
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
void* operator new(std::size_t size) {
    allocations.fetch_add(1, std::memory_order_relaxed);
    if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
    throw std::bad_alloc();
}
void* operator new(std::size_t size, std::align_val_t alignment) {
    allocations.fetch_add(1, std::memory_order_relaxed);
    const auto a = static_cast<std::size_t>(alignment);
    if (void* p = std::aligned_alloc(a, (size + a - 1) / a * a)) return p;
    throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }

namespace {

// How the network runs: as it is (float), or with its Dense weights in bf16 (Bf16Inference).
enum class Precision { fp32, bf16 };

template <class Net, Precision P = Precision::fp32>
void infer(benchmark::State& state) {
    const auto batch = static_cast<std::size_t>(state.range(0));
    ctnn::set_num_threads(1);
    Net net(ctnn::seed{1}, batch);
    const ctnn::Bf16Inference<Net> bf16(net);
    typename Net::Workspace ws(batch);
    const ctnn::Buffer images = ctnn::bench::random_buffer(batch * Net::input_shape::size, 7);
    const auto forward = [&] {
        return P == Precision::fp32 ? net.forward(images.data(), batch, ws) : bf16.forward(images.data(), batch, ws);
    };
    benchmark::DoNotOptimize(forward().data());  // first touch of every buffer

    const std::size_t before = allocations.load(std::memory_order_relaxed);
    for (auto _ : state) {
        auto out = forward();
        benchmark::DoNotOptimize(out.data());
        benchmark::ClobberMemory();
    }
    const std::size_t allocated = allocations.load(std::memory_order_relaxed) - before;

    const auto images_done = static_cast<double>(state.iterations()) * static_cast<double>(batch);
    state.counters["images_per_s"] = benchmark::Counter(images_done, benchmark::Counter::kIsRate);
    state.counters["us_per_image"] =
        benchmark::Counter(images_done * 1e-6, benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
    state.counters["allocations_per_call"] =
        static_cast<double>(allocated) / static_cast<double>(std::max<benchmark::IterationCount>(state.iterations(), 1));
    ctnn::bench::set_gflops(state, static_cast<double>(Net::forward_flops_per_sample) * static_cast<double>(batch));
}

BENCHMARK_TEMPLATE(infer, ctnn::bench::Mlp)->Name("infer/mlp")->Arg(1)->Arg(8)->Arg(256);
BENCHMARK_TEMPLATE(infer, ctnn::bench::Cnn)->Name("infer/cnn")->Arg(1)->Arg(8)->Arg(256);
BENCHMARK_TEMPLATE(infer, ctnn::bench::ResidualNet)->Name("infer/residual")->Arg(1)->Arg(8)->Arg(256);
BENCHMARK_TEMPLATE(infer, ctnn::bench::Mlp, Precision::bf16)->Name("infer_bf16/mlp")->Arg(1)->Arg(8)->Arg(256);
BENCHMARK_TEMPLATE(infer, ctnn::bench::Cnn, Precision::bf16)->Name("infer_bf16/cnn")->Arg(1)->Arg(8)->Arg(256);

}  // namespace
