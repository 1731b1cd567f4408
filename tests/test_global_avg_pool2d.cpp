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
#include "ctnn/layers/global_avg_pool2d.hpp"
#include "gradient_check.hpp"
#include "idx_writer.hpp"  // TempDir
#include "train_and_reload.hpp"

using namespace ctnn;

static_assert(std::is_same_v<GlobalAvgPool2D::bind<Shape<7, 9, 3>>::output_shape, Shape<3>>);
static_assert(std::is_same_v<GlobalAvgPool2D::bind<Shape<1, 1, 33>>::output_shape, Shape<33>>);
static_assert(std::is_same_v<GlobalAvgPool2D::bind<Shape<13, 1, 1>>::output_shape, Shape<1>>);
static_assert(GlobalAvgPool2D::parameter_count == 0);
static_assert(GlobalAvgPool2D::bind<Shape<7, 9, 3>>::parameter_count == 0);
static_assert(GlobalAvgPool2D::bind<Shape<7, 9, 3>>::state_count == 0);
static_assert(BoundLayer<GlobalAvgPool2D::bind<Shape<7, 9, 3>>>);
static_assert(!ReshapeOnly<GlobalAvgPool2D::bind<Shape<1, 1, 8>>>);  // even where it keeps the size: it computes
static_assert(flops_per_sample_of<GlobalAvgPool2D::bind<Shape<7, 9, 3>>>() == 7 * 9 * 3);
static_assert(!AbsorbsActivation<GlobalAvgPool2D::bind<Shape<8, 8, 4>>, ReLU::activation>);
static_assert(GlobalAvgPool2D::bind<Shape<8, 8, 4>>::fingerprint != Flatten::bind<Shape<8, 8, 4>>::fingerprint);

namespace {

// Straight from the definition, in double: y[b, c] = (1 / (H W)) sum_{h < H, w < W} x[b, h, w, c]. `magnitude`
// is the same mean of |x|: the scale of the float rounding in a sum of terms of both signs.
struct Reference {
    std::vector<double> value, magnitude;
};

Reference reference_global_avg_pool(const float* x, std::size_t n, std::size_t height, std::size_t width,
                                    std::size_t channels) {
    Reference r;
    r.value.assign(n * channels, 0.0);
    r.magnitude.assign(n * channels, 0.0);
    for (std::size_t b = 0; b < n; ++b)
        for (std::size_t c = 0; c < channels; ++c) {
            double sum = 0.0, abs_sum = 0.0;
            for (std::size_t h = 0; h < height; ++h)
                for (std::size_t w = 0; w < width; ++w) {
                    const double v = x[((b * height + h) * width + w) * channels + c];
                    sum += v;
                    abs_sum += std::abs(v);
                }
            r.value[b * channels + c] = sum / static_cast<double>(height * width);
            r.magnitude[b * channels + c] = abs_sum / static_cast<double>(height * width);
        }
    return r;
}

// dL/dx[b, h, w, c] = dy[b, c] / (H W): every pixel of a channel contributes to its mean with weight 1/(H W).
Reference reference_global_avg_pool_backward(const float* dy, std::size_t n, std::size_t height, std::size_t width,
                                             std::size_t channels) {
    Reference r;
    r.value.assign(n * height * width * channels, 0.0);
    r.magnitude.assign(r.value.size(), 0.0);
    for (std::size_t b = 0; b < n; ++b)
        for (std::size_t h = 0; h < height; ++h)
            for (std::size_t w = 0; w < width; ++w)
                for (std::size_t c = 0; c < channels; ++c) {
                    const std::size_t i = ((b * height + h) * width + w) * channels + c;
                    r.value[i] = dy[b * channels + c] / static_cast<double>(height * width);
                    r.magnitude[i] = std::abs(r.value[i]);
                }
    return r;
}

// |actual - expected| within `relative` of the magnitude of the terms summed (a relative bound that
// cancellation cannot defeat); NaN fails.
void require_close(std::span<const float> actual, const Reference& expected, double relative) {
    REQUIRE(actual.size() == expected.value.size());
    for (std::size_t i = 0; i < actual.size(); ++i) {
        INFO("element ", i, ": ", actual[i], " expected ", expected.value[i]);
        REQUIRE(std::abs(actual[i] - expected.value[i]) <= relative * expected.magnitude[i] + 1e-30);
    }
}

// The worst case of a float mean of m terms: (m - 1) roundings of 2^-24 in the sum, one in the scaling, relative
// to the mean magnitude. That is within 1e-6 up to 15 pixels; larger images get the worst case.
double summation_tolerance(std::size_t terms) { return std::max(1e-6, static_cast<double>(terms + 1) * 0x1.0p-24); }

template <class InShape>
void check_forward(std::size_t n) {
    using L = GlobalAvgPool2D::bind<InShape>;
    INFO(L::name(), " on ", InShape::name(), ", n = ", n);
    Rng rng(InShape::size + n);
    L layer;
    Buffer x(n * InShape::size), y(n * L::output_shape::size, std::numeric_limits<float>::quiet_NaN());
    testing::fill_uniform(x, rng);
    typename L::workspace ws(n);
    layer.forward(x.data(), y.data(), n, ws, Pass::inference);
    require_close(y, reference_global_avg_pool(x.data(), n, InShape::dims[0], InShape::dims[1], InShape::dims[2]),
                  summation_tolerance(InShape::dims[0] * InShape::dims[1]));
}

template <class InShape>
void check_backward(std::size_t n) {
    using L = GlobalAvgPool2D::bind<InShape>;
    INFO(L::name(), " on ", InShape::name(), ", n = ", n);
    Rng rng(InShape::size + n + 1);
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
        dx, reference_global_avg_pool_backward(dy.data(), n, InShape::dims[0], InShape::dims[1], InShape::dims[2]),
        1e-6);
    // Nothing below needs the gradient: dx null must be accepted.
    layer.backward(x.data(), y.data(), dy.data(), nullptr, n, ws);
}

