// conv2d_forward / conv2d_backward on the two MNIST convolutions (conv1: 28x28x1 -> 32, conv2: 26x26x32 -> 64,
// 3x3, valid), batch 1 and 64, beside oneDNN's forward convolution (NHWC, fp32) when it is installed.
// conv1's backward skips the input gradient, as the first layer of a network does.

#include <benchmark/benchmark.h>

#include <cstddef>
#include <string>

#include "bench_common.hpp"
#include "ctnn/core/parallel.hpp"
#include "ctnn/kernels/conv2d.hpp"

#ifdef CTNN_BENCH_HAVE_DNNL
#include <dnnl.hpp>
#endif

namespace {

using ctnn::kernels::ConvGeometry;

struct ConvCase {
    const char* name;
    ConvGeometry g;
    std::size_t cout;
    bool input_gradient;
};

constexpr ConvCase convs[] = {
    {"conv1", {28, 28, 1, 3, 3, 1, 0, 0, 26, 26}, 32, false},
    {"conv2", {26, 26, 32, 3, 3, 1, 0, 0, 24, 24}, 64, true},
};

double conv_flops(const ConvCase& c, std::size_t batch) {
    return 2.0 * static_cast<double>(batch * c.g.patch_count() * c.g.patch_size() * c.cout);
}

struct ConvData {
    ctnn::Buffer x, w, bias, y, dy, dw, db, dx, ws;
    ConvData(const ConvCase& c, std::size_t batch)
        : x(ctnn::bench::random_buffer(batch * c.g.image_size(), 1)),
          w(ctnn::bench::random_buffer(c.g.patch_size() * c.cout, 2)), bias(ctnn::bench::random_buffer(c.cout, 3)),
          y(batch * c.g.patch_count() * c.cout), dy(ctnn::bench::random_buffer(y.size(), 4)), dw(w.size()),
          db(c.cout), dx(x.size()),
          ws(ctnn::kernels::conv2d_workspace_size(c.g, c.cout, batch, static_cast<std::size_t>(ctnn::num_threads()))) {}
};

void conv_forward(benchmark::State& state, ConvCase c, std::size_t batch) {
    ConvData d(c, batch);
    for (auto _ : state) {
        ctnn::kernels::conv2d_forward(c.g, c.cout, d.x.data(), d.w.data(), d.bias.data(), d.y.data(), batch,
                                      d.ws.data());
        benchmark::ClobberMemory();
    }
    ctnn::bench::set_gflops(state, conv_flops(c, batch));
}

void conv_backward(benchmark::State& state, ConvCase c, std::size_t batch) {
    ConvData d(c, batch);
    for (auto _ : state) {
        ctnn::kernels::conv2d_backward(c.g, c.cout, d.x.data(), d.w.data(), d.dy.data(), d.dw.data(), d.db.data(),
                                       c.input_gradient ? d.dx.data() : nullptr, batch, d.ws.data());
        benchmark::ClobberMemory();
    }
    ctnn::bench::set_gflops(state, conv_flops(c, batch) * (c.input_gradient ? 2.0 : 1.0));
}

// Through im2col tiles instead of the default direct paths, to show why the dispatcher picks them.
void conv_forward_other(benchmark::State& state, ConvCase c, std::size_t batch) {
    ConvData d(c, batch);
    for (auto _ : state) {
        ctnn::kernels::detail::conv_forward_impl(c.g, c.cout, d.x.data(), d.w.data(), d.bias.data(), d.y.data(), batch,
                                                 d.ws.data(), 0, false);
        benchmark::ClobberMemory();
    }
    ctnn::bench::set_gflops(state, conv_flops(c, batch));
}

void conv_backward_other(benchmark::State& state, ConvCase c, std::size_t batch) {
    ConvData d(c, batch);
    for (auto _ : state) {
        ctnn::kernels::detail::conv_backward_impl(c.g, c.cout, d.x.data(), d.w.data(), d.dy.data(), d.dw.data(),
                                                  d.db.data(), c.input_gradient ? d.dx.data() : nullptr, batch,
                                                  d.ws.data(), 0, false);
        benchmark::ClobberMemory();
    }
    ctnn::bench::set_gflops(state, conv_flops(c, batch) * (c.input_gradient ? 2.0 : 1.0));
}

#ifdef CTNN_BENCH_HAVE_DNNL
void onednn_forward(benchmark::State& state, ConvCase c, std::size_t batch) {
    using namespace dnnl;
    using tag = memory::format_tag;
    using dt = memory::data_type;
    ConvData d(c, batch);
    engine eng(engine::kind::cpu, 0);
    stream strm(eng);
    const auto n = static_cast<memory::dim>(batch);
    const auto ci = static_cast<memory::dim>(c.g.channels), co = static_cast<memory::dim>(c.cout);
    const auto h = static_cast<memory::dim>(c.g.in_height), w = static_cast<memory::dim>(c.g.in_width);
    const auto kh = static_cast<memory::dim>(c.g.kernel_height), kw = static_cast<memory::dim>(c.g.kernel_width);
    const auto oh = static_cast<memory::dim>(c.g.out_height), ow = static_cast<memory::dim>(c.g.out_width);
    const auto s = static_cast<memory::dim>(c.g.stride);
    const auto pt = static_cast<memory::dim>(c.g.pad_top), pl = static_cast<memory::dim>(c.g.pad_left);
    const memory::dims pad_l{pt, pl};
    const memory::dims pad_r{(oh - 1) * s + kh - h - pt, (ow - 1) * s + kw - w - pl};
    const memory::desc src_md({n, ci, h, w}, dt::f32, tag::nhwc), dst_md({n, co, oh, ow}, dt::f32, tag::nhwc);
    const memory::desc bias_md({co}, dt::f32, tag::a), user_w_md({co, ci, kh, kw}, dt::f32, tag::hwio);
    const memory::desc any_w_md({co, ci, kh, kw}, dt::f32, tag::any);
    const convolution_forward::desc desc(prop_kind::forward_inference, algorithm::convolution_direct, src_md,
                                         any_w_md, bias_md, dst_md, {s, s}, pad_l, pad_r);
    const convolution_forward::primitive_desc pd(desc, eng);
    memory src(src_md, eng, d.x.data()), dst(dst_md, eng, d.y.data()), bias(bias_md, eng, d.bias.data());
    memory user_w(user_w_md, eng, d.w.data()), weights(pd.weights_desc(), eng);
    reorder(user_w, weights).execute(strm, user_w, weights);  // once, as a trained network's weights would be
    convolution_forward conv(pd);
    for (auto _ : state) {
        conv.execute(strm, {{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, weights}, {DNNL_ARG_BIAS, bias}, {DNNL_ARG_DST, dst}});
        strm.wait();
        benchmark::ClobberMemory();
    }
    ctnn::bench::set_gflops(state, conv_flops(c, batch));
    state.SetLabel(pd.impl_info_str());
}
#endif

const bool registered = [] {
    for (const auto& c : convs)
        for (std::size_t batch : {std::size_t{1}, std::size_t{64}}) {
            const std::string suffix = std::string("/") + c.name + "/batch:" + std::to_string(batch);
            benchmark::RegisterBenchmark(("conv2d_forward" + suffix).c_str(), conv_forward, c, batch);
#ifdef CTNN_BENCH_HAVE_DNNL
            benchmark::RegisterBenchmark(("onednn_conv2d_forward" + suffix).c_str(), onednn_forward, c, batch);
#endif
            benchmark::RegisterBenchmark(("conv2d_backward" + suffix).c_str(), conv_backward, c, batch);
            if (ctnn::kernels::detail::conv_direct(c.g))
                benchmark::RegisterBenchmark(("conv2d_forward_im2col" + suffix).c_str(), conv_forward_other, c, batch);
            if (ctnn::kernels::detail::conv_direct_backward(c.g))
                benchmark::RegisterBenchmark(("conv2d_backward_im2col" + suffix).c_str(), conv_backward_other, c,
                                             batch);
        }
    return true;
}();

}  // namespace
