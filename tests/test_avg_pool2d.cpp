#include <doctest/doctest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <vector>

#include "ctnn/ctnn.hpp"
#include "ctnn/layers/avg_pool2d.hpp"
#include "gradient_check.hpp"
#include "idx_writer.hpp"  // TempDir
#include "train_and_reload.hpp"

using namespace ctnn;

static_assert(std::is_same_v<AvgPool2D<2>::bind<Shape<26, 26, 32>>::output_shape, Shape<13, 13, 32>>);
static_assert(std::is_same_v<AvgPool2D<2>::bind<Shape<7, 9, 3>>::output_shape, Shape<3, 4, 3>>);  // floor
static_assert(std::is_same_v<AvgPool2D<3, 2>::bind<Shape<7, 9, 3>>::output_shape, Shape<3, 4, 3>>);
static_assert(std::is_same_v<AvgPool2D<3, 1>::bind<Shape<5, 6, 1>>::output_shape, Shape<3, 4, 1>>);
static_assert(std::is_same_v<AvgPool2D<2, 3>::bind<Shape<8, 7, 2>>::output_shape, Shape<3, 2, 2>>);  // gaps
static_assert(std::is_same_v<AvgPool2D<5, 2>::bind<Shape<5, 5, 4>>::output_shape, Shape<1, 1, 4>>);
static_assert(AvgPool2D<2>::parameter_count == 0 && AvgPool2D<3, 2>::parameter_count == 0);
static_assert(AvgPool2D<2>::bind<Shape<7, 9, 3>>::parameter_count == 0);
static_assert(AvgPool2D<2>::bind<Shape<7, 9, 3>>::state_count == 0);
static_assert(BoundLayer<AvgPool2D<3, 2>::bind<Shape<7, 9, 3>>>);
static_assert(flops_per_sample_of<AvgPool2D<3, 2>::bind<Shape<7, 9, 3>>>() == 9 * 3 * 4 * 3);
// A mean does not commute with ReLU: the layer must not offer to absorb one.
static_assert(!AbsorbsActivation<AvgPool2D<2>::bind<Shape<8, 8, 4>>, ReLU::activation>);
// The fingerprint changes with the window, the stride and the kind.
static_assert(AvgPool2D<2>::bind<Shape<8, 8, 4>>::fingerprint != AvgPool2D<2, 1>::bind<Shape<8, 8, 4>>::fingerprint);
static_assert(AvgPool2D<2>::bind<Shape<8, 8, 4>>::fingerprint != AvgPool2D<3, 2>::bind<Shape<8, 8, 4>>::fingerprint);
static_assert(AvgPool2D<2>::bind<Shape<8, 8, 4>>::fingerprint != MaxPool2D<2>::bind<Shape<8, 8, 4>>::fingerprint);

