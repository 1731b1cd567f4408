// kernels::ConvMaxPool (a small-patch convolution and the max pooling after it, in registers) against the unfused
// kernels it replaces, bit for bit (conv2d_forward + max_pool2d + the activation; the activation's derivative +
// max_pool2d_backward + conv2d_backward), against naive loops, and against finite differences; and the chain
// using it for Conv2D, ReLU, MaxPool2D.

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

#include "ctnn/ctnn.hpp"
#include "ctnn/kernels/conv_max_pool.hpp"
#include "fusion_check.hpp"
#include "gradient_check.hpp"
#include "reference_kernels.hpp"

using namespace ctnn;

namespace {

using Relu = ReLU::activation;

template <class T>
std::vector<std::uint32_t> bits(const std::vector<T>& v) {
    std::vector<std::uint32_t> b(v.size());
    std::memcpy(b.data(), v.data(), v.size() * sizeof(T));
    return b;
}

constexpr kernels::PoolGeometry pool_after(const kernels::ConvGeometry& g, std::size_t cout, std::size_t k) {
    return {g.out_height, g.out_width, cout, k, k, (g.out_height - k) / k + 1, (g.out_width - k) / k + 1};
}

// One test geometry: the convolution G with Cout channels, then max pooling of window K.
template <kernels::ConvGeometry G, std::size_t Cout, std::size_t K>
struct Case {
    static constexpr kernels::PoolGeometry pool = pool_after(G, Cout, K);
    using Kernel = kernels::ConvMaxPool<G, Cout, pool>;
    static constexpr std::size_t taps = G.patch_size();

    std::size_t batch;
    std::vector<float> x, w, bias, pooled_dy;

    explicit Case(std::size_t n, std::uint64_t seed_value)
        : batch(n), x(reference::random_vector(n * G.image_size(), seed_value)),
          w(reference::random_vector(taps * Cout, seed_value + 1, -0.5f, 0.5f)),
          bias(reference::random_vector(Cout, seed_value + 2, -0.2f, 0.2f)),
          pooled_dy(reference::random_vector(n * pool.out_size(), seed_value + 3)) {}

    struct Result {
        std::vector<float> y, dw, db;
        std::vector<std::uint32_t> argmax;
    };

    // dw and db start from `start` values: both paths add to what the gradients hold.
    Result start() const {
        Result r;
        r.y.assign(batch * pool.out_size(), 0.0f);
        r.argmax.assign(batch * pool.out_size(), 0);
        r.dw = reference::random_vector(taps * Cout, 77, -0.1f, 0.1f);
        r.db = reference::random_vector(Cout, 78, -0.1f, 0.1f);
        return r;
    }

    // The unfused kernels, image by image as MaxPool2D's producer path runs them.
    Result unfused() const {
        Result r = start();
        std::vector<float> conv(G.patch_count() * Cout), dconv(G.patch_count() * Cout), masked(pool.out_size());
        std::vector<float> scratch(kernels::conv2d_workspace_size(G, Cout, 1, 1) + 16);
        float* ws = scratch.data() + (16 - reinterpret_cast<std::uintptr_t>(scratch.data()) / 4 % 16) % 16;
        for (std::size_t b = 0; b < batch; ++b) {
            const float* image = x.data() + b * G.image_size();
            float* y = r.y.data() + b * pool.out_size();
            std::uint32_t* arg = r.argmax.data() + b * pool.out_size();
            kernels::conv2d_forward(G, Cout, image, w.data(), bias.data(), conv.data(), 1, ws, 1);
            kernels::max_pool2d(pool, conv.data(), y, arg, 1);
            Relu::apply(y, y, pool.out_size());
            Relu::apply_backward(y, pooled_dy.data() + b * pool.out_size(), masked.data(), pool.out_size());
            kernels::max_pool2d_backward(pool, masked.data(), arg, dconv.data(), 1);
            kernels::conv2d_backward(G, Cout, image, w.data(), dconv.data(), r.dw.data(), r.db.data(), nullptr, 1, ws,
                                     1);
        }
        return r;
    }

    // From the gradients in r (start() unless given).
    Result fused() const { return fused(start()); }
    Result fused(Result r) const {
        std::vector<float> masked(pool.out_size());
        for (std::size_t b = 0; b < batch; ++b) {
            const float* image = x.data() + b * G.image_size();
            float* y = r.y.data() + b * pool.out_size();
            std::uint32_t* arg = r.argmax.data() + b * pool.out_size();
            Kernel::template forward_image<Relu>(image, w.data(), bias.data(), y, arg);
            Relu::apply_backward(y, pooled_dy.data() + b * pool.out_size(), masked.data(), pool.out_size());
            Kernel::backward_image(image, masked.data(), arg, r.dw.data(), r.db.data());
        }
        return r;
    }

