#pragma once
// Bf16Inference<Net>: inference of a trained network with the weights of its affine layers in bfloat16
// (kernels/bf16.hpp): every top-level RowSplittable layer (y = x W + b: Dense) reads a bf16 copy of W, taken
// when the Bf16Inference is made; every other layer, and the biases, run as the network runs them (each run of
// float layers as one range, with its fusions). Half the bytes per image for those layers: at batch 1 the seed
// CNN's Dense<5408,128> weights (2.77 MB in float) fit a 2 MB L2 (docs/performance.md has the figures and the
// accuracy against float).
//
// The network must outlive the Bf16Inference and is read, never changed; after training it further, make a new
// one (the copy is a snapshot). Results do not depend on the batch size: each row of an affine layer sums its
// inputs in the same order whatever rows are computed with it. Layers inside a Residual stay float.

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>

#include "ctnn/core/buffer.hpp"
#include "ctnn/kernels/bf16.hpp"
#include "ctnn/layers/layer.hpp"

namespace ctnn {

template <class Net>
class Bf16Inference {
public:
    using network_type = Net;
    using Workspace = typename Net::Workspace;
    using output_shape = typename Net::output_shape;
    static constexpr std::size_t layer_count = Net::layer_count;

    // Layer I runs with bf16 weights.
    template <std::size_t I>
    static constexpr bool in_bf16 = RowSplittable<typename Net::template layer_type<I>>;

    explicit Bf16Inference(Net& net) : net_(&net) {
        net.visit_parameters([&](std::size_t layer, const ParameterView& p) {
            if (!weights_[layer].empty() || !converted[layer]) return;  // the first tensor is W
            weights_[layer].resize(p.value.size());
            for (std::size_t i = 0; i < p.value.size(); ++i) weights_[layer][i] = kernels::to_bf16(p.value[i]);
        });
    }

    // The network's output for n samples (1..ws.max_batch()) at x; the span points into ws.
    std::span<const float> forward(const float* x, std::size_t n, Workspace& ws) const {
        if (n == 0 || n > ws.max_batch())
            throw std::invalid_argument("Bf16Inference::forward: batch of " + std::to_string(n) +
                                        " samples, the workspace holds 1.." + std::to_string(ws.max_batch()));
        const float* in = x;
        [&]<std::size_t... I>(std::index_sequence<I...>) { ((in = forward_from<I>(in, n, ws)), ...); }
        (std::make_index_sequence<layer_count>{});
        return {in, n * output_shape::size};
    }

    // The bf16 weights of layer I (empty unless in_bf16<I>).
    std::span<const std::uint16_t> weights(std::size_t layer) const noexcept { return weights_.at(layer); }

private:
    static constexpr std::array<bool, layer_count> converted = []<std::size_t... I>(std::index_sequence<I...>) {
        return std::array<bool, layer_count>{in_bf16<I>...};
    }
    (std::make_index_sequence<layer_count>{});

    // The first layer at or after `first` that runs in bf16 (layer_count if none).
    static constexpr std::size_t next_converted(std::size_t first) noexcept {
        while (first < layer_count && !converted[first]) ++first;
        return first;
    }

    // Layer I in bf16; or, where a run of float layers starts at I, the whole run as the network runs it (so its
    // fusions, a convolution with its pooling among them, still apply); else nothing (its run has been done).
    template <std::size_t I>
    const float* forward_from(const float* in, std::size_t n, Workspace& ws) const {
        if constexpr (in_bf16<I>) {
            using L = typename Net::template layer_type<I>;
            float* out = ws.template output_buffer<I>().data();
            kernels::affine_bf16<L::input_shape::size, L::row_width>(in, n, weights_[I].data(), out);
            net_->template layer<I>().finish_rows(out, n);
            return out;
        } else if constexpr (I == 0 || converted[I - 1]) {
            return net_->template forward_layers<I, next_converted(I)>(in, n, ws, Pass::inference);
        } else {
            return in;
        }
    }

    Net* net_;
    std::array<aligned_vector<std::uint16_t>, layer_count> weights_;
};

}  // namespace ctnn
