#pragma once
// StepPlan<Net>: how a training step of a network is spread over threads, chosen once per network and used by
// fit and train_step alike. It owns everything a multi-threaded step needs besides the network: the parts'
// workspaces and gradients, the row split's whole-batch buffers and block balance, and the gradient reducer.
//
// Two strategies, both with results fixed by the thread count:
//  - sample split: the batch in contiguous parts, one per thread, each with its own workspace and gradients,
//    summed by the reducer in part order;
//  - row split (row_split_step.hpp): for a network whose largest layer is RowSplittable and holds most of the
//    parameters, that layer split by its weight rows over the whole batch, the others by samples.
// A network with a layer that CouplesBatch (BatchNorm) is never split by samples: its batch statistics are those
// of the whole batch whatever the thread count; its layers' own kernels still use the threads.

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "ctnn/core/block_balance.hpp"
#include "ctnn/core/buffer.hpp"
#include "ctnn/core/parallel.hpp"
#include "ctnn/kernels/elementwise.hpp"
#include "ctnn/layers/layer.hpp"
#include "ctnn/train/loss.hpp"
#include "ctnn/train/thresholds.hpp"

namespace ctnn {

// Sums the gradients of a step's parts into the network's own (part 0's): the one place where gradients cross
// between workers. This one adds parts 1.. in part order, element by element, so the sum depends only on the
// part count. A reducer for data-parallel training on several machines would, after the same local sum,
// allreduce `into` across processes (every process calls reduce on the same ranges in the same order).
struct SumPartsInOrder {
    // into[0, count) += parts[p][offset, offset + count) for p in [0, parts.size()).
    void reduce(float* into, std::span<const Buffer> parts, std::size_t offset, std::size_t count) const noexcept {
        for (const Buffer& part : parts) kernels::add_to(into, part.data() + offset, count);
    }
};

template <class R>
concept GradientReducer = requires(const R& reducer, float* into, std::span<const Buffer> parts, std::size_t n) {
    reducer.reduce(into, parts, n, n);
};

namespace detail {

// The layer of Net split by weight rows on several threads: the RowSplittable layer holding more than half of
// the parameters (layer_count if none, or if the network couples its batch). The Dense<5408,128> of ctnn_train_bench's
// CNN holds 99.7%: split by rows, each thread reads and updates only its part of the weight matrix instead of every
// thread streaming all of it while the other core writes it.
template <class Net>
inline constexpr std::size_t row_split_layer_of = []<std::size_t... I>(std::index_sequence<I...>) {
    constexpr std::array<bool, Net::layer_count> splittable{RowSplittable<typename Net::template layer_type<I>>...};
    if (Net::couples_batch) return Net::layer_count;
    for (std::size_t i = 0; i < Net::layer_count; ++i)
        if (splittable[i] && 2 * Net::parameter_counts[i] > Net::parameter_count) return i;
    return Net::layer_count;
}
(std::make_index_sequence<Net::layer_count>{});

}  // namespace detail

template <class Net, GradientReducer Reducer = SumPartsInOrder>
class StepPlan {
public:
    using network_type = Net;
    using Workspace = typename Net::Workspace;

    // Back-propagation starts below a final layer that produces probabilities: the loss folds it in.
    static constexpr std::size_t last_trained_layer =
        ProducesProbabilities<typename Net::template layer_type<Net::layer_count - 1>> ? Net::layer_count - 2
                                                                                       : Net::layer_count - 1;
    static_assert(last_trained_layer < Net::layer_count, "a network cannot be only a Softmax");
    static constexpr std::size_t row_split_layer = detail::row_split_layer_of<Net>;
    static constexpr bool has_row_split = row_split_layer <= last_trained_layer;

    explicit StepPlan(Net& net, Reducer reducer = {}) : net_(&net), reducer_(std::move(reducer)) {}

    Net& network() noexcept { return *net_; }
    const Reducer& reducer() const noexcept { return reducer_; }

    // Whether a step leaves its gradients in the layers' gradient tensors (the default), for a caller that reads
    // them after train_step. Off, the fused update (train/fused_update.hpp) keeps the row-split layer's weight
    // gradient only in a block-sized buffer that stays in cache, and that layer's tensor is left as it was; the
    // parameters come out the same, bit for bit. fit turns it off for its steps: nothing reads them.
    void keep_gradients(bool keep) noexcept { keep_gradients_ = keep; }
    bool keeps_gradients() const noexcept { return keep_gradients_; }

    // Threads a step of n samples uses: ctnn's thread count, unless the step is too small to share
    // (min_flops_per_thread) or the network couples its batch.
    static std::size_t parts_for(std::size_t n) noexcept {
        if constexpr (Net::couples_batch) return 1;
        const std::size_t step_flops = 3 * Net::forward_flops_per_sample * n;  // forward + backward ~ 3x forward
        return std::clamp<std::size_t>(std::min(static_cast<std::size_t>(num_threads()), max_team_threads), 1,
                                       std::max<std::size_t>(step_flops / min_flops_per_thread, 1));
    }
    // Whether a step of n samples splits row_split_layer by weight rows.
    static bool splits_rows(std::size_t n) noexcept { return has_row_split && parts_for(n) > 1; }
    // Samples a part other than the first can get when n are split between two or more parts.
    static constexpr std::size_t samples_per_part(std::size_t n) noexcept { return (n + 1) / 2; }

