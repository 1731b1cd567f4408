#pragma once
// The fused update: the optimiser updates the weights of a network's dominant RowSplittable layer (StepPlan::
// row_split_layer) block of rows by block of rows, right after that block's weight gradient and its share of the
// input gradient are computed, while the block's W and dW are still in the core's L2 cache. Unfused, a step
// streams that layer's W and dW through memory more often: dW written by the backward pass (a read for ownership,
// a write-back) and read back by the update, W read by the backward pass and again by the update. For the seed
// CNN's Dense<5408,128> (2.8 MB per tensor, more than the 2 MB L2 of the Xeon measured in docs/performance.md)
// that is ~11 MB per step, and 5.5 MB more when the step need not keep the gradient (StepPlan::keep_gradients).
//
// Results are bitwise those of the unfused step: a row's gradient is the same whichever range of rows it is
// computed in (the product over the batch sums in the same order), the input gradient of a block of rows reads
// only that block's weights, read before they are updated, and the update is element-wise.
//
// An optimiser takes part by declaring the update in pieces (BlockUpdateOptimizer: Adam and SGD do); any other
// optimiser gets the unfused step.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>

#include "ctnn/core/buffer.hpp"
#include "ctnn/core/cache_sizes.hpp"
#include "ctnn/core/parallel.hpp"
#include "ctnn/layers/layer.hpp"
#include "ctnn/train/loss.hpp"
#include "ctnn/train/optimizer_state.hpp"

