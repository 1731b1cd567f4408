// Layers written outside the library against the documented contract (layers/layer.hpp) only: no detail::
// name, no change to ctnn. They compose, train, pass the generic gradient check, save and load, and their
// declared capabilities take effect (an activation a max-pooling absorbs; one it must not).

#include <doctest/doctest.h>

#include <cmath>
#include <cstddef>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "channel_scale.hpp"  // user::ChannelScale
#include "ctnn/ctnn.hpp"
#include "gradient_check.hpp"
#include "idx_writer.hpp"  // TempDir
#include "network_values.hpp"
#include "synthetic_data.hpp"
#include "train_and_reload.hpp"

namespace user {

// y = x for x > 0, 0.1 x otherwise: non-decreasing, so a max-pooling after it may run it on its output.
struct LeakyReLU {
    struct activation {
        static constexpr bool non_decreasing = true;
        static void apply(const float* x, float* y, std::size_t count) {
            for (std::size_t i = 0; i < count; ++i) y[i] = x[i] > 0 ? x[i] : 0.1f * x[i];
        }
        static void apply_backward(const float* y, const float* dy, float* dx, std::size_t count) {
            for (std::size_t i = 0; i < count; ++i) dx[i] = y[i] > 0 ? dy[i] : 0.1f * dy[i];
        }
    };
    template <ctnn::ShapeType In>
    struct bind : ctnn::ParameterFree {
        using input_shape = In;
        using output_shape = In;
        using workspace = ctnn::NoWorkspace;
        using activation = LeakyReLU::activation;
        static constexpr std::string_view kind = "LeakyReLU";
        static constexpr std::uint64_t fingerprint = ctnn::layer_fingerprint<>(kind);
        static std::string name() { return std::string(kind); }
        void forward(const float* x, float* y, std::size_t n, workspace&, ctnn::Pass) const {
            activation::apply(x, y, n * In::size);
        }
        void backward(const float*, const float* y, const float* dy, float* dx, std::size_t n, workspace&,
                      ctnn::GradientTarget = {}) {
            if (dx != nullptr) activation::apply_backward(y, dy, dx, n * In::size);
        }
    };
};

// y = -x is decreasing: max(-x) = -min(x), not -max(x), so no max-pooling may absorb it.
struct Negate {
    struct activation {
        static constexpr bool non_decreasing = false;
        static void apply(const float* x, float* y, std::size_t count) {
            for (std::size_t i = 0; i < count; ++i) y[i] = -x[i];
        }
        static void apply_backward(const float*, const float* dy, float* dx, std::size_t count) {
            for (std::size_t i = 0; i < count; ++i) dx[i] = -dy[i];
        }
    };
    template <ctnn::ShapeType In>
    struct bind : ctnn::ParameterFree {
        using input_shape = In;
        using output_shape = In;
        using workspace = ctnn::NoWorkspace;
        using activation = Negate::activation;
        static constexpr std::string_view kind = "Negate";
        static constexpr std::uint64_t fingerprint = ctnn::layer_fingerprint<>(kind);
        static std::string name() { return std::string(kind); }
        void forward(const float* x, float* y, std::size_t n, workspace&, ctnn::Pass) const {
            activation::apply(x, y, n * In::size);
        }
        void backward(const float*, const float* y, const float* dy, float* dx, std::size_t n, workspace&,
                      ctnn::GradientTarget = {}) {
            if (dx != nullptr) activation::apply_backward(y, dy, dx, n * In::size);
        }
    };
};

}  // namespace user

using namespace ctnn;

