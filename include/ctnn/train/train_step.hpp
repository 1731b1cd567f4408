#pragma once
// train_step: one optimisation step on a batch (forward, loss, backward, update), spread over threads as a
// StepPlan says: the row split for a network with one dominant RowSplittable layer, the sample split otherwise.
// On one thread such a network's step updates that layer's weights block by block (fused_update.hpp).

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "ctnn/core/parallel.hpp"
#include "ctnn/layers/layer.hpp"
#include "ctnn/train/fused_update.hpp"
#include "ctnn/train/loss.hpp"
#include "ctnn/train/row_split_step.hpp"
#include "ctnn/train/step_plan.hpp"

namespace ctnn {

// An optimiser updates every parameter of a network from its accumulated gradients.
template <class O, class Net>
concept OptimizerFor = requires(O& optimizer, Net& net) {
    optimizer.step(net);
};

namespace detail {

// Forward, loss and backward of n samples split into up to `parts` contiguous parts, one per thread, each
// with its own workspace and gradients, reduced in part order; returns the number of parts that ran.
template <class Plan>
std::size_t sample_split_forward_backward(Plan& plan, const float* images, const std::uint8_t* labels, std::size_t n,
                                          std::size_t parts, std::span<BatchLoss> losses) {
    using Net = typename Plan::network_type;
    Net& net = plan.network();
    auto run_part = [&](std::size_t part, std::size_t part_count) {
        const Range range = split_range(n, part, part_count);
        const std::size_t count = range.end - range.begin;
        float* gradients = plan.part_gradients(part);  // null for part 0: the layers' own
        if (count == 0) {                              // more parts than samples: this part adds nothing to the sum
            if (gradients != nullptr)
                std::fill_n(gradients, Net::parameter_count, 0.0f);
            else
                net.zero_gradients();
            return;
        }
        auto& ws = plan.part_workspace(part);
        const float* x = images + range.begin * Net::input_shape::size;
        const std::span<const float> output = net.forward(x, count, ws, Pass::training);
        float* loss_gradient = ws.output_gradient().data();
        losses[part] = network_loss<Net>(output, labels + range.begin, count, loss_gradient, n);
        // Overwriting spares clearing every gradient first (a pass over all parameters per step and part).
        net.backward(x, loss_gradient, count, ws, Plan::last_trained_layer, nullptr, gradients,
                     GradientUpdate::overwrite);
    };
    if (parts == 1) {
        run_part(0, 1);
        return 1;
    }
    std::size_t used_parts = parts;
    parallel_parts(parts, [&](std::size_t part, std::size_t part_count) {
        if (part == 0) used_parts = part_count;
        run_part(part, part_count);
    });
    plan.reduce_gradients(used_parts);
    return used_parts;
}

}  // namespace detail

// One optimisation step of plan.network() on a batch of n samples. Results are fixed by the thread count.
// Allocates nothing once the optimiser and the plan's parts have been created (first step). The layers' gradient
// tensors then hold the step's gradients unless plan.keep_gradients(false) was set (as fit does).
template <class Net, class Reducer, class Optimizer>
    requires OptimizerFor<Optimizer, Net> BatchLoss train_step(StepPlan<Net, Reducer>& plan, Optimizer& optimizer,
                                                               const float* images, const std::uint8_t* labels,
                                                               std::size_t n) {
        using Plan = StepPlan<Net, Reducer>;
        const std::size_t parts = Plan::parts_for(n);
        plan.prepare_parts(parts, Plan::samples_per_part(n));
        std::array<BatchLoss, max_team_threads> losses{};
        std::size_t used_parts = 0;
        if constexpr (Plan::has_row_split)
            if (Plan::splits_rows(n))
                used_parts = detail::row_split_step(plan, optimizer, images, labels, n, parts, losses);
        if constexpr (Plan::has_row_split && detail::BlockUpdateOptimizer<Optimizer, Net>)
            if (used_parts == 0 && parts == 1) {
                detail::fused_update_step(plan, optimizer, images, labels, n, losses);
                used_parts = 1;
            }
        if (used_parts == 0) {
            used_parts = detail::sample_split_forward_backward(plan, images, labels, n, parts, losses);
            optimizer.step(plan.network());
        }
        return total_loss({losses.data(), used_parts});
    }

}  // namespace ctnn
