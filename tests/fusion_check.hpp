#pragma once
// The check behind every fusion test: a network's pass through its chain (which fuses what its layers declare)
// against the same layers run one after the other on the whole batch, each with its own output and gradient
// buffers (nothing fused). Forward output, parameter gradients and input gradient are compared bit for bit.

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "ctnn/ctnn.hpp"
#include "network_values.hpp"
#include "synthetic_data.hpp"
#include "thread_count.hpp"

namespace ctnn::testing {

struct FusionPass {
    std::vector<std::uint32_t> output, gradients, input_gradient;
};

// Forward and backward through the network (fused on one thread).
template <class Net>
FusionPass through_network(Net& net, const data::Dataset& d, const std::vector<float>& dy) {
    const std::size_t n = d.size();
    typename Net::Workspace ws(n);
    const std::span<const float> y = net.forward(d.images.data(), n, ws, Pass::training);
    FusionPass result{bits_of(y), {}, {}};
    std::vector<float> dx(n * Net::input_shape::size);
    net.backward(d.images.data(), dy.data(), n, ws, Net::layer_count - 1, dx.data(), nullptr,
                 GradientUpdate::overwrite);
    result.gradients = bits_of(gradient_values(net));
    result.input_gradient = bits_of(dx);
    return result;
}

// The same layers one after the other on the whole batch, each with its own output and gradient buffers.
template <class Net>
FusionPass layer_by_layer(Net& net, const data::Dataset& d, const std::vector<float>& dy) {
    constexpr std::size_t layers = Net::layer_count;
    const std::size_t n = d.size();
    typename Net::Workspace ws(n);
    std::array<Buffer, layers> out, grad;
    const float* in = d.images.data();
    std::array<const float*, layers> inputs{};
    [&]<std::size_t... I>(std::index_sequence<I...>) {
        ((inputs[I] = in, out[I].resize(n * Net::template layer_type<I>::output_shape::size),
          net.template layer<I>().forward(in, out[I].data(), n, ws.template layer_workspace<I>(), Pass::training),
          in = out[I].data()),
         ...);
    }
    (std::make_index_sequence<layers>{});
    FusionPass result{bits_of(std::span<const float>(out[layers - 1])), {}, {}};
    const float* g = dy.data();
    [&]<std::size_t... R>(std::index_sequence<R...>) {
        (([&] {
             constexpr std::size_t I = layers - 1 - R;
             grad[I].resize(n * Net::template layer_type<I>::input_shape::size);
             net.template layer<I>().backward(inputs[I], out[I].data(), g, grad[I].data(), n,
                                              ws.template layer_workspace<I>(),
                                              GradientTarget{nullptr, GradientUpdate::overwrite});
             g = grad[I].data();
         }()),
         ...);
    }
    (std::make_index_sequence<layers>{});
    result.gradients = bits_of(gradient_values(net));
    result.input_gradient = bits_of(std::span<const float>(grad[0]));
    return result;
}

// Net (input side x side x 1) on n samples on `threads` threads: its chain's pass gives the layer-by-layer bits.
template <class Net>
void check_fused_matches_layer_by_layer(std::size_t n, int threads = 1) {
    const ThreadCount count(threads);
    const auto d = blobs(n, Net::input_shape::dims[0], 10, 3);
    std::vector<float> dy(n * Net::output_shape::size);
    Rng rng(9);
    for (float& v : dy) v = rng.uniform(-1.0f, 1.0f);
    auto fused_net = std::make_unique<Net>(seed(2), n);
    auto reference_net = std::make_unique<Net>(*fused_net);
    const FusionPass fused = through_network(*fused_net, d, dy);
    const FusionPass reference = layer_by_layer(*reference_net, d, dy);
    CHECK(fused.output == reference.output);
    CHECK(fused.gradients == reference.gradients);
    CHECK(fused.input_gradient == reference.input_gradient);
    // The comparison can fail: another output gradient gives other parameter gradients.
    for (float& v : dy) v = -v * 0.5f;
    CHECK(through_network(*fused_net, d, dy).gradients != reference.gradients);
}

}  // namespace ctnn::testing
