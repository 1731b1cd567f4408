#include <doctest/doctest.h>

#include <cmath>
#include <memory>
#include <vector>

#include "ctnn/ctnn.hpp"
#include "network_values.hpp"

using namespace ctnn;

namespace {
using Tiny = Sequential<Input<2>, Dense<2, 2>>;

void run(bool nesterov, float momentum) {
    Tiny net{seed(1)};
    std::vector<double> w, velocity;
    net.visit_parameters([&](std::size_t, const ParameterView& p) { for (float value : p.value) w.push_back(value); });
    velocity.assign(w.size(), 0.0);
    SGD sgd(0.1f, momentum, nesterov);
    for (int t = 0; t < 4; ++t) {
        std::vector<double> g;
        net.visit_parameters([&](std::size_t, const ParameterView& p) {
            for (std::size_t i = 0; i < p.gradient.size(); ++i) {
                p.gradient[i] = std::cos(static_cast<float>(t * 3 + static_cast<int>(i)));
                g.push_back(p.gradient[i]);
            }
        });
        sgd.step(net);
        for (std::size_t i = 0; i < w.size(); ++i) {  // Keras: v = m v - lr g; w += v (or m v - lr g)
            velocity[i] = momentum * velocity[i] - 0.1 * g[i];
            w[i] += nesterov ? momentum * velocity[i] - 0.1 * g[i] : velocity[i];
        }
    }
    const std::vector<float> got = testing::parameter_values(net);
    for (std::size_t i = 0; i < w.size(); ++i) CHECK(got[i] == doctest::Approx(w[i]).epsilon(1e-5));
}
}  // namespace

TEST_CASE("SGD: plain, momentum and Nesterov momentum follow Keras' update rules") {
    run(false, 0.0f);
    run(false, 0.9f);
    run(true, 0.9f);
}

TEST_CASE("SGD with momentum from every thread of a team equals the serial update, bit for bit") {
    using Wide = Sequential<Input<1000>, Dense<1000, 600>>;  // 600,000 weights: split between the threads
    auto run_steps = [](int threads, bool from_team) {
        set_num_threads(threads);
        auto net = std::make_unique<Wide>(seed(4));
        SGD sgd(0.05f, 0.9f, true);
        for (int step = 1; step <= 3; ++step) {
            net->visit_parameters([&](std::size_t, const ParameterView& p) {
                for (std::size_t i = 0; i < p.gradient.size(); ++i)
                    p.gradient[i] = std::cos(static_cast<float>(step * 7 + static_cast<int>(i)));
            });
            if (from_team) parallel_team(2, [&](const Team& team) { sgd.step(*net, team); });
            else sgd.step(*net);
        }
        set_num_threads(0);
        return testing::parameter_values(*net);
    };
    const std::vector<float> serial = run_steps(1, false);
    CHECK(serial == run_steps(2, true));
    CHECK(serial == run_steps(1, true));
    auto untouched = std::make_unique<Wide>(seed(4));
    CHECK(serial != testing::parameter_values(*untouched));
}