namespace {

// Straight from the definition, in double: y[b, oy, ox, c] = (1 / K^2) sum_{ky, kx < K} x[b, oy*S + ky, ox*S + kx, c].
// `magnitude` is the same mean of |x|: the scale of the float rounding in a sum of terms of both signs.
struct Reference {
    std::vector<double> value, magnitude;
};

Reference reference_avg_pool(const float* x, std::size_t n, std::size_t height, std::size_t width, std::size_t channels,
                             std::size_t k, std::size_t stride) {
    const std::size_t out_height = (height - k) / stride + 1, out_width = (width - k) / stride + 1;
    Reference r;
    r.value.assign(n * out_height * out_width * channels, 0.0);
    r.magnitude.assign(r.value.size(), 0.0);
    for (std::size_t b = 0; b < n; ++b)
        for (std::size_t c = 0; c < channels; ++c)
            for (std::size_t oy = 0; oy < out_height; ++oy)
                for (std::size_t ox = 0; ox < out_width; ++ox) {
                    double sum = 0.0, abs_sum = 0.0;
                    for (std::size_t ky = 0; ky < k; ++ky)
                        for (std::size_t kx = 0; kx < k; ++kx) {
                            const double v =
                                x[((b * height + oy * stride + ky) * width + ox * stride + kx) * channels + c];
                            sum += v;
                            abs_sum += std::abs(v);
                        }
                    const std::size_t o = ((b * out_height + oy) * out_width + ox) * channels + c;
                    r.value[o] = sum / static_cast<double>(k * k);
                    r.magnitude[o] = abs_sum / static_cast<double>(k * k);
                }
    return r;
}

// dL/dx[b, iy, ix, c] = sum over the windows (oy, ox) that contain (iy, ix) of dy[b, oy, ox, c] / K^2, gathered
// input by input (the layer scatters window by window).
Reference reference_avg_pool_backward(const float* dy, std::size_t n, std::size_t height, std::size_t width,
                                      std::size_t channels, std::size_t k, std::size_t stride) {
    const std::size_t out_height = (height - k) / stride + 1, out_width = (width - k) / stride + 1;
    Reference r;
    r.value.assign(n * height * width * channels, 0.0);
    r.magnitude.assign(r.value.size(), 0.0);
    for (std::size_t b = 0; b < n; ++b)
        for (std::size_t iy = 0; iy < height; ++iy)
            for (std::size_t ix = 0; ix < width; ++ix)
                for (std::size_t c = 0; c < channels; ++c) {
                    double sum = 0.0, abs_sum = 0.0;
                    for (std::size_t oy = 0; oy < out_height; ++oy)
                        for (std::size_t ox = 0; ox < out_width; ++ox) {
                            const bool inside = oy * stride <= iy && iy < oy * stride + k && ox * stride <= ix &&
                                                ix < ox * stride + k;
                            if (!inside) continue;
                            const double g = dy[((b * out_height + oy) * out_width + ox) * channels + c];
                            sum += g / static_cast<double>(k * k);
                            abs_sum += std::abs(g) / static_cast<double>(k * k);
                        }
                    const std::size_t i = ((b * height + iy) * width + ix) * channels + c;
                    r.value[i] = sum;
                    r.magnitude[i] = abs_sum;
                }
    return r;
}

// |actual - expected| within 1e-6 of the magnitude of the terms summed (a relative bound that cancellation
// cannot defeat); NaN fails.
void require_close(std::span<const float> actual, const Reference& expected) {
    REQUIRE(actual.size() == expected.value.size());
    for (std::size_t i = 0; i < actual.size(); ++i) {
        INFO("element ", i, ": ", actual[i], " expected ", expected.value[i]);
        REQUIRE(std::abs(actual[i] - expected.value[i]) <= 1e-6 * expected.magnitude[i] + 1e-30);
    }
}

template <std::size_t K, std::size_t S, class InShape>
void check_forward(std::size_t n) {
    using L = typename AvgPool2D<K, S>::template bind<InShape>;
    INFO(L::name(), " on ", InShape::name(), ", n = ", n);
    Rng rng(K * 100 + S * 10 + InShape::dims[2]);
    L layer;
    Buffer x(n * InShape::size), y(n * L::output_shape::size, std::numeric_limits<float>::quiet_NaN());
    testing::fill_uniform(x, rng);
    typename L::workspace ws(n);
    layer.forward(x.data(), y.data(), n, ws, Pass::inference);
    require_close(y, reference_avg_pool(x.data(), n, InShape::dims[0], InShape::dims[1], InShape::dims[2], K, S));
}

template <std::size_t K, std::size_t S, class InShape>
void check_backward(std::size_t n) {
    using L = typename AvgPool2D<K, S>::template bind<InShape>;
    INFO(L::name(), " on ", InShape::name(), ", n = ", n);
    Rng rng(K * 100 + S * 10 + InShape::dims[2] + 1);
    L layer;
    Buffer x(n * InShape::size), y(n * L::output_shape::size), dy(n * L::output_shape::size);
    // NaN everywhere first: an element the backward pass adds to instead of writing, or skips, stays NaN.
    Buffer dx(n * InShape::size, std::numeric_limits<float>::quiet_NaN());
    testing::fill_uniform(x, rng);
    testing::fill_uniform(dy, rng);
    typename L::workspace ws(n);
    layer.forward(x.data(), y.data(), n, ws, Pass::training);
    layer.backward(x.data(), y.data(), dy.data(), dx.data(), n, ws);
    require_close(
        dx, reference_avg_pool_backward(dy.data(), n, InShape::dims[0], InShape::dims[1], InShape::dims[2], K, S));
    // Nothing below needs the gradient: dx null must be accepted.
    layer.backward(x.data(), y.data(), dy.data(), nullptr, n, ws);
}

using PoolNet =
    Sequential<Input<8, 8, 3>, Conv2D<3, 3, 3, 4, 1, Padding::same>, ReLU, AvgPool2D<2>, Flatten, Dense<64, 5>>;
// The ReLU before the pooling runs in a pass of its own (the mean of ReLUs is not the ReLU of the mean).
static_assert(!PoolNet::chain::activation_absorbed_by_next<1>);
static_assert(PoolNet::parameter_count == 3 * 3 * 3 * 4 + 4 + 64 * 5 + 5);

}  // namespace

