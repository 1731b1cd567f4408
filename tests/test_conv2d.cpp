#include <doctest/doctest.h>

#include <memory>

#include "ctnn/layers/conv2d.hpp"
#include "ctnn/layers/dense.hpp"
#include "gradient_check.hpp"
#include "reference_layers.hpp"

using namespace ctnn;

static_assert(Conv2D<3, 3, 1, 32>::parameter_count == 320);  // 3*3*1*32 weights + 32 biases
static_assert(Dense<784, 128>::parameter_count / Conv2D<3, 3, 1, 32>::parameter_count == 314);
static_assert(std::is_same_v<Conv2D<3, 3, 1, 32>::bind<Shape<28, 28, 1>>::output_shape, Shape<26, 26, 32>>);
static_assert(std::is_same_v<Conv2D<3, 3, 32, 64>::bind<Shape<26, 26, 32>>::output_shape, Shape<24, 24, 64>>);
// Stride 2, valid: floor((9 - 3) / 2) + 1 = 4; same: ceil(9 / 2) = 5, as TensorFlow.
static_assert(std::is_same_v<Conv2D<3, 3, 2, 4, 2>::bind<Shape<9, 8, 2>>::output_shape, Shape<4, 3, 4>>);
static_assert(std::is_same_v<Conv2D<3, 3, 2, 4, 2, Padding::same>::bind<Shape<9, 8, 2>>::output_shape,
                             Shape<5, 4, 4>>);
// TensorFlow's split: total padding 2 for 9 rows (stride 2, kernel 3) -> 1 on top; 1 for 8 columns -> 0 left.
static_assert(Conv2D<3, 3, 2, 4, 2, Padding::same>::bind<Shape<9, 8, 2>>::geometry.pad_top == 1);
static_assert(Conv2D<3, 3, 2, 4, 2, Padding::same>::bind<Shape<9, 8, 2>>::geometry.pad_left == 0);
static_assert(std::is_same_v<Conv2D<5, 5, 1, 2, 1, Padding::same>::bind<Shape<3, 3, 1>>::output_shape,
                             Shape<3, 3, 2>>);  // same padding accepts a kernel larger than the image

namespace {

template <class Spec, class InShape>
void check_conv_forward(std::size_t n, std::uint64_t seed_value) {
    using L = typename Spec::template bind<InShape>;
    Rng rng(seed_value);
    auto layer = std::make_unique<L>();
    layer->initialize(rng, Initializer::he_normal);
    testing::fill_uniform(flat(layer->bias), rng);
    Buffer x(n * InShape::size), y(n * L::output_shape::size);
    testing::fill_uniform(x, rng);
    typename L::workspace ws(n);
    layer->forward(x.data(), y.data(), n, ws, Pass::inference);
    const auto g = L::geometry;
    const reference::ConvShape s{g.in_height,   g.in_width, g.channels, g.kernel_height, g.kernel_width,
                                 Spec::out_channels, g.stride, g.pad_top,   g.pad_left,      g.out_height,
                                 g.out_width};
    const auto expected = reference::conv2d(s, x.data(), layer->weights.data(), layer->bias.data(), n);
    REQUIRE(expected.size() == y.size());
    for (std::size_t i = 0; i < y.size(); ++i) REQUIRE(y[i] == doctest::Approx(expected[i]).epsilon(1e-4));
}

}  // namespace

TEST_CASE("Conv2D forward matches a direct convolution") {
    check_conv_forward<Conv2D<3, 3, 1, 32>, Shape<28, 28, 1>>(3, 1);
    check_conv_forward<Conv2D<3, 3, 32, 64>, Shape<26, 26, 32>>(2, 2);
    check_conv_forward<Conv2D<3, 3, 3, 7>, Shape<9, 11, 3>>(5, 3);
    check_conv_forward<Conv2D<3, 3, 3, 7, 2>, Shape<9, 11, 3>>(1, 4);
    check_conv_forward<Conv2D<3, 3, 3, 7, 2, Padding::same>, Shape<9, 11, 3>>(2, 5);
    check_conv_forward<Conv2D<5, 3, 2, 5, 1, Padding::same>, Shape<7, 7, 2>>(3, 6);
    check_conv_forward<Conv2D<1, 1, 31, 33>, Shape<3, 5, 31>>(2, 7);
    check_conv_forward<Conv2D<2, 2, 1, 1, 3>, Shape<7, 7, 1>>(1, 8);
}

TEST_CASE("Conv2D gradients match finite differences (valid, same, strided)") {
    testing::check_layer_gradients<Conv2D<3, 3, 1, 4>::bind<Shape<6, 5, 1>>>(2, 21);
    testing::check_layer_gradients<Conv2D<3, 3, 3, 5, 2>::bind<Shape<7, 8, 3>>>(2, 22);
    testing::check_layer_gradients<Conv2D<3, 3, 2, 3, 2, Padding::same>::bind<Shape<7, 6, 2>>>(3, 23);
    testing::check_layer_gradients<Conv2D<5, 3, 2, 2, 1, Padding::same>::bind<Shape<4, 4, 2>>>(1, 24);
}

TEST_CASE("Conv2D skips the input gradient when asked, without changing the weight gradients") {
    using L = Conv2D<3, 3, 2, 4>::bind<Shape<6, 6, 2>>;
    Rng rng(9);
    auto a = std::make_unique<L>(), b = std::make_unique<L>();
    a->initialize(rng, Initializer::glorot_uniform);
    *b = *a;
    Buffer x(3 * 72), y(3 * L::output_shape::size), dy(3 * L::output_shape::size), dx(3 * 72);
    testing::fill_uniform(x, rng);
    testing::fill_uniform(dy, rng);
    L::workspace ws(3);
    a->forward(x.data(), y.data(), 3, ws, Pass::training);
    a->backward(x.data(), y.data(), dy.data(), dx.data(), 3, ws);
    b->backward(x.data(), y.data(), dy.data(), nullptr, 3, ws);
    for (std::size_t i = 0; i < a->weights_gradient.size(); ++i)
        CHECK(a->weights_gradient.data()[i] == doctest::Approx(b->weights_gradient.data()[i]));
}