    // The forward pass without argmax (an inference pass), with the activation B.
    template <class B = Relu>
    std::vector<float> maxima_only() const {
        std::vector<float> y(batch * pool.out_size());
        for (std::size_t b = 0; b < batch; ++b)
            Kernel::template forward_image<B>(x.data() + b * G.image_size(), w.data(), bias.data(),
                                              y.data() + b * pool.out_size(), nullptr);
        return y;
    }

    void check_bits() const {
        const Result a = unfused(), b = fused();
        CHECK(bits(a.y) == bits(b.y));
        CHECK(bits(a.y) == bits(maxima_only()));
        CHECK(a.argmax == b.argmax);
        CHECK(bits(a.dw) == bits(b.dw));
        CHECK(bits(a.db) == bits(b.db));
    }

    // Against naive loops in double: the pooled output and where its maxima came from, and the gradients.
    void check_reference() const {
        const Result f = fused();
        Result r = start();
        std::vector<float> conv(batch * G.patch_count() * Cout), dconv(batch * G.patch_count() * Cout, 0.0f);
        reference::conv2d_forward(G, Cout, x.data(), w.data(), bias.data(), conv.data(), batch);
        reference::max_pool2d(pool, conv.data(), r.y.data(), r.argmax.data(), batch);
        for (std::size_t i = 0; i < r.y.size(); ++i) {
            const float relu = r.y[i] > 0.0f ? r.y[i] : 0.0f;
            REQUIRE(f.y[i] == doctest::Approx(relu).epsilon(1e-5).scale(1.0));
            if (r.y[i] > 0.0f) dconv[(i / pool.out_size()) * G.patch_count() * Cout + r.argmax[i]] = pooled_dy[i];
        }
        // Random inputs have no equal candidates in a window: the winners agree exactly.
        CHECK(f.argmax == r.argmax);
        reference::conv2d_backward(G, Cout, x.data(), w.data(), dconv.data(), r.dw.data(), r.db.data(), nullptr,
                                   batch);
        for (std::size_t i = 0; i < r.dw.size(); ++i)
            REQUIRE(f.dw[i] == doctest::Approx(r.dw[i]).epsilon(1e-4).scale(1.0));
        for (std::size_t i = 0; i < r.db.size(); ++i)
            REQUIRE(f.db[i] == doctest::Approx(r.db[i]).epsilon(1e-4).scale(1.0));
    }
};

constexpr kernels::ConvGeometry seed_conv{28, 28, 1, 3, 3, 1, 0, 0, 26, 26};     // the seed CNN's Conv2D<3,3,1,32>
constexpr kernels::ConvGeometry odd_conv{15, 15, 2, 3, 3, 1, 0, 0, 13, 13};      // 13 x 13: a row and column unpooled
constexpr kernels::ConvGeometry strided_conv{17, 17, 3, 3, 3, 2, 0, 0, 8, 8};    // stride 2, patch 27
constexpr kernels::ConvGeometry wide_kernel{20, 20, 1, 5, 5, 1, 0, 0, 16, 16};   // 25 taps
constexpr kernels::ConvGeometry big_image{70, 70, 1, 3, 3, 1, 0, 0, 68, 68};     // 4624 pixels: several pixel tiles

// The seed CNN's pair is served on every instruction set (SSE2, AVX2, AVX-512).
static_assert(Case<seed_conv, 32, 2>::Kernel::fusable);
static_assert(Case<odd_conv, 16, 2>::Kernel::fusable && Case<strided_conv, 32, 2>::Kernel::fusable &&
              Case<wide_kernel, 16, 2>::Kernel::fusable && Case<big_image, 32, 2>::Kernel::fusable);
// Not served: padding (the direct path's zero-bordered copy), a patch over 32 floats, windows that overlap.
static_assert(!kernels::ConvMaxPool<kernels::ConvGeometry{8, 8, 1, 3, 3, 1, 1, 1, 8, 8}, 16,
                                    kernels::PoolGeometry{8, 8, 16, 2, 2, 4, 4}>::fusable);
static_assert(!kernels::ConvMaxPool<kernels::ConvGeometry{8, 8, 4, 3, 3, 1, 0, 0, 6, 6}, 16,
                                    kernels::PoolGeometry{6, 6, 16, 2, 2, 3, 3}>::fusable);
static_assert(!kernels::ConvMaxPool<seed_conv, 32, kernels::PoolGeometry{26, 26, 32, 3, 2, 12, 12}>::fusable);

}  // namespace

