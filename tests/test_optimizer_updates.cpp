#include "ctnn/kernels/optimizer_updates.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <cstddef>
#include <limits>
#include <vector>

#include "reference_kernels.hpp"

using ctnn::reference::random_vector;

// Inputs are O(1): errors are absolute, from cancellation in the moment updates.
TEST_CASE("adam_update matches the scalar formula") {
    for (std::size_t n : {1, 7, 31, 33, 127, 1000}) {
        auto w = random_vector(n, 1), m = random_vector(n, 2), v = random_vector(n, 3, 0.0f, 1.0f);
        const auto g = random_vector(n, 4);
        auto w0 = w, m0 = m, v0 = v;
        ctnn::kernels::adam_update(w.data(), g.data(), m.data(), v.data(), n, 1e-3f, 0.9f, 0.999f, 1e-7f);
        for (std::size_t i = 0; i < n; ++i) {
            const double mi = 0.9 * m0[i] + 0.1 * g[i];
            const double vi = 0.999 * v0[i] + 0.001 * g[i] * static_cast<double>(g[i]);
            const double wi = w0[i] - 1e-3 * mi / (std::sqrt(vi) + 1e-7);
            CHECK(m[i] == doctest::Approx(mi).epsilon(1e-6).scale(1.0));
            CHECK(v[i] == doctest::Approx(vi).epsilon(1e-6).scale(1.0));
            CHECK(w[i] == doctest::Approx(wi).epsilon(1e-6).scale(1.0));
        }
    }
}

TEST_CASE("sgd_momentum_update, plain and Nesterov") {
    for (bool nesterov : {false, true})
        for (std::size_t n : {1, 7, 31, 33, 127}) {
            auto w = random_vector(n, 5), vel = random_vector(n, 6);
            const auto g = random_vector(n, 7);
            auto w0 = w, vel0 = vel;
            ctnn::kernels::sgd_momentum_update(w.data(), g.data(), vel.data(), n, 0.01f, 0.9f, nesterov);
            for (std::size_t i = 0; i < n; ++i) {
                const double vi = 0.9 * vel0[i] - 0.01 * g[i];
                const double wi = w0[i] + (nesterov ? 0.9 * vi - 0.01 * g[i] : vi);
                CHECK(vel[i] == doctest::Approx(vi).epsilon(1e-6).scale(1.0));
                CHECK(w[i] == doctest::Approx(wi).epsilon(1e-6).scale(1.0));
            }
        }
}

// A moment that would become subnormal (0.9 * 1.2e-38) is flushed to zero, and the caller's floating-point
// mode is left as it was: a subnormal computed after the update is still subnormal.
TEST_CASE("the optimiser updates flush subnormal moments and restore the floating-point mode") {
    constexpr std::size_t n = 33;
    const float smallest_normal = std::numeric_limits<float>::min();
    std::vector<float> w(n, 0.5f), g(n, 0.0f), m(n, smallest_normal), v(n, 1.0f);
    ctnn::kernels::adam_update(w.data(), g.data(), m.data(), v.data(), n, 1e-3f, 0.9f, 0.999f, 1e-7f);
    for (std::size_t i = 0; i < n; ++i) {
        CHECK(m[i] == 0.0f);
        CHECK(v[i] == doctest::Approx(0.999));
        CHECK(w[i] == 0.5f);
    }
    std::vector<float> velocity(n, smallest_normal);
    ctnn::kernels::sgd_momentum_update(w.data(), g.data(), velocity.data(), n, 0.01f, 0.9f, false);
    for (std::size_t i = 0; i < n; ++i) CHECK(velocity[i] == 0.0f);

    volatile float tiny = smallest_normal;  // volatile: computed at run time, under the current mode
    const float after = tiny * 0.5f;
    CHECK(after > 0.0f);
    CHECK(std::fpclassify(after) == FP_SUBNORMAL);
}
