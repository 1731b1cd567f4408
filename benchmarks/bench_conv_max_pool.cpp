// The seed CNN's Conv2D<3,3,1,32>, ReLU, MaxPool2D<2> on 32 images (one training batch), one image at a time as
// the chain runs them on one thread: kernels::ConvMaxPool (the pooling in registers; maxima_only: an inference
// pass, no argmax) against the unfused kernels (conv2d_forward into an 86 KB image, max_pool2d, ReLU; going back
// ReLU's derivative, max_pool2d_backward into an 86 KB gradient, conv2d_backward without input gradient). Same
// bits (tests); GFLOP/s count the convolution's products only.

#include <benchmark/benchmark.h>

#include <cstddef>
#include <cstdint>
#include <vector>

#include "bench_common.hpp"
#include "ctnn/kernels/conv2d.hpp"
#include "ctnn/kernels/conv_max_pool.hpp"
#include "ctnn/kernels/elementwise.hpp"
#include "ctnn/layers/relu.hpp"

namespace {

namespace k = ctnn::kernels;

constexpr k::ConvGeometry conv{28, 28, 1, 3, 3, 1, 0, 0, 26, 26};
constexpr std::size_t cout = 32;
constexpr k::PoolGeometry pool{26, 26, cout, 2, 2, 13, 13};
constexpr std::size_t batch = 32;
using Kernel = k::ConvMaxPool<conv, cout, pool>;

struct Data {
    ctnn::Buffer x = ctnn::bench::random_buffer(batch * conv.image_size(), 1);
    ctnn::Buffer w = ctnn::bench::random_buffer(conv.patch_size() * cout, 2);
    ctnn::Buffer bias = ctnn::bench::random_buffer(cout, 3);
    ctnn::Buffer y = ctnn::Buffer(batch * pool.out_size());
    ctnn::Buffer dy = ctnn::bench::random_buffer(batch * pool.out_size(), 4);
    ctnn::Buffer masked = ctnn::Buffer(pool.out_size());
    ctnn::Buffer image = ctnn::Buffer(conv.patch_count() * cout);
    ctnn::Buffer image_gradient = ctnn::Buffer(conv.patch_count() * cout);
    ctnn::Buffer dw = ctnn::Buffer(conv.patch_size() * cout);
    ctnn::Buffer db = ctnn::Buffer(cout);
    ctnn::Buffer ws = ctnn::Buffer(k::conv2d_workspace_size(conv, cout, 1, 1));
    std::vector<std::uint32_t> argmax = std::vector<std::uint32_t>(batch * pool.out_size());
};

double conv_flops() { return 2.0 * static_cast<double>(batch * conv.patch_count() * conv.patch_size() * cout); }

void forward_in_registers(Data& d) {
    for (std::size_t b = 0; b < batch; ++b)
        Kernel::forward_image<ctnn::ReLU::activation>(d.x.data() + b * conv.image_size(), d.w.data(), d.bias.data(),
                                    d.y.data() + b * pool.out_size(), d.argmax.data() + b * pool.out_size());
}

// An inference pass: the maxima alone, no argmax recorded.
void forward_maxima_only(Data& d) {
    for (std::size_t b = 0; b < batch; ++b)
        Kernel::forward_image<ctnn::ReLU::activation>(d.x.data() + b * conv.image_size(), d.w.data(), d.bias.data(),
                                                      d.y.data() + b * pool.out_size(), nullptr);
}

void forward_image_by_image(Data& d) {
    for (std::size_t b = 0; b < batch; ++b) {
        float* y = d.y.data() + b * pool.out_size();
        k::conv2d_forward(conv, cout, d.x.data() + b * conv.image_size(), d.w.data(), d.bias.data(), d.image.data(), 1,
                          d.ws.data(), 1);
        k::max_pool2d(pool, d.image.data(), y, d.argmax.data() + b * pool.out_size(), 1);
        k::relu(y, y, pool.out_size());
    }
}

void backward_in_registers(Data& d) {
    for (std::size_t b = 0; b < batch; ++b) {
        k::relu_backward(d.y.data() + b * pool.out_size(), d.dy.data() + b * pool.out_size(), d.masked.data(),
                         pool.out_size());
        Kernel::backward_image(d.x.data() + b * conv.image_size(), d.masked.data(),
                               d.argmax.data() + b * pool.out_size(), d.dw.data(), d.db.data());
    }
}

void backward_image_by_image(Data& d) {
    for (std::size_t b = 0; b < batch; ++b) {
        k::relu_backward(d.y.data() + b * pool.out_size(), d.dy.data() + b * pool.out_size(), d.masked.data(),
                         pool.out_size());
        k::max_pool2d_backward(pool, d.masked.data(), d.argmax.data() + b * pool.out_size(), d.image_gradient.data(),
                               1);
        k::conv2d_backward(conv, cout, d.x.data() + b * conv.image_size(), d.w.data(), d.image_gradient.data(),
                           d.dw.data(), d.db.data(), nullptr, 1, d.ws.data(), 1);
    }
}

// The gradients accumulate over the iterations: finite (sums of values in [-1, 1]) and never subnormal.
template <void (*Pass)(Data&)>
void run(benchmark::State& state) {
    Data d;
    forward_in_registers(d);  // argmax and y for the backward passes
    for (auto _ : state) {
        Pass(d);
        benchmark::ClobberMemory();
    }
    ctnn::bench::set_gflops(state, conv_flops());
}

const bool registered = [] {
    benchmark::RegisterBenchmark("conv_max_pool_forward/conv1/registers/batch:32", run<forward_in_registers>);
    benchmark::RegisterBenchmark("conv_max_pool_forward/conv1/maxima_only/batch:32", run<forward_maxima_only>);
    benchmark::RegisterBenchmark("conv_max_pool_forward/conv1/image_by_image/batch:32",
                                 run<forward_image_by_image>);
    benchmark::RegisterBenchmark("conv_max_pool_backward/conv1/registers/batch:32", run<backward_in_registers>);
    benchmark::RegisterBenchmark("conv_max_pool_backward/conv1/image_by_image/batch:32",
                                 run<backward_image_by_image>);
    return true;
}();

}  // namespace