TEST_CASE("conv + max pool in registers: the unfused kernels' bits") {
    Case<seed_conv, 32, 2>(3, 1).check_bits();
    Case<odd_conv, 16, 2>(2, 2).check_bits();
    Case<strided_conv, 32, 2>(2, 3).check_bits();
    Case<wide_kernel, 16, 2>(2, 4).check_bits();
    Case<big_image, 32, 2>(1, 5).check_bits();
    Case<seed_conv, 16, 2>(2, 6).check_bits();
    if constexpr (Case<seed_conv, 16, 3>::Kernel::fusable) Case<seed_conv, 16, 3>(2, 7).check_bits();
}

// Blank image regions (MNIST's background) give equal values in a window: the first one wins, as in max_pool2d.
TEST_CASE("conv + max pool in registers: equal values in a window") {
    Case<seed_conv, 32, 2> c(2, 8);
    std::fill(c.x.begin(), c.x.begin() + static_cast<std::ptrdiff_t>(c.x.size() * 3 / 4), 0.0f);
    c.check_bits();
    CHECK(c.fused().argmax[0] == 0);  // window (0, 0), channel 0: four equal outputs, the first recorded
}

namespace {
struct Identity {
    static void apply(const float* x, float* y, std::size_t count) noexcept {
        if (x != y) std::copy(x, x + count, y);
    }
};
}  // namespace

// Signed zeros compare equal and a NaN compares false: the window's first zero and a NaN that comes first stay,
// a later NaN loses, with or without argmax, as in max_pool2d (no activation to hide the sign).
TEST_CASE("conv + max pool in registers: signed zeros and NaN as max_pool2d") {
    using C = Case<seed_conv, 32, 2>;
    C c(1, 41);
    std::fill(c.x.begin(), c.x.end(), -0.0f);
    std::fill(c.bias.begin(), c.bias.end(), -0.0f);
    for (float& v : c.w) v = std::abs(v);  // -0 x w stays -0: one +0 input makes the sums it enters +0
    c.x[0] = 0.0f;            // conv pixel (0, 0) alone sees it: window (0, 0) holds +-0 first, then -+0 three times
    c.x[7 * 28 + 7] = 0.0f;   // window (2, 2): -+0 three times, then +-0 at conv pixel (5, 5)
    c.x[19 * 28 + 19] = std::nanf("");  // window (8, 8): a NaN last; window (9, 9): all NaN
    const auto pool = C::pool;
    std::vector<float> conv(seed_conv.patch_count() * 32), expected(pool.out_size());
    std::vector<std::uint32_t> expected_argmax(pool.out_size()), argmax(pool.out_size());
    std::vector<float> scratch(kernels::conv2d_workspace_size(seed_conv, 32, 1, 1) + 16);
    float* ws = scratch.data() + (16 - reinterpret_cast<std::uintptr_t>(scratch.data()) / 4 % 16) % 16;
    kernels::conv2d_forward(seed_conv, 32, c.x.data(), c.w.data(), c.bias.data(), conv.data(), 1, ws, 1);
    kernels::max_pool2d(pool, conv.data(), expected.data(), expected_argmax.data(), 1);
    std::vector<float> recorded(pool.out_size());
    C::Kernel::forward_image<Identity>(c.x.data(), c.w.data(), c.bias.data(), recorded.data(), argmax.data());
    CHECK(bits(expected) == bits(recorded));
    CHECK(expected_argmax == argmax);
    CHECK(bits(expected) == bits(c.maxima_only<Identity>()));
    // The test can fail: both zeros and NaN reach the pooled output.
    const auto window = [&](std::size_t py, std::size_t px, std::size_t channel) {
        return expected[(py * pool.out_width + px) * 32 + channel];
    };
    bool both_zeros = false;
    for (std::size_t ch = 0; ch < 32; ++ch)
        both_zeros = both_zeros || std::signbit(window(0, 0, ch)) != std::signbit(window(2, 2, ch));
    CHECK(both_zeros);
    CHECK(std::isnan(window(9, 9, 0)));
    CHECK(!std::isnan(window(8, 8, 0)));
}

TEST_CASE("conv + max pool in registers: naive loops") {
    Case<seed_conv, 32, 2>(2, 11).check_reference();
    Case<odd_conv, 16, 2>(2, 12).check_reference();
    Case<strided_conv, 32, 2>(1, 13).check_reference();
    Case<wide_kernel, 16, 2>(1, 14).check_reference();
}

