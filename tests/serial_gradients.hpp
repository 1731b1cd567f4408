#pragma once
// A batch's gradients by the plain path on one thread, independent of train_step: clear, forward, loss gradient
// (mean over the batch), accumulating backward. The reference for train_step's multi-threaded steps.

#include <cstdint>
#include <memory>
#include <vector>

#include "ctnn/ctnn.hpp"
#include "network_values.hpp"

namespace ctnn::testing {

// The last layer training back-propagates from: a final Softmax is folded into the loss.
template <class Net>
constexpr std::size_t trained_last = detail::ends_with_softmax<Net> ? Net::layer_count - 2 : Net::layer_count - 1;

struct BatchGradients {
    std::vector<float> values;  // visit_parameters order
    BatchLoss loss;
};

template <class Net>
BatchGradients serial_gradients(std::uint64_t seed_value, const data::Dataset& batch) {
    const std::size_t n = batch.size();
    set_num_threads(1);
    auto net = std::make_unique<Net>(seed(seed_value));
    net->zero_gradients();
    auto& ws = net->workspace();
    const auto output = net->forward(batch.images.data(), n, ws, Pass::training);
    std::vector<float> loss_gradient(n * Net::output_shape::size);
    const BatchLoss loss = detail::network_loss<Net>(output, batch.labels.data(), n, loss_gradient.data());
    net->backward(batch.images.data(), loss_gradient.data(), n, ws, trained_last<Net>);
    set_num_threads(0);
    return {gradient_values(*net), loss};
}

}  // namespace ctnn::testing
