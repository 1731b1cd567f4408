#pragma once
// The forward and backward half of a training step on several threads, for a network with one dominant Dense
// layer (Sequential::row_split_layer, such as the seed CNN's Dense<5408,128>). The layers below and above it
// are split by samples, as in the plain data-parallel step; that layer is split by the input rows of its
// weights over the whole batch instead. Each thread then reads and writes only its own rows of W and of its
// gradient, which the optimiser's equal split of the same tensor also gives the same thread; what crosses
// between cores is the layer's input and output activations, a few hundred KB, not the 2.8 MB matrix.
// Measured on two vCPUs that share no cache (ctnn_dense_split_bench): that layer's step takes 1.4x less time
// on two threads when split by samples, 2.9x less when split by rows.

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "ctnn/core/parallel.hpp"
#include "ctnn/kernels/elementwise.hpp"
#include "ctnn/layers/layer.hpp"
#include "ctnn/train/loss.hpp"

namespace ctnn::detail {

// Runs forward, loss and backward of n samples on up to `parts` threads (at most n), leaving the whole
// batch's gradients in the layers; layers above `last` get none. Writes each thread's loss to losses[thread]
// and returns the number of threads that ran. Results depend only on that number.
template <class Net, std::size_t Last>
std::size_t row_split_forward_backward(Net& net, const float* images, const std::uint8_t* labels, std::size_t n,
                                       std::size_t parts, std::span<BatchLoss> losses) {
    constexpr std::size_t wide_index = Net::row_split_layer;
    static_assert(wide_index <= Last && Last < Net::layer_count, "the row-split layer must be trained");
    using Wide = typename Net::template layer_type<wide_index>;
    constexpr std::size_t in = Wide::input_shape::size, out = Wide::output_shape::size;
    constexpr bool below_needs_gradient = wide_index > Net::first_trainable_layer;
    auto& wide = net.template layer<wide_index>();

    // What each thread publishes about its samples for the others; a cache line each, as all of them write.
    struct alignas(64) Part {
        Range samples;
        const float* input;         // the wide layer's input for these samples (in columns)
        float* output;              // its output (out columns)
        const float* output_gradient;
        float* input_gradient;      // written by every thread, its own columns each
        std::size_t count() const noexcept { return samples.end - samples.begin; }
    };
    constexpr std::size_t max_parts = 64;
    std::array<Part, max_parts> state{};
    if (parts > std::min(n, max_parts)) parts = std::min(n, max_parts);  // every thread gets a sample
    std::size_t team = 1;

    parallel_team(parts, [&](std::size_t t, std::size_t threads) {
        if (t == 0) team = threads;
        auto& ws = net.part_workspace(t);
        float* gradients = net.part_gradients(t);  // null for thread 0: the layers' own
        Part& mine = state[t];
        mine.samples = split_range(n, t, threads);
        const std::size_t count = mine.count();
        const float* x = images + mine.samples.begin * Net::input_shape::size;
        // The optimiser splits W's elements in the same places when in / threads rows are a whole number of
        // its 64-float granules (the seed CNN: 2704 rows of 128).
        const Range rows = split_range(in, t, threads);

        // 1. The layers below, on this thread's samples.
        mine.input = net.template forward_layers<0, wide_index>(x, count, ws, Pass::training);
        mine.output = ws.template output_buffer<wide_index>().data();
        team_barrier();

        // 2. This thread's rows of W against every thread's samples: thread 0 writes the outputs themselves,
        //    the others their partial sums.
        float* partial = ws.partial_output().data();
        for (std::size_t p = 0; p < threads; ++p)
            wide.forward_rows(state[p].input, t == 0 ? state[p].output : partial + state[p].samples.begin * out,
                              state[p].count(), rows);
        team_barrier();

        // 3. This thread's samples: the partial sums added in thread order, the bias, the layers above, the loss
        //    and back-propagation down to the wide layer's output.
        for (std::size_t s = 1; s < threads; ++s)
            kernels::add_to(mine.output, net.part_workspace(s).partial_output().data() + mine.samples.begin * out,
                            count * out);
        kernels::add_bias(mine.output, wide.bias.data(), count, out);
        const float* y = net.template forward_layers<wide_index + 1, Net::layer_count>(mine.output, count, ws,
                                                                                    Pass::training);
        float* loss_gradient = ws.output_gradient().data();
        losses[t] = network_loss<Net>({y, count * Net::output_shape::size}, labels + mine.samples.begin, count,
                                      loss_gradient, n);
        mine.output_gradient = net.template backward_layers<wide_index + 1>(
            x, loss_gradient, count, ws, Last, nullptr, gradients, GradientUpdate::overwrite);
        mine.input_gradient = ws.gradient_buffer_besides(mine.output_gradient);
        team_barrier();

        // 4. This thread's rows of the weight gradient and of every input gradient, over the whole batch
        //    (parts summed in order); the bias gradient on the last thread, which has the fewest rows.
        for (std::size_t p = 0; p < threads; ++p) {
            const GradientUpdate update = p == 0 ? GradientUpdate::overwrite : GradientUpdate::accumulate;
            wide.backward_rows(state[p].input, state[p].output_gradient,
                               below_needs_gradient ? state[p].input_gradient : nullptr, state[p].count(), rows,
                               update);
            if (t == threads - 1) wide.backward_bias(state[p].output_gradient, state[p].count(), update);
        }

        // 5. The layers below, on this thread's samples.
        if constexpr (below_needs_gradient) {
            team_barrier();
            net.template backward_layers<0>(x, mine.input_gradient, count, ws, wide_index - 1, nullptr, gradients,
                                            GradientUpdate::overwrite);
        }
    });
    net.reduce_part_gradients(team, wide_index);
    return team;
}

}  // namespace ctnn::detail
