// A Dense 784 -> 128 layer at batch 64 written directly on the kernels: forward y = x W + b, backward
// dW = x^T dy, db = sum_rows(dy), dx = dy W^T.

#include <benchmark/benchmark.h>

#include <cstddef>

#include "bench_common.hpp"
#include "ctnn/kernels/elementwise.hpp"
#include "ctnn/kernels/gemm.hpp"

namespace {

using ctnn::kernels::gemm;
using ctnn::kernels::Trans;

constexpr std::size_t batch = 64, in = 784, out = 128;

struct DenseData {
    ctnn::Buffer x = ctnn::bench::random_buffer(batch * in, 1), w = ctnn::bench::random_buffer(in * out, 2),
                 b = ctnn::bench::random_buffer(out, 3), y = ctnn::Buffer(batch * out),
                 dy = ctnn::bench::random_buffer(batch * out, 4), dw = ctnn::Buffer(in * out), db = ctnn::Buffer(out),
                 dx = ctnn::Buffer(batch * in);
};

void dense_forward(benchmark::State& state) {
    DenseData d;
    for (auto _ : state) {
        gemm(Trans::no, Trans::no, batch, out, in, d.x.data(), in, d.w.data(), out, d.y.data(), out);
        ctnn::kernels::add_bias(d.y.data(), d.b.data(), batch, out);
        benchmark::ClobberMemory();
    }
    ctnn::bench::set_gflops(state, 2.0 * batch * in * out);
}
BENCHMARK(dense_forward)->Name("dense_forward/784/128/batch:64");

void dense_backward(benchmark::State& state) {
    DenseData d;
    for (auto _ : state) {
        gemm(Trans::yes, Trans::no, in, out, batch, d.x.data(), in, d.dy.data(), out, d.dw.data(), out, true);
        ctnn::kernels::sum_rows(d.dy.data(), batch, out, d.db.data(), true);
        gemm(Trans::no, Trans::yes, batch, in, out, d.dy.data(), out, d.w.data(), out, d.dx.data(), in);
        benchmark::ClobberMemory();
    }
    ctnn::bench::set_gflops(state, 4.0 * batch * in * out);
}
BENCHMARK(dense_backward)->Name("dense_backward/784/128/batch:64");

}  // namespace