namespace {
using Net = Sequential<Input<8, 8, 1>, Conv2D<3, 3, 1, 4>, user::ChannelScale, user::LeakyReLU, MaxPool2D<2>, Flatten,
                       Dense<36, 3>>;
static_assert(BoundLayer<Net::layer_type<1>>);
static_assert(Net::parameter_count == (9 * 4 + 4) + 4 + (36 * 3 + 3));
// The declared capability takes effect: the leaky ReLU runs inside the pooling and stores no output.
static_assert(Net::shares_input_buffer<2>);
using NegateNet = Sequential<Input<8, 8, 1>, Conv2D<3, 3, 1, 4>, user::Negate, MaxPool2D<2>, Flatten, Dense<36, 3>>;
// Not non-decreasing: the pooling does not absorb it; the convolution before it runs it in its epilogue instead.
static_assert(!NegateNet::chain::activation_absorbed_by_next<1> && NegateNet::chain::activation_fused_into_previous<1>);
}  // namespace

TEST_CASE("a user-written trainable layer passes the generic gradient check, alone and in a network") {
    testing::check_layer_gradients<user::ChannelScale::bind<Shape<5, 3, 7>>>(2, 1, {.step = 1e-3f});
    auto net = std::make_unique<Net>(seed(3), 4);
    testing::check_network_gradients(*net, 3, 4, {.step = 1e-3f});
    auto negate = std::make_unique<NegateNet>(seed(3), 4);
    testing::check_network_gradients(*negate, 3, 5, {.step = 1e-3f});
}

TEST_CASE("an absorbed user activation gives the same outputs as run on its own") {
    // The same layers with a Flatten-free split: LeakyReLU followed by Flatten is not absorbed.
    using Separate = Sequential<Input<8, 8, 1>, Conv2D<3, 3, 1, 4>, user::ChannelScale, user::LeakyReLU, Flatten>;
    static_assert(!Separate::shares_input_buffer<2>);
    auto fused = std::make_unique<Net>(seed(5), 4);
    auto separate = std::make_unique<Separate>(seed(5), 4);
    const auto batch = testing::blobs(4, 8, 3, 6);
    const std::span<const float> activated = separate->forward(batch.images.data(), 4);
    fused->forward(batch.images.data(), 4);
    // Layer 3 (the pooling) of the fused network against a plain 2x2 maximum of the separate activations.
    const std::span<const float> pooled = fused->workspace().activation<3>(4);
    for (std::size_t b = 0; b < 4; ++b)
        for (std::size_t oy = 0; oy < 3; ++oy)
            for (std::size_t ox = 0; ox < 3; ++ox)
                for (std::size_t c = 0; c < 4; ++c) {
                    float best = -1e30f;
                    for (std::size_t dy = 0; dy < 2; ++dy)
                        for (std::size_t dx = 0; dx < 2; ++dx)
                            best = std::max(best, activated[((b * 6 + 2 * oy + dy) * 6 + 2 * ox + dx) * 4 + c]);
                    CHECK(pooled[((b * 3 + oy) * 3 + ox) * 4 + c] == best);
                }
}

TEST_CASE("a network with a user-written layer trains, and saves and loads bit-exactly") {
    constexpr std::size_t n = 24;
    const auto batch = testing::blobs(n, 8, 3, 7);
    auto net = std::make_unique<Net>(seed(1), n);
    const testing::TrainingRun run = testing::train_on_batch(*net, batch.images.data(), batch.labels.data(), n, 31);
    CHECK(run.last_loss < 0.5 * run.first_loss);
    CHECK(Net::summary().find("ChannelScale<4>") != std::string::npos);
    Rng rng(8);
    testing::check_reload_is_bit_exact(*net, 2, rng);

    ctnn::test::TempDir dir;
    const std::filesystem::path file = dir.path() / "custom.ctnn";
    io::save(*net, file);
    // The file knows the layer: a network without it is refused.
    auto other = std::make_unique<
        Sequential<Input<8, 8, 1>, Conv2D<3, 3, 1, 4>, user::LeakyReLU, MaxPool2D<2>, Flatten, Dense<36, 3>>>(seed(1),
                                                                                                              n);
    CHECK_THROWS_AS(io::load(*other, file), io::format_error);
}
