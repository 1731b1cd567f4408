#pragma once
// Stochastic gradient descent with optional (Nesterov) momentum, Keras' formulation.

#include <cstddef>

#include "ctnn/core/parallel.hpp"
#include "ctnn/kernels/optimizer_updates.hpp"
#include "ctnn/layers/layer.hpp"
#include "ctnn/train/optimizer_state.hpp"

namespace ctnn {

class SGD {
public:
    explicit SGD(float learning_rate = 1e-2f, float momentum = 0.0f, bool nesterov = false)
        : learning_rate_(learning_rate), momentum_(momentum), nesterov_(nesterov) {}

    template <class Net>
    void step(Net& net) {
        state_.prepare(net);
        update(net, [](std::size_t /*layer*/, std::size_t n, auto&& f) { detail::for_each_range(n, f); });
    }
    // The same update, called by every thread of a parallel_team (the training engine's row split), each doing its
    // share (UpdateShares: an even split of large tensors unless one tensor is assigned otherwise); no parallel
    // region of its own.
    template <class Net>
    void step(Net& net, const Team& team, const UpdateShares& shares = {}) {
        if (team.thread() == 0) begin_step(net);
        team.sync();
        update(net, team, shares);
    }

    // ---- the update in pieces, for the training engine's fused step (train/fused_update.hpp); as Adam's ----
    template <class Net>
    void begin_step(Net& net) {
        state_.prepare(net);
    }
    void update_elements(std::size_t tensor, const ParameterView& p, Range elements,
                         const float* gradient = nullptr) noexcept {
        const std::size_t b = elements.begin;
        kernels::sgd_momentum_update(p.value.data() + b, gradient != nullptr ? gradient : p.gradient.data() + b,
                                     state_.of(tensor)[0] + b, elements.end - elements.begin, learning_rate_,
                                     momentum_, nesterov_);
    }
    template <class Net>
    void update(Net& net, const Team& team, const UpdateShares& shares) {
        update(net, [&](std::size_t layer, std::size_t n, auto&& f) { shares.for_share(team, layer, n, f); });
    }

    float learning_rate() const noexcept { return learning_rate_; }
    void set_learning_rate(float lr) noexcept { learning_rate_ = lr; }
    void reset() { state_.reset(); }

private:
    template <class Net, class Split>
    void update(Net& net, Split&& split) {
        std::size_t index = 0;
        net.visit_parameters([&](std::size_t layer, const ParameterView& p) {
            const std::size_t tensor = index++;
            split(layer, p.value.size(),
                  [&](std::size_t begin, std::size_t end) { update_elements(tensor, p, Range{begin, end}); });
        });
    }

    float learning_rate_, momentum_;
    bool nesterov_;
    detail::OptimizerState<1> state_;
};

}  // namespace ctnn
