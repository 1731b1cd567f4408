#include <doctest/doctest.h>

#include "ctnn/layers/max_pool2d.hpp"
#include "ctnn/layers/relu.hpp"
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

TEST_CASE("max-pooling then ReLU (the form Sequential runs) equals ReLU then max-pooling, values and gradients") {
    using Pool = MaxPool2D<2>::bind<Shape<6, 6, 20>>;
    using Relu = ReLU::bind<Shape<6, 6, 20>>;
    constexpr std::size_t n = 3, in = 6 * 6 * 20, out = 3 * 3 * 20;
    Rng rng(5);
    Buffer x(n * in), relu_out(n * in), pooled(n * out), fused(n * out), dy(n * out), d_relu(n * in), dx(n * in),
        dx_fused(n * in);
    testing::fill_uniform(x, rng);  // about half negative: whole windows <= 0 occur
    testing::fill_uniform(dy, rng);
    Pool pool;
    Relu relu;
    Pool::workspace pool_ws(n), fused_ws(n);
    Relu::workspace relu_ws(n);
    relu.forward(x.data(), relu_out.data(), n, relu_ws, Pass::training);
    pool.forward(relu_out.data(), pooled.data(), n, pool_ws, Pass::training);
    pool.forward_then<ReLU::activation>(x.data(), fused.data(), n, fused_ws);
    for (std::size_t i = 0; i < fused.size(); ++i) REQUIRE(fused[i] == pooled[i]);
    pool.backward(relu_out.data(), pooled.data(), dy.data(), d_relu.data(), n, pool_ws);
    relu.backward(x.data(), relu_out.data(), d_relu.data(), dx.data(), n, relu_ws);
    pool.backward_then<ReLU::activation>(fused.data(), dy.data(), dx_fused.data(), n, fused_ws);
    for (std::size_t i = 0; i < dx.size(); ++i) REQUIRE(dx_fused[i] == dx[i]);
}
