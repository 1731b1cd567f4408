#pragma once
// The row split: a training step on several threads for a network with one dominant RowSplittable layer
// (StepPlan::row_split_layer, such as the Dense<5408,128> of ctnn_train_bench's CNN). The layers below and above it are
// split by samples, as in the sample split; that layer is split by the input rows of its weights over the whole batch
// instead, in fixed blocks of rows that the threads share in proportion to their measured speed (BlockBalance).
// Each thread reads and writes only its own rows of W, of their gradient and of their optimiser state; what
// crosses between cores is activations (~0.35 MB per step each way for ctnn_train_bench's CNN), not the 2.8 MB matrix.
// fit runs a whole epoch's full batches in one parallel region (row_split_steps). Figures: docs/performance.md.

#include <algorithm>
#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <span>

#include "ctnn/core/parallel.hpp"
#include "ctnn/kernels/elementwise.hpp"
#include "ctnn/layers/layer.hpp"
#include "ctnn/train/fused_update.hpp"
#include "ctnn/train/loss.hpp"
#include "ctnn/train/optimizer_state.hpp"

namespace ctnn::detail {

// An optimiser that can update from every thread of a parallel_team, each doing its share.
template <class O, class Net>
concept TeamOptimizer = requires(O& optimizer, Net& net, const Team& team, const UpdateShares& shares) {
    optimizer.step(net, team, shares);
};

// The rows of W in block `block` of `blocks`.
template <std::size_t Rows>
constexpr Range block_rows(std::size_t block, std::size_t blocks) noexcept {
    return split_range(Rows, block, blocks);
}

// One training step of n samples (n >= team.size()), called by every thread of `team` after
// plan.prepare_row_split(team.size(), n), the team's previous step (if any) finished by all its threads: forward,
// loss, backward, the threads' gradients summed in thread order, and, when the optimiser can update from a team,
// its update. Layers above `Last` get no gradient. Writes each thread's loss to losses[thread]; results depend
// only on the team's size, not on how the wide layer's row blocks were split between the threads.
template <class Plan, class Optimizer>
void row_split_team_step(Plan& plan, Optimizer& optimizer, const float* images, const std::uint8_t* labels,
                         std::size_t n, std::span<BatchLoss> losses, const Team& team) {
    using clock = std::chrono::steady_clock;
    using Net = typename Plan::network_type;
    constexpr std::size_t Last = Plan::last_trained_layer;
    constexpr std::size_t wide_index = Plan::row_split_layer;
    Net& net = plan.network();
    static_assert(wide_index <= Last && Last < Net::layer_count, "the row-split layer must be trained");
    using Wide = typename Net::template layer_type<wide_index>;
    constexpr std::size_t in = Wide::input_shape::size, out = Wide::output_shape::size;
    static_assert(RowSplittable<Wide>, "the row-split layer must be RowSplittable");
    constexpr bool below_needs_gradient = wide_index > Net::first_trainable_layer;
    auto& wide = net.template layer<wide_index>();
    auto& whole = plan.row_split_state();
    // The layer's input for the whole batch: the images themselves when nothing is below it.
    const float* input = wide_index == 0 ? images : whole.input.data();
    const std::size_t t = team.thread(), threads = team.size();
    auto& ws = plan.part_workspace(t);
    const GradientTarget gradients{plan.part_gradients(t), GradientUpdate::overwrite};  // null for thread 0: own
    const Range samples = split_range(n, t, threads);
    const std::size_t count = samples.end - samples.begin;
    const float* x = images + samples.begin * Net::input_shape::size;

    // The blocks of W's rows, split by the threads' speeds in the last steps; nobody reads the split before the
    // barrier below.
    // With the fused update (fused_update.hpp), the optimiser's step begins here: step 4 updates W's blocks.
    constexpr bool fused = BlockUpdateOptimizer<Optimizer, Net>;
    if (t == 0) {
        const std::size_t blocks = Plan::row_split_blocks(threads);
        if (whole.balance.threads() != threads || whole.balance.blocks() != blocks)
            whole.balance.reset(blocks, threads);
        else
            whole.balance.rebalance();
        if constexpr (fused) optimizer.begin_step(net);
    }

    // 1. The layers below, on this thread's samples; their output joins the batch's.
    if constexpr (wide_index > 0) {
        const float* below = net.template forward_layers<0, wide_index>(x, count, ws, Pass::training);
        std::copy_n(below, count * in, whole.input.data() + samples.begin * in);
    }
    team.sync();

    // 2. This thread's blocks of W's rows against the whole batch: each block's partial sum of the output.
    const std::size_t blocks = whole.balance.blocks();
    const Range my_blocks = whole.balance.range(t);
    const Range rows{block_rows<in>(my_blocks.begin, blocks).begin, block_rows<in>(my_blocks.end - 1, blocks).end};
    auto started = clock::now();
    for (std::size_t b = my_blocks.begin; b < my_blocks.end; ++b)
        wide.forward_rows(input, whole.partial_output(b), n, block_rows<in>(b, blocks));
    auto row_time = clock::now() - started;
    team.sync();

    // 3. This thread's samples: the blocks' partial sums added in block order, the bias, the layers above, the
    //    loss and back-propagation down to the wide layer's output, which joins the batch's.
    float* output = ws.template output_buffer<wide_index>().data();
    std::copy_n(whole.partial_output(0) + samples.begin * out, count * out, output);
    for (std::size_t b = 1; b < blocks; ++b)
        kernels::add_to(output, whole.partial_output(b) + samples.begin * out, count * out);
    wide.finish_rows(output, count);
    const float* y = net.template forward_layers<wide_index + 1, Net::layer_count>(output, count, ws, Pass::training);
    float* loss_gradient = ws.output_gradient().data();
    losses[t] = network_loss<Net>({y, count * Net::output_shape::size}, labels + samples.begin, count, loss_gradient,
                                  n);
    const float* output_gradient = net.template backward_layers<wide_index + 1>(x, loss_gradient, count, ws, Last,
                                                                                nullptr, gradients);
    std::copy_n(output_gradient, count * out, whole.output_gradient.data() + samples.begin * out);
    team.sync();

    // 4. This thread's rows of the weight gradient and of the input gradient, over the whole batch (each row's
    //    is the same whichever thread computes it), with the fused update each block's update right after it;
    //    the bias gradient on the last thread.
    started = clock::now();
    float* input_gradient = below_needs_gradient ? whole.input_gradient.data() : nullptr;
    const GradientTarget own{nullptr, GradientUpdate::overwrite};
    if constexpr (fused) {
        const WeightsTensor weights = weights_tensor_of(net, wide_index);
        for (std::size_t b = my_blocks.begin; b < my_blocks.end; ++b)
            backward_rows_and_update(wide, optimizer, weights, input, whole.output_gradient.data(), input_gradient, n,
                                     block_rows<in>(b, blocks), fused_block_rows<Wide>(), plan.keeps_gradients());
    } else {
        wide.backward_rows(input, whole.output_gradient.data(), input_gradient, n, rows, own);
    }
    row_time += clock::now() - started;
    whole.balance.record(t, std::chrono::duration<double>(row_time).count());
    if (t == threads - 1) wide.finish_rows_backward(whole.output_gradient.data(), n, own);

    // 5. The layers below, on this thread's samples.
    if constexpr (below_needs_gradient) {
        team.sync();
        net.template backward_layers<0>(x, whole.input_gradient.data() + samples.begin * in, count, ws, wide_index - 1,
                                        nullptr, gradients);
    }
    team.sync();

    // 6. The other layers' gradients summed over the threads (each thread a range of the parameters), then
    //    the update, each thread its share: W's rows are updated by the thread that computed their gradient.
    plan.reduce_gradients(threads, split_range(Net::parameter_count, t, threads, thread_granule), wide_index);
    if constexpr (fused) {
        team.sync();
        optimizer.update(net, team, UpdateShares{wide_index, in * Wide::row_width, Range{0, 0}});
    } else if constexpr (TeamOptimizer<Optimizer, Net>) {
        team.sync();
        constexpr std::size_t width = Wide::row_width;
        optimizer.step(net, team, UpdateShares{wide_index, in * width, {rows.begin * width, rows.end * width}});
    }
}

// One training step of n samples on up to `parts` threads (at most n) in a parallel region of its own; the
// optimiser's update inside it when it can update from a team, after it otherwise. Returns the number of
// threads that ran; results depend only on that number.
template <class Plan, class Optimizer>
std::size_t row_split_step(Plan& plan, Optimizer& optimizer, const float* images, const std::uint8_t* labels,
                           std::size_t n, std::size_t parts, std::span<BatchLoss> losses) {
    using Net = typename Plan::network_type;
    parts = std::min({parts, n, losses.size()});  // every thread gets a sample and a loss slot
    plan.prepare_row_split(parts, n);
    std::size_t team_size = 1;
    parallel_team(parts, [&](const Team& team) {
        if (team.thread() == 0) team_size = team.size();
        row_split_team_step(plan, optimizer, images, labels, n, losses, team);
    });
    if constexpr (!TeamOptimizer<Optimizer, Net>) optimizer.step(plan.network());
    return team_size;
}

// `steps` training steps of n samples each, as many row_split_step calls would make them, in one parallel
// region: opening and closing a region per step cost ~100 us on two virtual CPUs (a sleeping thread took ~45 us
// to wake each way), a tenth of a step of ctnn_train_bench's CNN. Between steps thread 0 alone calls done(step - 1,
// loss) for the step before, then load(step), which fills `images` and `labels`; the other threads wait at the barrier,
// where they spin briefly. Returns the number of threads that ran. An exception from load or done stops the
// steps and is rethrown after the region.
template <class Plan, class Optimizer, class Load, class Done>
    requires TeamOptimizer<Optimizer, typename Plan::network_type> std::size_t row_split_steps(
        Plan& plan, Optimizer& optimizer, const float* images, const std::uint8_t* labels, std::size_t n,
        std::size_t parts, std::size_t steps, Load&& load, Done&& done) {
        std::array<BatchLoss, max_team_threads> losses{};
        parts = std::min({parts, n, max_team_threads});
        plan.prepare_row_split(parts, n);
        std::size_t team_size = 1;
        std::exception_ptr failure;
        parallel_team(parts, [&](const Team& team) {
            if (team.thread() == 0) team_size = team.size();
            for (std::size_t step = 0; step < steps; ++step) {
                if (team.thread() == 0) {
                    try {
                        if (step > 0) done(step - 1, total_loss({losses.data(), team.size()}));
                        load(step);
                    } catch (...) {
                        failure = std::current_exception();
                    }
                }
                team.sync();  // the batch is loaded (or the steps are over); also orders `failure`
                if (failure) return;
                row_split_team_step(plan, optimizer, images, labels, n, losses, team);
            }
        });
        if (failure) std::rethrow_exception(failure);
        if (steps > 0) done(steps - 1, total_loss({losses.data(), team_size}));
        return team_size;
    }

}  // namespace ctnn::detail
