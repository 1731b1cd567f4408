#pragma once
// What a layer that declares FusesActivation (layers/layer.hpp) shares: running the activation after it on its
// output chunk by chunk as the output is produced, and the gradient with respect to the activation's input for
// its backward pass.

#include <algorithm>
#include <cstddef>

#include "ctnn/core/buffer.hpp"

namespace ctnn::detail {

// Floats an epilogue takes at a time: 16 KiB, inside the L1 data cache of every core ctnn targets (32 KiB or
// more), so the activation reads what the layer has just written.
inline constexpr std::size_t epilogue_chunk_floats = 4096;

// For consecutive chunks of `rows` rows of `row_floats` floats each (whole rows, about epilogue_chunk_floats):
// produce(first_row, row_count) writes those rows of y, then A runs on them in place.
template <class A, class Produce>
void produce_then_activate(float* y, std::size_t rows, std::size_t row_floats, Produce&& produce) {
    const std::size_t chunk = std::max<std::size_t>(1, epilogue_chunk_floats / std::max<std::size_t>(row_floats, 1));
    for (std::size_t r = 0; r < rows; r += chunk) {
        const std::size_t count = std::min(chunk, rows - r);
        produce(r, count);
        A::apply(y + r * row_floats, y + r * row_floats, count * row_floats);
    }
}

// The gradient with respect to an activation's input, kept in the fused layer's workspace (grown on first use,
// then reused): the layer's backward pass reads it in place of dy.
struct ActivationGradient {
    Buffer values;

    // dA/dx * dy for count elements, from A's output y.
    template <class A>
    const float* of(const float* y, const float* dy, std::size_t count) {
        ensure_size(values, count);
        A::apply_backward(y, dy, values.data(), count);
        return values.data();
    }
    // Room for count elements, for a layer that computes the gradient itself (Dense, with its column sums).
    float* room(std::size_t count) {
        ensure_size(values, count);
        return values.data();
    }
};

}  // namespace ctnn::detail