    // ---- parts: part 0 runs on the network's own workspace and gradients, parts 1.. on the plan's ----
    Workspace& part_workspace(std::size_t part) {
        if (part == 0) return net_->workspace();
        if (part_workspaces_.size() < part) prepare_parts(part + 1);
        return *part_workspaces_[part - 1];
    }
    // Null for part 0: the layers' own gradient tensors.
    float* part_gradients(std::size_t part) {
        if (part == 0) return nullptr;
        if (part_gradients_.size() < part) prepare_parts(part + 1);
        return part_gradients_[part - 1].data();
    }
    // Creates parts 1..parts-1, their workspaces holding at least `samples_per_part` samples (the network's
    // max_batch when 0; grown, never shrunk). Sized by the batch, not by max_batch: the CNN's workspace
    // (ctnn_train_bench) for 256 samples is ~110 MB, and first-touching fresh pages is slow on virtual machines (see
    // docs/performance.md, "parts' workspaces sized by the batch").
    void prepare_parts(std::size_t parts, std::size_t samples_per_part = 0) {
        if (samples_per_part == 0) samples_per_part = net_->max_batch();
        for (auto& ws : part_workspaces_)
            if (ws->max_batch() < samples_per_part) ws = std::make_unique<Workspace>(samples_per_part);
        while (part_workspaces_.size() + 1 < parts) {
            part_workspaces_.push_back(std::make_unique<Workspace>(samples_per_part));
            part_gradients_.emplace_back(Net::parameter_count, 0.0f);
        }
    }

    // Adds the gradients of parts 1..parts-1 to the layers' own through the reducer; the parameters are split
    // into contiguous ranges across threads (the order per element stays fixed). `complete_layer`'s gradients
    // are left as they are (the row split computes them whole).
    void reduce_gradients(std::size_t parts, std::size_t complete_layer = Net::layer_count) {
        if (parts <= 1) return;
        const std::size_t complete_count = complete_layer < Net::layer_count ? Net::parameter_counts[complete_layer]
                                                                             : 0;
        if (Net::parameter_count - complete_count < reduce_parallel_min) {
            reduce_gradients(parts, Range{0, Net::parameter_count}, complete_layer);
            return;
        }
        parallel_parts(static_cast<std::size_t>(num_threads()), [&](std::size_t part, std::size_t count) {
            reduce_gradients(parts, split_range(Net::parameter_count, part, count, thread_granule), complete_layer);
        });
    }
    // The same for the parameters [elements.begin, elements.end) of the flat visit_parameters order: threads
    // that each take a range reduce everything between them.
    void reduce_gradients(std::size_t parts, Range elements, std::size_t complete_layer) {
        const std::span<const Buffer> others(part_gradients_.data(), parts - 1);
        std::size_t offset = 0;
        net_->visit_parameters([&](std::size_t layer, const ParameterView& p) {
            const std::size_t lo = std::max(elements.begin, offset);
            const std::size_t hi = std::min(elements.end, offset + p.gradient.size());
            if (lo < hi && layer != complete_layer)
                reducer_.reduce(p.gradient.data() + (lo - offset), others, lo, hi - lo);
            offset += p.gradient.size();
        });
    }

    // ---- the row split's whole-batch buffers ----
    // row_split_layer's input, the partial sums of its output over each fixed block of its rows, the gradients
    // with respect to its output and its input, and the split of the blocks between threads. Every thread's
    // samples have their rows, so each product over the batch is one call. Sized for the largest batch seen so
    // far and the partial sums for the most threads (grown, never shrunk), then reused.
    struct RowSplitBuffers {
        Buffer input, partial_outputs, output_gradient, input_gradient;
        std::size_t rows = 0;            // samples the buffers hold
        std::size_t partial_stride = 0;  // floats from one block's partial output to the next
        BlockBalance balance;            // which thread takes which blocks of rows
        float* partial_output(std::size_t block) noexcept { return partial_outputs.data() + block * partial_stride; }
    };
    // Blocks of row_split_layer's rows for a team of `threads`: row_blocks_per_thread each (fewer when there
    // are fewer rows; at least one block per thread, some of them empty when there are fewer rows than threads).
    static constexpr std::size_t row_split_blocks(std::size_t threads) noexcept requires has_row_split {
        threads = std::max<std::size_t>(threads, 1);
        return std::max(threads, std::min(row_blocks_per_thread * threads, wide_layer::input_shape::size));
    }
    // Allocates what a row-split step of up to n samples on up to `threads` threads needs (on first use only).
    RowSplitBuffers& prepare_row_split(std::size_t threads, std::size_t n) requires has_row_split {
        prepare_parts(threads, samples_per_part(n));
        if (row_split_.rows < n) {
            row_split_.rows = n;
            row_split_.input.assign(n * wide_layer::input_shape::size, 0.0f);
            row_split_.output_gradient.assign(n * wide_layer::output_shape::size, 0.0f);
            row_split_.input_gradient.assign(n * wide_layer::input_shape::size, 0.0f);
            // Whole cache lines per block: each is written by one thread.
            row_split_.partial_stride = (n * wide_layer::output_shape::size + 15) / 16 * 16;
            row_split_.partial_outputs.clear();
        }
        if (row_split_.partial_outputs.size() < row_split_blocks(threads) * row_split_.partial_stride)
            row_split_.partial_outputs.resize(row_split_blocks(threads) * row_split_.partial_stride);
        return row_split_;
    }
    // The same buffers without sizing them: for the threads of a step, after prepare_row_split.
    RowSplitBuffers& row_split_state() noexcept requires has_row_split { return row_split_; }

private:
    using wide_layer = typename Net::template layer_type<has_row_split ? row_split_layer : 0>;

    Net* net_;
    Reducer reducer_;
    bool keep_gradients_ = true;
    std::vector<std::unique_ptr<Workspace>> part_workspaces_;
    std::vector<Buffer> part_gradients_;
    RowSplitBuffers row_split_;
};

}  // namespace ctnn
