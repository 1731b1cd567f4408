// An activation directly after a layer that declares FusesActivation (Dense, Conv2D, BatchNorm, Residual) runs in
// that layer's epilogue, forward and backward. Through the chain the network must give the bits of the same layers
// run one after the other (tests/fusion_check.hpp), at the small-batch and GEMM sizes, on 1 and 2 threads; a range
// of layers that starts at the fused activation (as the row split and the profile run them) must agree too.

#include "ctnn/layers/activation_epilogue.hpp"

#include <doctest/doctest.h>

#include <cstddef>
#include <memory>
#include <span>
#include <utility>
#include <vector>

#include "ctnn/ctnn.hpp"
#include "fusion_check.hpp"
#include "gradient_check.hpp"
#include "network_values.hpp"
#include "seed_networks.hpp"
#include "synthetic_data.hpp"
#include "thread_count.hpp"

using namespace ctnn;
using testing::SeedCnn;
using testing::SeedMlp;

namespace {

using DenseNet = Sequential<Input<12, 12, 1>, Flatten, Dense<144, 32>, ReLU, Dense<32, 10>>;
// 40 x 256 x 1024 multiply-adds: the product splits its columns between two threads.
using WideDenseNet = Sequential<Input<32, 32, 1>, Flatten, Dense<1024, 256>, ReLU, Dense<256, 10>>;
// The second convolution (patch 36) takes the im2col path, whose epilogue runs per tile.
using ConvNet = Sequential<Input<12, 12, 1>, Conv2D<3, 3, 1, 4, 1, Padding::same>, ReLU, Conv2D<3, 3, 4, 6>, ReLU,
                           Flatten, Dense<600, 10>>;
using NormNet = Sequential<Input<12, 12, 1>, Conv2D<3, 3, 1, 4, 1, Padding::same>, BatchNorm<>, ReLU, Flatten,
                           Dense<576, 10>>;
using Block = Residual<Conv2D<3, 3, 4, 4, 1, Padding::same>, BatchNorm<>, ReLU, Conv2D<3, 3, 4, 4, 1, Padding::same>>;
using ResidualNet = Sequential<Input<12, 12, 1>, Conv2D<3, 3, 1, 4, 1, Padding::same>, Block, ReLU, Flatten,
                               Dense<576, 10>>;

// What fuses where.
static_assert(SeedMlp::chain::activation_fused_into_previous<2> && SeedMlp::chain::fuses_next_activation<1>);
static_assert(SeedMlp::shares_input_buffer<2>);
static_assert(!SeedCnn::chain::activation_fused_into_previous<1>);  // the max-pooling after it absorbs it
static_assert(SeedCnn::chain::activation_absorbed_by_next<1> && SeedCnn::chain::activation_fused_into_previous<5>);
static_assert(ConvNet::chain::activation_fused_into_previous<1> && ConvNet::chain::activation_fused_into_previous<3>);
static_assert(NormNet::chain::activation_fused_into_previous<2> && !NormNet::chain::fuses_next_activation<0>);
static_assert(ResidualNet::chain::activation_fused_into_previous<2>);
static_assert(Block::bind<Shape<12, 12, 4>>::inner::activation_fused_into_previous<2>);
// Nothing to fuse into: the chain's input, a reshape, a pooling that ran an activation before it.
using Unfusable = Sequential<Input<8, 8, 1>, ReLU, Flatten, ReLU, Dense<64, 36>, ReLU, ReLU>;
static_assert(!Unfusable::chain::activation_fused_into_previous<0> &&
              !Unfusable::chain::activation_fused_into_previous<2> &&
              Unfusable::chain::activation_fused_into_previous<4> &&
              !Unfusable::chain::activation_fused_into_previous<5>);
using AfterPool = Sequential<Input<8, 8, 1>, Conv2D<3, 3, 1, 4>, ReLU, MaxPool2D<2>, ReLU, Flatten, Dense<36, 3>>;
static_assert(AfterPool::chain::absorbs_previous_activation<2> && !AfterPool::chain::activation_fused_into_previous<3>);

// Forward one layer range at a time and back-propagate one layer at a time (the profile's way; the row split
// likewise runs the fused activation on its own after the row-split layer): the bits of the whole pass.
template <class Net>
void check_layer_at_a_time(std::size_t n) {
    constexpr std::size_t layers = Net::layer_count;
    const auto d = testing::blobs(n, Net::input_shape::dims[0], 10, 4);
    std::vector<float> dy(n * Net::output_shape::size);
    Rng rng(5);
    for (float& v : dy) v = rng.uniform(-1.0f, 1.0f);
    auto net = std::make_unique<Net>(seed(6), n);
    auto split = std::make_unique<Net>(*net);
    const testing::FusionPass whole = testing::through_network(*net, d, dy);

    typename Net::Workspace ws(n);
    const float* in = d.images.data();
    [&]<std::size_t... I>(std::index_sequence<I...>) {
        ((in = split->template forward_layers<I, I + 1>(in, n, ws, Pass::training)), ...);
    }
    (std::make_index_sequence<layers>{});
    CHECK(testing::bits_of(std::span<const float>(in, n * Net::output_shape::size)) == whole.output);
    std::vector<float> dx(n * Net::input_shape::size);
    const float* g = dy.data();
    const GradientTarget own{nullptr, GradientUpdate::overwrite};
    [&]<std::size_t... R>(std::index_sequence<R...>) {
        ((g = split->template backward_layers<layers - 1 - R>(d.images.data(), g, n, ws, layers - 1 - R, dx.data(),
                                                              own)),
         ...);
    }
    (std::make_index_sequence<layers>{});
    CHECK(testing::bits_of(testing::gradient_values(*split)) == whole.gradients);
    CHECK(testing::bits_of(dx) == whole.input_gradient);
}

}  // namespace

