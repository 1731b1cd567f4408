#include <doctest/doctest.h>

#include <cmath>
#include <memory>
#include <vector>

#include "ctnn/ctnn.hpp"
#include "network_values.hpp"
#include "gradient_check.hpp"

using namespace ctnn;

namespace {
using Tiny = Sequential<Input<3>, Dense<3, 2>>;

// Fills every gradient with a value that changes per step, so the moments matter.
void set_gradients(Tiny& net, int step) {
    net.visit_parameters([&](std::size_t, const ParameterView& p) {
        for (std::size_t i = 0; i < p.gradient.size(); ++i)
            p.gradient[i] = std::sin(static_cast<float>(step * 7 + static_cast<int>(i)));
    });
}
}  // namespace

TEST_CASE("Adam follows Kingma & Ba with Keras' epsilon placement, checked in double precision") {
    Tiny net{seed(1)};
    const double lr = 1e-2, b1 = 0.9, b2 = 0.999, eps = 1e-7;
    Adam adam(static_cast<float>(lr));
    const auto initial = testing::parameter_values(net);
    std::vector<double> w(initial.begin(), initial.end()), m(w.size()), v(w.size());
    for (int t = 1; t <= 5; ++t) {
        set_gradients(net, t);
        std::vector<double> g;
        net.visit_parameters([&](std::size_t, const ParameterView& p) {
            for (float x : p.gradient) g.push_back(x);
        });
        adam.step(net);
        const double step = lr * std::sqrt(1 - std::pow(b2, t)) / (1 - std::pow(b1, t));
        for (std::size_t i = 0; i < w.size(); ++i) {
            m[i] = b1 * m[i] + (1 - b1) * g[i];
            v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i];
            w[i] -= step * m[i] / (std::sqrt(v[i]) + eps);
        }
    }
    const auto got = testing::parameter_values(net);
    for (std::size_t i = 0; i < w.size(); ++i) CHECK(got[i] == doctest::Approx(w[i]).epsilon(1e-5));
    CHECK(adam.steps() == 5);
}

TEST_CASE("Adam's first step moves every parameter by about the learning rate") {
    Tiny net{seed(2)};
    const auto before = testing::parameter_values(net);
    set_gradients(net, 1);
    Adam adam(1e-3f);
    adam.step(net);
    const auto after = testing::parameter_values(net);
    for (std::size_t i = 0; i < before.size(); ++i)
        CHECK(std::abs(after[i] - before[i]) == doctest::Approx(1e-3).epsilon(1e-2));
}

TEST_CASE("Adam's update of a large tensor is split across threads without changing a bit") {
    using Wide = Sequential<Input<1000>, Dense<1000, 600>>;  // 600,000 weights: above the split threshold
    // from_team: every thread of a parallel_team calls step(net, team), as train_step's row split does.
    auto run = [](int threads, bool from_team) {
        set_num_threads(threads);
        auto net = std::make_unique<Wide>(seed(3));
        Adam adam(1e-3f);
        for (int step = 1; step <= 3; ++step) {
            net->visit_parameters([&](std::size_t, const ParameterView& p) {
                for (std::size_t i = 0; i < p.gradient.size(); ++i)
                    p.gradient[i] = std::sin(static_cast<float>(step + static_cast<int>(i)));
            });
            if (from_team) parallel_team(2, [&](const Team& team) { adam.step(*net, team); });
            else adam.step(*net);
        }
        set_num_threads(0);
        CHECK(adam.steps() == 3);
        return testing::parameter_values(*net);
    };
    const std::vector<float> serial = run(1, false);
    CHECK(serial == run(2, false));
    CHECK(serial == run(2, true));
    CHECK(serial == run(1, true));
    auto initial = std::make_unique<Wide>(seed(3));
    const std::vector<float> before = testing::parameter_values(*initial);
    std::size_t moved = 0;
    for (std::size_t i = 0; i < serial.size(); ++i) moved += serial[i] != before[i];
    CHECK(moved == serial.size());  // the steps moved every parameter
}
