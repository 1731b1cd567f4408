#pragma once
// Adam with Keras' defaults (learning rate 1e-3, beta1 0.9, beta2 0.999, epsilon 1e-7).

#include <cmath>
#include <cstddef>

#include "ctnn/core/parallel.hpp"
#include "ctnn/kernels/optimizer_updates.hpp"
#include "ctnn/layers/layer.hpp"
#include "ctnn/train/optimizer_state.hpp"

namespace ctnn {

class Adam {
public:
    explicit Adam(float learning_rate = 1e-3f, float beta1 = 0.9f, float beta2 = 0.999f, float epsilon = 1e-7f)
        : learning_rate_(learning_rate), beta1_(beta1), beta2_(beta2), epsilon_(epsilon) {}

    // One update of every parameter of `net` from its accumulated gradients.
    template <class Net>
    void step(Net& net) {
        begin_step(net);
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

    // ---- the update in pieces, for the training engine's fused step (train/fused_update.hpp) ----
    // begin_step once per step, on one thread, before any update of that step; update_elements on a range of
    // one tensor as soon as its gradient there is final (disjoint ranges may run on different threads); update
    // on every thread of a team for the rest (UpdateShares gives a tensor updated in pieces an empty range).
    // Each element's result is that of step(): the update is element-wise.
    template <class Net>
    void begin_step(Net& net) {
        state_.prepare(net);
        ++steps_;
        const double t = static_cast<double>(steps_);
        step_size_ = static_cast<float>(learning_rate_ * std::sqrt(1.0 - std::pow(beta2_, t)) /
                                        (1.0 - std::pow(beta1_, t)));
    }
    // Elements [elements.begin, elements.end) of the tensor-th parameter tensor (visit_parameters order), p,
    // from p's gradient, or from `gradient` (the gradient of element elements.begin onwards) when given.
    void update_elements(std::size_t tensor, const ParameterView& p, Range elements,
                         const float* gradient = nullptr) noexcept {
        const auto state = state_.of(tensor);
        const std::size_t b = elements.begin;
        kernels::adam_update(p.value.data() + b, gradient != nullptr ? gradient : p.gradient.data() + b, state[0] + b,
                             state[1] + b, elements.end - elements.begin, step_size_, beta1_, beta2_, epsilon_);
    }
    template <class Net>
    void update(Net& net, const Team& team, const UpdateShares& shares) {
        update(net, [&](std::size_t layer, std::size_t n, auto&& f) { shares.for_share(team, layer, n, f); });
    }

    float learning_rate() const noexcept { return learning_rate_; }
    void set_learning_rate(float lr) noexcept { learning_rate_ = lr; }
    std::size_t steps() const noexcept { return steps_; }
    void reset() {
        steps_ = 0;
        state_.reset();
    }

private:
    // Keras' form of the bias correction (begin_step): step = lr * sqrt(1 - beta2^t) / (1 - beta1^t), epsilon
    // added to sqrt(v) unscaled.
    template <class Net, class Split>
    void update(Net& net, Split&& split) {
        std::size_t index = 0;
        net.visit_parameters([&](std::size_t layer, const ParameterView& p) {
            const std::size_t tensor = index++;
            split(layer, p.value.size(),
                  [&](std::size_t begin, std::size_t end) { update_elements(tensor, p, Range{begin, end}); });
        });
    }

    float learning_rate_, beta1_, beta2_, epsilon_;
    float step_size_ = 0.0f;
    std::size_t steps_ = 0;
    detail::OptimizerState<2> state_;
};

}  // namespace ctnn
