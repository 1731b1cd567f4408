#include <doctest/doctest.h>

#include "ctnn/layers/max_pool2d.hpp"
#include "gradient_check.hpp"
#include "reference_layers.hpp"

using namespace ctnn;

static_assert(std::is_same_v<MaxPool2D<2>::bind<Shape<26, 26, 32>>::output_shape, Shape<13, 13, 32>>);
static_assert(std::is_same_v<MaxPool2D<2>::bind<Shape<7, 9, 3>>::output_shape, Shape<3, 4, 3>>);  // floor
static_assert(std::is_same_v<MaxPool2D<3, 2>::bind<Shape<7, 9, 3>>::output_shape, Shape<3, 4, 3>>);
static_assert(MaxPool2D<2>::parameter_count == 0);

namespace {
template <std::size_t K, std::size_t S, class InShape>
void check_pool_forward(std::size_t n) {
    using L = typename MaxPool2D<K, S>::template bind<InShape>;
    Rng rng(K * 10 + S);
    L layer;
    Buffer x(n * InShape::size), y(n * L::output_shape::size);
    testing::fill_uniform(x, rng);
    typename L::workspace ws(n);
    layer.forward(x.data(), y.data(), n, ws, Pass::inference);
    const auto expected =
        reference::max_pool(x.data(), n, InShape::dims[0], InShape::dims[1], InShape::dims[2], K, S);
    REQUIRE(expected.size() == y.size());
    for (std::size_t i = 0; i < y.size(); ++i) REQUIRE(y[i] == expected[i]);
}
}  // namespace

TEST_CASE("MaxPool2D forward matches the naive maximum") {
    check_pool_forward<2, 2, Shape<26, 26, 32>>(3);
    check_pool_forward<2, 2, Shape<7, 9, 3>>(2);
    check_pool_forward<3, 2, Shape<7, 9, 3>>(2);
    check_pool_forward<3, 1, Shape<5, 5, 1>>(1);
    check_pool_forward<1, 1, Shape<3, 3, 33>>(1);
}

TEST_CASE("MaxPool2D gradients match finite differences") {
    // Small steps: a perturbation must not change which input wins a window.
    testing::GradientTolerance tol;
    tol.step = 1e-3f;
    testing::check_layer_gradients<MaxPool2D<2>::bind<Shape<6, 7, 3>>>(2, 31, tol);
    testing::check_layer_gradients<MaxPool2D<3, 2>::bind<Shape<7, 7, 2>>>(2, 32, tol);  // overlapping windows
}
