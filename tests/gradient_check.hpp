#pragma once
// The one numerical-gradient checker every layer and network goes through (central differences).
// The loss is L = sum_i r_i * y_i for a fixed random r, so dL/dy = r exercises every output.

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "ctnn/core/buffer.hpp"
#include "ctnn/core/random.hpp"
#include "ctnn/layers/layer.hpp"

namespace ctnn::testing {

struct GradientTolerance {
    float step = 1e-2f;        // central-difference step: large enough that float rounding stays small
    double absolute = 2e-3;
    double relative = 2e-2;
    std::size_t samples = 24;  // coordinates checked per tensor (random subset)
};

// Compares analytic[i] with (loss(values[i] + h) - loss(values[i] - h)) / 2h on a random subset of i.
// ReLU and max-pooling make the loss piecewise smooth: when a kink lies within h of the point, the left and
// right slopes disagree and finite differences say nothing there. Such coordinates are skipped, but at most a
// third of them, so a wrong gradient cannot hide behind this rule.
template <class Loss>
void check_coordinates(std::string_view what, std::span<float> values, std::span<const float> analytic,
                       Loss&& loss, Rng& rng, const GradientTolerance& tol) {
    REQUIRE(values.size() == analytic.size());
    const std::size_t count = std::min(tol.samples, values.size());
    std::size_t kinks = 0;
    for (std::size_t s = 0; s < count; ++s) {
        const std::size_t i = count == values.size() ? s : static_cast<std::size_t>(rng.below(values.size()));
        const float saved = values[i];
        const double center = loss();
        values[i] = saved + tol.step;
        const double up = loss();
        values[i] = saved - tol.step;
        const double down = loss();
        values[i] = saved;
        const double h = tol.step;
        const double numeric = (up - down) / (2.0 * h);
        const double exact = analytic[i];
        const double allowed = tol.absolute + tol.relative * std::abs(exact);
        const double right = (up - center) / h, left = (center - down) / h;
        if (std::abs(numeric - exact) > allowed && std::abs(right - left) > 2 * allowed) {
            ++kinks;
            continue;
        }
        INFO(what, " coordinate ", i, ": analytic ", exact, " numeric ", numeric);
        CHECK(std::abs(numeric - exact) <= allowed);
    }
    INFO(what, ": ", kinks, " of ", count, " coordinates sit on a kink");
    CHECK(kinks * 3 <= count);
}

inline double weighted_sum(std::span<const float> y, std::span<const float> r) {
    double total = 0.0;
    for (std::size_t i = 0; i < y.size(); ++i) total += static_cast<double>(y[i]) * static_cast<double>(r[i]);
    return total;
}

inline void fill_uniform(std::span<float> v, Rng& rng, float low = -1.0f, float high = 1.0f) {
    for (float& x : v) x = rng.uniform(low, high);
}

// Checks a bound layer's input and parameter gradients on a batch of n random samples.
template <BoundLayer L>
void check_layer_gradients(std::size_t n, std::uint64_t seed_value, GradientTolerance tol = {}) {
    using In = typename L::input_shape;
    using Out = typename L::output_shape;
    Rng rng(seed_value);
    auto layer = std::make_unique<L>();
    layer->initialize(rng, Initializer::glorot_uniform);
    // Non-zero biases so that their effect is visible.
    layer->visit_parameters([&](const ParameterView& p) {
        if (p.name == "bias") fill_uniform(p.value, rng, -0.5f, 0.5f);
    });
    Buffer x(n * In::size), y(n * Out::size), r(n * Out::size), dx(n * In::size);
    fill_uniform(x, rng);
    fill_uniform(r, rng);
    typename L::workspace ws(n);
    const typename L::workspace fresh = ws;  // replayed before every forward: same dropout mask each time

    auto loss = [&] {
        ws = fresh;
        layer->forward(x.data(), y.data(), n, ws, Pass::training);
        return weighted_sum(y, r);
    };
    loss();
    layer->backward(x.data(), y.data(), r.data(), dx.data(), n, ws);

    check_coordinates(L::name() + " input", std::span<float>(x), std::span<const float>(dx), loss, rng, tol);
    layer->visit_parameters([&](const ParameterView& p) {
        const std::vector<float> analytic(p.gradient.begin(), p.gradient.end());
        check_coordinates(L::name() + " " + std::string(p.name), p.value, analytic, loss, rng, tol);
    });
}

// Checks a whole network's parameter gradients (and its input gradient) through Sequential::backward.
template <class Net>
void check_network_gradients(Net& net, std::size_t n, std::uint64_t seed_value, GradientTolerance tol = {}) {
    using In = typename Net::input_shape;
    using Out = typename Net::output_shape;
    Rng rng(seed_value);
    Buffer x(n * In::size), r(n * Out::size), dx(n * In::size);
    fill_uniform(x, rng, 0.0f, 1.0f);
    fill_uniform(r, rng);
    typename Net::Workspace ws(n);
    const typename Net::Workspace fresh = ws;  // replayed before every forward: same dropout masks each time
    auto loss = [&] {
        ws = fresh;
        return weighted_sum(net.forward(x.data(), n, ws, Pass::training), r);
    };
    loss();
    net.zero_gradients();
    net.backward(x.data(), r.data(), n, ws, Net::layer_count - 1, dx.data());
    check_coordinates("network input", std::span<float>(x), std::span<const float>(dx), loss, rng, tol);
    net.visit_parameters([&](std::size_t layer, const ParameterView& p) {
        const std::vector<float> analytic(p.gradient.begin(), p.gradient.end());
        check_coordinates("layer " + std::to_string(layer) + " " + std::string(p.name), p.value, analytic, loss,
                          rng, tol);
    });
}

}  // namespace ctnn::testing
