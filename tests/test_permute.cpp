#include <doctest/doctest.h>

#include <vector>

#include "ctnn/layers/permute.hpp"
#include "gradient_check.hpp"

using namespace ctnn;

namespace {
constexpr auto shuffle784 = make_permutation<784>(42);
constexpr auto shuffle12 = make_permutation<12>(3);
constexpr auto identity784 = identity<784>();
}  // namespace

static_assert(std::is_same_v<Permute<shuffle784>::bind<Shape<28, 28, 1>>::output_shape, Shape<28, 28, 1>>);
static_assert(Permute<shuffle784>::parameter_count == 0);
// Different permutations make different architectures (a saved model records which one it was trained with).
static_assert(Permute<shuffle784>::bind<Shape<784>>::fingerprint !=
              Permute<identity784>::bind<Shape<784>>::fingerprint);

TEST_CASE("Permute gathers out(i) = in(perm(i)) and back-propagates by the inverse") {
    using L = Permute<shuffle784>::bind<Shape<28, 28, 1>>;
    L layer;
    Rng rng(1);
    Buffer x(2 * 784), y(2 * 784), back(2 * 784);
    testing::fill_uniform(x, rng);
    L::workspace ws(2);
    layer.forward(x.data(), y.data(), 2, ws, Pass::inference);
    for (std::size_t s = 0; s < 2; ++s)
        for (std::size_t i = 0; i < 784; ++i) REQUIRE(y[s * 784 + i] == x[s * 784 + shuffle784[i]]);
    // Back-propagating y itself lands every value where it came from.
    layer.backward(x.data(), y.data(), y.data(), back.data(), 2, ws);
    for (std::size_t i = 0; i < x.size(); ++i) REQUIRE(back[i] == x[i]);
    testing::check_layer_gradients<Permute<shuffle12>::bind<Shape<2, 3, 2>>>(2, 71);
}

TEST_CASE("A run-time permutation goes through the same gather as Permute<perm>") {
    // Indices as they might come from a file or numpy.
    std::vector<std::uint32_t> indices(shuffle784.index.begin(), shuffle784.index.end());
    const auto runtime = Permutation<784>::from_indices(indices);
    CHECK(runtime == shuffle784);
    using L = Permute<shuffle784>::bind<Shape<784>>;
    L layer;
    Rng rng(2);
    Buffer x(784), from_layer(784), from_runtime(784);
    testing::fill_uniform(x, rng);
    L::workspace ws(1);
    layer.forward(x.data(), from_layer.data(), 1, ws, Pass::inference);
    apply_permutation(std::span<const std::uint32_t>(indices), x.data(), from_runtime.data());
    for (std::size_t i = 0; i < 784; ++i) CHECK(from_layer[i] == from_runtime[i]);
}
