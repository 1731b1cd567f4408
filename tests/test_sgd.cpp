#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "ctnn/ctnn.hpp"

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
    std::vector<float> got;
    net.visit_parameters([&](std::size_t, const ParameterView& p) { for (float value : p.value) got.push_back(value); });
    for (std::size_t i = 0; i < w.size(); ++i) CHECK(got[i] == doctest::Approx(w[i]).epsilon(1e-5));
}
}  // namespace

TEST_CASE("SGD: plain, momentum and Nesterov momentum follow Keras' update rules") {
    run(false, 0.0f);
    run(false, 0.9f);
    run(true, 0.9f);
}