namespace ctnn::detail {

// begin_step once per step before any update; update_elements(tensor, view, range, gradient) on a range of one
// parameter tensor, its gradient read from `gradient` (that of the range's first element onwards); update(net,
// team, shares) for the rest on every thread of a team.
template <class O, class Net>
concept BlockUpdateOptimizer = requires(O& optimizer, Net& net, const Team& team, const UpdateShares& shares,
                                        const ParameterView& p, std::size_t tensor, Range elements,
                                        const float* gradient) {
    optimizer.begin_step(net);
    optimizer.update_elements(tensor, p, elements, gradient);
    optimizer.update(net, team, shares);
};

// The weights of layer `layer` (its first parameter tensor): their index in visit_parameters order and their view.
struct WeightsTensor {
    std::size_t index = 0;
    ParameterView view{};
};
template <class Net>
WeightsTensor weights_tensor_of(Net& net, std::size_t layer) {
    WeightsTensor found;
    bool seen = false;
    std::size_t index = 0;
    net.visit_parameters([&](std::size_t l, const ParameterView& p) {
        if (l == layer && !seen) {
            found = {index, p};
            seen = true;
        }
        ++index;
    });
    return found;
}

// Rows of a RowSplittable layer's weights per fused block: W, dW and two optimiser moments of the block in half
// of the core's L2 cache (read at run time), so that the update finds what the backward pass left there.
template <class Wide>
std::size_t fused_block_rows() noexcept {
    constexpr std::size_t bytes_per_row = 4 * Wide::row_width * sizeof(float);
    return std::max<std::size_t>(cache_sizes().l2 / 2 / bytes_per_row, 1);
}

// The wide layer's backward pass over `rows` (input gradient written unless null) in blocks of `block_rows`,
// each block's weights updated right after from its weight gradient. With keep_gradient the gradient goes to the
// layer's own tensor; without, to one block-sized buffer per thread reused by every block, which stays in the
// core's cache, where writing the tensor costs a read for ownership and a write-back of its every line per step
// (5.5 MB for the seed CNN).
template <class Wide, class Optimizer>
void backward_rows_and_update(const Wide& wide, Optimizer& optimizer, const WeightsTensor& weights,
                              const float* input, const float* output_gradient, float* input_gradient, std::size_t n,
                              Range rows, std::size_t block_rows, bool keep_gradient) {
    constexpr std::size_t width = Wide::row_width;
    thread_local Buffer block_gradient;  // grow-only: allocated by a thread's first step
    if (!keep_gradient) ensure_size(block_gradient, std::min(block_rows, rows.end - rows.begin) * width);
    for (std::size_t begin = rows.begin; begin < rows.end; begin += block_rows) {
        const Range block{begin, std::min(begin + block_rows, rows.end)};
        float* gradient = keep_gradient ? weights.view.gradient.data() + block.begin * width : block_gradient.data();
        wide.backward_rows_into(input, output_gradient, input_gradient, n, block, gradient);
        optimizer.update_elements(weights.index, weights.view, Range{block.begin * width, block.end * width},
                                  gradient);
    }
}

// Whether layer I + 1 of Net is an activation that layer I runs in its passes (the chain fuses it) and that
// layer I can take the derivative of in its finish_rows_backward_activated.
template <class Net, std::size_t I, std::size_t Last>
inline constexpr bool fused_activation_of = [] {
    if constexpr (I + 1 <= Last && I + 1 < Net::layer_count) {
        if constexpr (Net::chain::template fuses_next_activation<I>) {
            using A = typename Net::template layer_type<I + 1>::activation;
            using L = typename Net::template layer_type<I>;
            return requires(L& layer, const float* y, const float* dy, std::size_t n, typename L::workspace& ws,
                            GradientTarget target) {
                layer.template finish_rows_backward_activated<A>(y, dy, n, ws, target);
            };
        } else {
            return false;
        }
    } else {
        return false;
    }
}();

// One training step of n samples on the calling thread, with the fused update: forward, loss, back-propagation
// down to the wide layer, the wide layer's blocks each followed by their update, the layers below, and the
// update of every other tensor. Writes the loss to losses[0].
template <class Plan, class Optimizer>
void fused_update_step(Plan& plan, Optimizer& optimizer, const float* images, const std::uint8_t* labels,
                       std::size_t n, std::span<BatchLoss> losses) {
    using Net = typename Plan::network_type;
    constexpr std::size_t Last = Plan::last_trained_layer;
    constexpr std::size_t wide_index = Plan::row_split_layer;
    static_assert(wide_index <= Last && Last < Net::layer_count, "the fused layer must be trained");
    using Wide = typename Net::template layer_type<wide_index>;
    static_assert(RowSplittable<Wide>, "the fused layer must be RowSplittable");
    constexpr std::size_t in = Wide::input_shape::size;
    constexpr bool below_needs_gradient = wide_index > Net::first_trainable_layer;
    Net& net = plan.network();
    auto& ws = plan.part_workspace(0);
    const GradientTarget own{nullptr, GradientUpdate::overwrite};

    const std::span<const float> output = net.forward(images, n, ws, Pass::training);
    float* loss_gradient = ws.output_gradient().data();
    losses[0] = network_loss<Net>(output, labels, n, loss_gradient, n);
    // An activation the wide layer ran in its forward pass (FusesActivation): its derivative and the bias
    // gradient's column sums in one pass, as the layer's own backward_activated does; otherwise the layers above
    // down to the wide layer's output, then its column sums.
    auto& wide = net.template layer<wide_index>();
    const float* wide_output_gradient = nullptr;
    if constexpr (fused_activation_of<Net, wide_index, Last>) {
        using A = typename Net::template layer_type<wide_index + 1>::activation;
        const float* activation_gradient =
            net.template backward_layers<wide_index + 2>(images, loss_gradient, n, ws, Last, nullptr, own);
        wide_output_gradient = wide.template finish_rows_backward_activated<A>(
            ws.template activation<wide_index>(n).data(), activation_gradient, n,
            ws.template layer_workspace<wide_index>(), own);
    } else {
        wide_output_gradient =
            net.template backward_layers<wide_index + 1>(images, loss_gradient, n, ws, Last, nullptr, own);
        wide.finish_rows_backward(wide_output_gradient, n, own);
    }

    optimizer.begin_step(net);
    const float* wide_input = images;
    if constexpr (wide_index > 0) wide_input = ws.template activation<wide_index - 1>(n).data();
    float* input_gradient = nullptr;
    if constexpr (below_needs_gradient) input_gradient = plan.prepare_row_split(1, n).input_gradient.data();
    const WeightsTensor weights = weights_tensor_of(net, wide_index);
    backward_rows_and_update(wide, optimizer, weights, wide_input, wide_output_gradient, input_gradient, n,
                             Range{0, in}, fused_block_rows<Wide>(), plan.keeps_gradients());
    if constexpr (below_needs_gradient)
        net.template backward_layers<0>(images, input_gradient, n, ws, wide_index - 1, nullptr, own);

    TeamBarrier barrier;
    const Team solo(0, 1, barrier);
    optimizer.update(net, solo, UpdateShares{wide_index, in * Wide::row_width, Range{0, 0}});
}

}  // namespace ctnn::detail
