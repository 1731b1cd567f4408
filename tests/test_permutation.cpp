#include <doctest/doctest.h>

#include <stdexcept>
#include <vector>

#include "ctnn/core/permutation.hpp"

using namespace ctnn;

namespace {
constexpr auto p = make_permutation<784>(42);
constexpr auto q = make_permutation<784>(7);
}  // namespace

// Proven by the compiler, for the size the experiment uses.
static_assert(is_bijection(p));
static_assert(is_bijection(inverse(p)));
static_assert(compose(inverse(p), p) == identity<784>());
static_assert(compose(p, inverse(p)) == identity<784>());
static_assert(p != identity<784>());
static_assert(p == make_permutation<784>(42));  // same seed, same permutation
static_assert(p != q);
static_assert(compose(compose(p, q), inverse(q)) == p);
static_assert(!is_bijection(std::array<std::uint32_t, 3>{0, 0, 1}));
static_assert(!is_bijection(std::array<std::uint32_t, 3>{0, 1, 3}));

TEST_CASE("compose(a, b) applies b first, then a") {
    constexpr auto a = make_permutation<10>(1), b = make_permutation<10>(2);
    float x[10], ab[10], tmp[10], a_of_b[10];
    for (int i = 0; i < 10; ++i) x[i] = static_cast<float>(i);
    apply_permutation(compose(a, b), x, ab);
    apply_permutation(b, x, tmp);
    apply_permutation(a, tmp, a_of_b);
    for (int i = 0; i < 10; ++i) CHECK(ab[i] == a_of_b[i]);
}

TEST_CASE("make_permutation looks uniform: every position moves about equally often") {
    // Over 2000 seeds each of 8 values lands in each of 8 slots ~250 times.
    std::array<std::array<int, 8>, 8> counts{};
    for (std::uint64_t s = 0; s < 2000; ++s) {
        const auto perm = make_permutation<8>(s);
        for (std::size_t i = 0; i < 8; ++i) ++counts[i][perm[i]];
    }
    for (const auto& row : counts)
        for (int c : row) CHECK(c == doctest::Approx(250).epsilon(0.25));
}

TEST_CASE("applying a permutation to a batch and its transpose restores the batch") {
    const auto perm = make_permutation<6>(9);
    float x[12], y[12], back[12];
    for (int i = 0; i < 12; ++i) x[i] = static_cast<float>(i);
    apply_permutation(perm, x, y, 2);
    apply_permutation_transposed(std::span<const std::uint32_t>(perm.index), y, back, 2);
    for (int i = 0; i < 12; ++i) CHECK(back[i] == x[i]);
    apply_permutation(inverse(perm), y, back, 2);
    for (int i = 0; i < 12; ++i) CHECK(back[i] == x[i]);
}

TEST_CASE("Permutation::from_indices validates run-time indices") {
    const std::vector<std::uint32_t> good{2, 0, 1}, repeated{0, 0, 1}, out_of_range{0, 1, 3}, short_list{0, 1};
    CHECK(Permutation<3>::from_indices(good).index == std::array<std::uint32_t, 3>{2, 0, 1});
    CHECK_THROWS_AS(Permutation<3>::from_indices(repeated), std::invalid_argument);
    CHECK_THROWS_AS(Permutation<3>::from_indices(out_of_range), std::invalid_argument);
    CHECK_THROWS_AS(Permutation<3>::from_indices(short_list), std::invalid_argument);
    CHECK(is_bijection(std::span<const std::uint32_t>(good)));
    CHECK_FALSE(is_bijection(std::span<const std::uint32_t>(repeated)));
}