TEST_CASE("conv + max pool in registers: the comparison can fail") {
    Case<seed_conv, 32, 2> c(1, 21);
    const auto a = c.unfused();
    c.bias[5] += 1e-3f;  // another bias: another output and other gradients
    const auto b = c.fused();
    CHECK(bits(a.y) != bits(b.y));
    c.bias[5] -= 1e-3f;
    c.pooled_dy[0] += 0.5f;  // another pooled gradient: other parameter gradients
    const auto d = c.fused();
    CHECK((bits(a.dw) != bits(d.dw) || bits(a.db) != bits(d.db)));
}

TEST_CASE("conv + max pool in registers: parameter gradients match finite differences") {
    using C = Case<odd_conv, 16, 2>;
    C c(2, 31);
    auto loss = [&] {  // L = sum of pooled_dy * ReLU(maxpool(conv(x)))
        const auto r = c.fused();
        double s = 0.0;
        for (std::size_t i = 0; i < r.y.size(); ++i) s += static_cast<double>(r.y[i]) * c.pooled_dy[i];
        return s;
    };
    C::Result zero = c.start();
    std::fill(zero.dw.begin(), zero.dw.end(), 0.0f);
    std::fill(zero.db.begin(), zero.db.end(), 0.0f);
    const C::Result r = c.fused(zero);
    Rng rng(5);
    const testing::GradientTolerance tol{.step = 1e-3f};
    testing::check_coordinates("weights", std::span<float>(c.w), std::span<const float>(r.dw), loss, rng, tol);
    testing::check_coordinates("bias", std::span<float>(c.bias), std::span<const float>(r.db), loss, rng, tol);
}

namespace {

using SeedLike = Sequential<Input<12, 12, 1>, Conv2D<3, 3, 1, 32>, ReLU, MaxPool2D<2>, Flatten, Dense<800, 10>>;
using Unpooled = Sequential<Input<13, 13, 1>, Conv2D<3, 3, 1, 16>, ReLU, MaxPool2D<2>, Flatten, Dense<400, 10>>;
using SecondConv = Sequential<Input<12, 12, 1>, Conv2D<3, 3, 1, 2, 1, Padding::same>, ReLU, Conv2D<3, 3, 2, 16>,
                              ReLU, MaxPool2D<2>, Flatten, Dense<400, 10>>;

static_assert(SeedLike::chain::producer_absorbed<0> && Unpooled::chain::producer_absorbed<0> &&
              SecondConv::chain::producer_absorbed<2>);
static_assert(PoolsInRegisters<SeedLike::layer_type<0>, SeedLike::layer_type<2>::geometry, Relu> &&
              PoolsInRegisters<SecondConv::layer_type<2>, SecondConv::layer_type<4>::geometry, Relu>);

// A training pass as train_step runs it (no input gradient for the network): forward output and parameter
// gradients, and an inference pass's output, against the layers one after the other on the whole batch.
template <class Net>
void check_training_pass(std::size_t n) {
    const testing::ThreadCount count(1);
    const auto d = testing::blobs(n, Net::input_shape::dims[0], 10, 3);
    std::vector<float> dy = reference::random_vector(n * Net::output_shape::size, 9);
    auto fused_net = std::make_unique<Net>(seed(2), n);
    auto reference_net = std::make_unique<Net>(*fused_net);
    typename Net::Workspace ws(n);
    // An inference pass records no argmax (the kernel's maxima-only path) and gives the same output.
    const auto inferred = testing::bits_of(fused_net->forward(d.images.data(), n, ws, Pass::inference));
    const auto y = testing::bits_of(fused_net->forward(d.images.data(), n, ws, Pass::training));
    fused_net->backward(d.images.data(), dy.data(), n, ws, Net::layer_count - 1, nullptr, nullptr,
                        GradientUpdate::overwrite);
    const testing::FusionPass reference = testing::layer_by_layer(*reference_net, d, dy);
    CHECK(y == reference.output);
    CHECK(inferred == reference.output);
    CHECK(testing::bits_of(testing::gradient_values(*fused_net)) == reference.gradients);
}

}  // namespace

// The chain hands Conv2D, ReLU, MaxPool2D to the kernel (forward; backward when the convolution's input gradient
// is not needed, else the image-by-image path): same bits as the layers one after the other on the whole batch.
TEST_CASE("conv + max pool in registers: a network's pass gives the layers' own bits") {
    check_training_pass<SeedLike>(5);
    check_training_pass<Unpooled>(3);
    check_training_pass<SecondConv>(4);
    testing::check_fused_matches_layer_by_layer<SeedLike>(5);  // with the input gradient: the image-by-image path
    testing::check_fused_matches_layer_by_layer<SecondConv>(4);
}