TEST_CASE("AvgPool2D names itself by its window, and by its stride when that differs") {
    CHECK(AvgPool2D<2>::bind<Shape<8, 8, 1>>::name() == "AvgPool2D<2>");
    CHECK(AvgPool2D<3, 2>::bind<Shape<8, 8, 1>>::name() == "AvgPool2D<3,2>");
    CHECK(AvgPool2D<3, 2>::bind<Shape<8, 8, 1>>::kind == "AvgPool2D");
}

TEST_CASE("AvgPool2D forward matches the naive mean") {
    check_forward<2, 2, Shape<7, 9, 1>>(1);
    check_forward<2, 2, Shape<7, 9, 7>>(3);
    check_forward<2, 2, Shape<8, 6, 31>>(3);  // tiles the image exactly
    check_forward<2, 2, Shape<26, 26, 32>>(1);
    check_forward<3, 2, Shape<7, 9, 31>>(3);  // overlapping windows
    check_forward<3, 2, Shape<9, 7, 33>>(1);
    check_forward<3, 1, Shape<5, 6, 1>>(3);
    check_forward<2, 3, Shape<8, 7, 7>>(3);   // stride beyond the window: pixels no window sees
    check_forward<5, 2, Shape<5, 5, 33>>(1);  // one window, the whole image
    check_forward<1, 1, Shape<3, 3, 33>>(3);
}

TEST_CASE("AvgPool2D backward writes the naive input gradient into every element of dx") {
    check_backward<2, 2, Shape<7, 9, 1>>(1);  // floor remainder: the last row and column get zero
    check_backward<2, 2, Shape<7, 9, 7>>(3);
    check_backward<2, 2, Shape<8, 6, 31>>(3);  // exact tiling: written without clearing first
    check_backward<3, 2, Shape<7, 9, 31>>(3);  // overlapping windows add up
    check_backward<3, 2, Shape<9, 7, 33>>(1);
    check_backward<3, 1, Shape<5, 6, 1>>(3);
    check_backward<2, 3, Shape<8, 7, 7>>(3);  // gaps between windows get zero
    check_backward<5, 2, Shape<5, 5, 33>>(1);
    check_backward<1, 1, Shape<3, 3, 33>>(3);
}

TEST_CASE("AvgPool2D gradients match finite differences") {
    testing::check_layer_gradients<AvgPool2D<2>::bind<Shape<6, 7, 3>>>(2, 41);
    testing::check_layer_gradients<AvgPool2D<3, 2>::bind<Shape<7, 7, 2>>>(2, 42);  // overlapping windows
    testing::check_layer_gradients<AvgPool2D<3, 1>::bind<Shape<5, 6, 9>>>(1, 43);
}

TEST_CASE("a network with AvgPool2D has the gradients of finite differences") {
    using Net = Sequential<Input<7, 7, 2>, Conv2D<2, 2, 2, 3>, AvgPool2D<3, 2>, Flatten, Dense<12, 4>>;
    auto net = std::make_unique<Net>(seed(44));
    testing::check_network_gradients(*net, 2, 45);
    using WithRelu = Sequential<Input<8, 8, 3>, Conv2D<3, 3, 3, 4>, ReLU, AvgPool2D<2>, Flatten, Dense<36, 3>>;
    auto with_relu = std::make_unique<WithRelu>(seed(46));
    testing::check_network_gradients(*with_relu, 2, 47);
}

TEST_CASE("a network with AvgPool2D trains, and saves and loads bit for bit") {
    constexpr std::size_t n = 8;
    Rng rng(50);
    Buffer images(n * PoolNet::input_shape::size);
    testing::fill_uniform(images, rng, 0.0f, 1.0f);
    std::vector<std::uint8_t> labels(n);
    for (auto& label : labels) label = static_cast<std::uint8_t>(rng.below(5));

    auto net = std::make_unique<PoolNet>(seed(51));
    const std::vector<float> conv_before = testing::parameters_of(*net, 0);
    const testing::TrainingRun run = testing::train_on_batch(*net, images.data(), labels.data(), n, 30);
    INFO("loss ", run.first_loss, " -> ", run.last_loss);
    CHECK(run.last_loss < 0.5 * run.first_loss);
    // The convolution only moves if a gradient comes back through the pooling.
    CHECK(testing::parameters_of(*net, 0) != conv_before);
    testing::check_reload_is_bit_exact(*net, 52, rng);
}