using GapNet = Sequential<Input<6, 6, 2>, Conv2D<3, 3, 2, 8>, ReLU, GlobalAvgPool2D, Dense<8, 3>>;
static_assert(std::is_same_v<GapNet::layer_type<2>::input_shape, Shape<4, 4, 8>>);
static_assert(std::is_same_v<GapNet::output_shape, Shape<3>>);
static_assert(!GapNet::chain::activation_absorbed_by_next<1>);

}  // namespace

TEST_CASE("GlobalAvgPool2D names itself") {
    CHECK(GlobalAvgPool2D::bind<Shape<4, 4, 8>>::name() == "GlobalAvgPool2D");
    CHECK(GlobalAvgPool2D::bind<Shape<4, 4, 8>>::kind == "GlobalAvgPool2D");
}

TEST_CASE("GlobalAvgPool2D forward matches the naive mean of each channel") {
    check_forward<Shape<1, 1, 1>>(1);
    check_forward<Shape<1, 1, 33>>(3);
    check_forward<Shape<7, 9, 7>>(3);
    check_forward<Shape<5, 3, 31>>(1);
    check_forward<Shape<9, 11, 33>>(3);
    check_forward<Shape<13, 1, 1>>(3);
    check_forward<Shape<8, 8, 32>>(1);
}

TEST_CASE("GlobalAvgPool2D backward writes the naive input gradient into every element of dx") {
    check_backward<Shape<1, 1, 1>>(1);
    check_backward<Shape<1, 1, 33>>(3);
    check_backward<Shape<7, 9, 7>>(3);
    check_backward<Shape<5, 3, 31>>(1);
    check_backward<Shape<9, 11, 33>>(3);
    check_backward<Shape<13, 1, 1>>(3);
}

TEST_CASE("GlobalAvgPool2D gradients match finite differences") {
    testing::check_layer_gradients<GlobalAvgPool2D::bind<Shape<4, 5, 3>>>(2, 71);
    testing::check_layer_gradients<GlobalAvgPool2D::bind<Shape<3, 3, 17>>>(1, 72);
}

TEST_CASE("a network with GlobalAvgPool2D has the gradients of finite differences") {
    auto net = std::make_unique<GapNet>(seed(73));
    testing::check_network_gradients(*net, 2, 74);
}

TEST_CASE("a network with GlobalAvgPool2D trains, and saves and loads bit for bit") {
    constexpr std::size_t n = 8;
    Rng rng(60);
    // Noise whose channel brightness says the class (0: both dim, 1: channel 0 bright, 2: channel 1 bright):
    // channel means, all that passes the pooling, tell the classes apart.
    std::vector<std::uint8_t> labels(n);
    for (auto& label : labels) label = static_cast<std::uint8_t>(rng.below(3));
    Buffer images(n * GapNet::input_shape::size);
    for (std::size_t b = 0; b < n; ++b)
        for (std::size_t p = 0; p < 36; ++p)
            for (std::size_t c = 0; c < 2; ++c) {
                const float brightness = labels[b] == c + 1 ? 1.8f : 0.2f;
                images[(b * 36 + p) * 2 + c] = brightness * rng.uniform(0.0f, 1.0f);
            }

    auto net = std::make_unique<GapNet>(seed(61));
    const std::vector<float> conv_before = testing::parameters_of(*net, 0);
    const testing::TrainingRun run = testing::train_on_batch(*net, images.data(), labels.data(), n, 30);
    INFO("loss ", run.first_loss, " -> ", run.last_loss);
    CHECK(run.last_loss < 0.5 * run.first_loss);
    // The convolution only moves if a gradient comes back through the pooling.
    CHECK(testing::parameters_of(*net, 0) != conv_before);
    testing::check_reload_is_bit_exact(*net, 62, rng);
}
