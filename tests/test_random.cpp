#include <doctest/doctest.h>

#include <array>
#include <cmath>

#include "ctnn/core/random.hpp"

using namespace ctnn;

namespace {
constexpr std::uint64_t third_draw(std::uint64_t s) {
    Rng rng(s);
    rng.next();
    rng.next();
    return rng.next();
}
}  // namespace

static_assert(third_draw(1) == third_draw(1));
static_assert(third_draw(1) != third_draw(2));

TEST_CASE("Rng draws have the expected moments: uniform, below, normal") {
    Rng rng(123);
    double sum = 0, sum_sq = 0, nsum = 0, nsum_sq = 0;
    constexpr int n = 200000;
    std::array<int, 7> buckets{};
    for (int i = 0; i < n; ++i) {
        const double u = rng.uniform();
        REQUIRE(u >= 0.0);
        REQUIRE(u < 1.0);
        sum += u;
        sum_sq += u * u;
        ++buckets[rng.below(7)];
        const double z = rng.normal();
        nsum += z;
        nsum_sq += z * z;
    }
    CHECK(sum / n == doctest::Approx(0.5).epsilon(0.01));
    CHECK(sum_sq / n - (sum / n) * (sum / n) == doctest::Approx(1.0 / 12).epsilon(0.02));
    for (int b : buckets) CHECK(b == doctest::Approx(n / 7.0).epsilon(0.03));
    CHECK(std::abs(nsum / n) < 0.01);
    CHECK(nsum_sq / n == doctest::Approx(1.0).epsilon(0.02));
}
