#pragma once
// Softmax cross-entropy, the loss every classifier here trains on.

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "ctnn/layers/layer.hpp"

namespace ctnn {

// Sum of the per-sample losses and the number of correct arg-max predictions over a batch.
struct BatchLoss {
    double loss_sum = 0.0;
    std::size_t correct = 0;
};

// The losses of the parts of one batch (the threads of a step) added up, in part order.
inline BatchLoss total_loss(std::span<const BatchLoss> parts) noexcept {
    BatchLoss total;
    for (const BatchLoss& part : parts) {
        total.loss_sum += part.loss_sum;
        total.correct += part.correct;
    }
    return total;
}

// From logits, stable (log-sum-exp around the row maximum). When gradient is not null it receives
// d(mean loss)/d(logits) = (softmax(logits) - onehot(label)) / N, N = mean_over (default n: a part of a batch
// split across threads passes the whole batch's size).
inline BatchLoss softmax_cross_entropy(const float* logits, const std::uint8_t* labels, std::size_t n,
                                       std::size_t classes, float* gradient, std::size_t mean_over = 0) noexcept {
    BatchLoss result;
    const float inv_n = 1.0f / static_cast<float>(mean_over != 0 ? mean_over : n);
    for (std::size_t r = 0; r < n; ++r) {
        const float* row = logits + r * classes;
        const std::size_t best = static_cast<std::size_t>(std::max_element(row, row + classes) - row);
        const float top = row[best];
        double total = 0.0;
        for (std::size_t c = 0; c < classes; ++c) total += std::exp(static_cast<double>(row[c] - top));
        result.loss_sum += std::log(total) - static_cast<double>(row[labels[r]] - top);
        result.correct += best == labels[r];
        if (gradient != nullptr) {
            float* g = gradient + r * classes;
            const double inv_total = 1.0 / total;
            for (std::size_t c = 0; c < classes; ++c)
                g[c] = static_cast<float>(std::exp(static_cast<double>(row[c] - top)) * inv_total) * inv_n;
            g[labels[r]] -= inv_n;
        }
    }
    return result;
}

// From probabilities (a network that ends in Softmax). The gradient written is the one with respect to the
// softmax's *input*, (p - onehot) / n: the fused form avoids dividing by tiny probabilities.
inline BatchLoss cross_entropy_from_probabilities(const float* probabilities, const std::uint8_t* labels,
                                                  std::size_t n, std::size_t classes, float* logits_gradient,
                                                  std::size_t mean_over = 0) noexcept {
    BatchLoss result;
    const float inv_n = 1.0f / static_cast<float>(mean_over != 0 ? mean_over : n);
    for (std::size_t r = 0; r < n; ++r) {
        const float* row = probabilities + r * classes;
        const std::size_t best = static_cast<std::size_t>(std::max_element(row, row + classes) - row);
        result.loss_sum -= std::log(std::max(static_cast<double>(row[labels[r]]), 1e-30));
        result.correct += best == labels[r];
        if (logits_gradient != nullptr) {
            float* g = logits_gradient + r * classes;
            for (std::size_t c = 0; c < classes; ++c) g[c] = row[c] * inv_n;
            g[labels[r]] -= inv_n;
        }
    }
    return result;
}

namespace detail {

// Whether the network's last layer turns logits into probabilities (Softmax): its loss then takes those.
template <class Net>
constexpr bool ends_with_softmax = ProducesProbabilities<typename Net::template layer_type<Net::layer_count - 1>>;

// Loss (and, when gradient is not null, the gradient that starts back-propagation) for a network's output.
template <class Net>
BatchLoss network_loss(std::span<const float> output, const std::uint8_t* labels, std::size_t n, float* gradient,
                       std::size_t mean_over = 0) {
    constexpr std::size_t classes = Net::output_shape::size;
    if constexpr (ends_with_softmax<Net>)
        return cross_entropy_from_probabilities(output.data(), labels, n, classes, gradient, mean_over);
    else
        return softmax_cross_entropy(output.data(), labels, n, classes, gradient, mean_over);
}

}  // namespace detail

}  // namespace ctnn