TEST_CASE("activation epilogue: Dense, ReLU give the layers' own bits at the small-batch and GEMM sizes") {
    testing::check_fused_matches_layer_by_layer<DenseNet>(5);
    testing::check_fused_matches_layer_by_layer<DenseNet>(40);
    testing::check_fused_matches_layer_by_layer<WideDenseNet>(40, 2);
    testing::check_fused_matches_layer_by_layer<WideDenseNet>(3, 2);
}

TEST_CASE("activation epilogue: Conv2D, BatchNorm and Residual followed by ReLU give the layers' own bits") {
    for (int threads : {1, 2}) {
        INFO("threads " << threads);
        testing::check_fused_matches_layer_by_layer<ConvNet>(7, threads);
        testing::check_fused_matches_layer_by_layer<NormNet>(6, threads);
        testing::check_fused_matches_layer_by_layer<ResidualNet>(5, threads);
    }
}

TEST_CASE("activation epilogue: a range of layers starting at the fused activation runs it on its own") {
    check_layer_at_a_time<DenseNet>(5);
    check_layer_at_a_time<DenseNet>(20);
    check_layer_at_a_time<ConvNet>(4);
    check_layer_at_a_time<NormNet>(4);
    check_layer_at_a_time<ResidualNet>(3);
}

// BatchNorm and Residual followed by ReLU are checked against finite differences in test_batch_norm.cpp and
// test_residual.cpp, whose networks now run fused.
TEST_CASE("activation epilogue: fused Dense and Conv2D gradients match finite differences") {
    using SmallDense = Sequential<Input<6>, Dense<6, 5>, ReLU, Dense<5, 3>>;
    using SmallConv = Sequential<Input<5, 5, 1>, Conv2D<3, 3, 1, 2, 1, Padding::same>, ReLU, Flatten, Dense<50, 3>>;
    static_assert(SmallDense::chain::activation_fused_into_previous<1> &&
                  SmallConv::chain::activation_fused_into_previous<1>);
    auto dense = std::make_unique<SmallDense>(seed(7), 12);
    testing::check_network_gradients(*dense, 12, 1, {.step = 1e-3f});
    auto conv = std::make_unique<SmallConv>(seed(8), 3);
    testing::check_network_gradients(*conv, 3, 2, {.step = 1e-3f});
}

TEST_CASE("produce_then_activate covers every row once, in chunks of whole rows") {
    struct Twice {
        static void apply(const float* x, float* y, std::size_t count) noexcept {
            for (std::size_t i = 0; i < count; ++i) y[i] = 2.0f * x[i];
        }
    };
    for (std::size_t row_floats : {1, 3, 100, 5000}) {
        const std::size_t rows = 37;
        std::vector<float> y(rows * row_floats, 0.0f);
        std::vector<std::size_t> produced(rows, 0);
        detail::produce_then_activate<Twice>(y.data(), rows, row_floats, [&](std::size_t first, std::size_t count) {
            CHECK(count * row_floats <= std::max<std::size_t>(detail::epilogue_chunk_floats, row_floats));
            for (std::size_t r = first; r < first + count; ++r) {
                ++produced[r];
                for (std::size_t j = 0; j < row_floats; ++j) y[r * row_floats + j] = static_cast<float>(r);
            }
        });
        INFO("row_floats " << row_floats);
        for (std::size_t r = 0; r < rows; ++r) {
            CHECK(produced[r] == 1);
            CHECK(y[r * row_floats] == 2.0f * static_cast<float>(r));
        }
    }
}
