// The fused update (train/fused_update.hpp): a step that updates the dominant layer's weights block by block,
// right after each block's gradient, must leave every parameter bit for bit as the unfused step does (backward
// over the whole network, then the optimiser over every tensor). The unfused reference is the same optimiser
// behind a wrapper that offers only step(): the engine then cannot fuse.

#include <doctest/doctest.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "ctnn/ctnn.hpp"
#include "network_values.hpp"
#include "synthetic_data.hpp"
#include "thread_count.hpp"

using namespace ctnn;

namespace {

// The wide layer (most of the parameters) above convolutions that need its input gradient; the wide layer first,
// where nothing below needs one; and one with a layer above the wide layer that has parameters too.
using ConvBelow =
    Sequential<Input<12, 12, 1>, Conv2D<3, 3, 1, 8>, ReLU, MaxPool2D<2>, Flatten, Dense<200, 48>, ReLU, Dense<48, 10>>;
using WideFirst = Sequential<Input<16, 16, 1>, Flatten, Dense<256, 40>, ReLU, Dense<40, 10>>;
// Big enough that a batch of 64 takes the row split on 2 threads: each thread fuses its own blocks.
using RowSplit =
    Sequential<Input<12, 12, 1>, Conv2D<3, 3, 1, 16, 1, Padding::same>, ReLU, Conv2D<3, 3, 16, 16, 1, Padding::same>,
               ReLU, AvgPool2D<2>, Flatten, Dense<576, 32>, ReLU, Dense<32, 10>>;

// The ReLU after each wide layer is fused into it: the fused step takes its derivative and the bias gradient's
// column sums in one pass (Dense::finish_rows_backward_activated), which the bitwise checks below then cover.
static_assert(detail::fused_activation_of<ConvBelow, 4, StepPlan<ConvBelow>::last_trained_layer>);
static_assert(detail::fused_activation_of<WideFirst, 1, StepPlan<WideFirst>::last_trained_layer>);
static_assert(detail::fused_activation_of<RowSplit, 6, StepPlan<RowSplit>::last_trained_layer>);

// The optimiser O with only the whole-network step: what an optimiser that declares no update in pieces gets.
template <class O>
struct Unfused {
    O inner;
    template <class Net>
    void step(Net& net) {
        inner.step(net);
    }
    template <class Net>
    void step(Net& net, const Team& team, const UpdateShares& shares = {}) {
        inner.step(net, team, shares);
    }
};

// The parameters after three steps. keep_gradients as StepPlan's; when off and the step fuses, the fused layer's
// gradient tensor is checked to be left as it was.
template <class Net, class Optimizer>
std::vector<std::uint32_t> trained_bits(Optimizer optimizer, std::size_t batch, int threads,
                                        bool keep_gradients = true) {
    const testing::ThreadCount count(threads);
    constexpr std::size_t side = Net::input_shape::dims[0];
    constexpr float untouched = 1234.5f;
    const auto train = testing::blobs(batch * 3, side, 10, 5);
    auto net = std::make_unique<Net>(seed(3), batch);
    StepPlan<Net> plan(*net);
    plan.keep_gradients(keep_gradients);
    const detail::WeightsTensor wide = detail::weights_tensor_of(*net, StepPlan<Net>::row_split_layer);
    std::fill(wide.view.gradient.begin(), wide.view.gradient.end(), untouched);
    Buffer images(batch * Net::input_shape::size);
    std::vector<std::uint8_t> labels(batch);
    std::vector<std::uint32_t> order(train.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = static_cast<std::uint32_t>(i);
    for (std::size_t step = 0; step < 3; ++step) {
        data::gather_batch(train, order, step * batch, batch, images.data(), labels.data());
        train_step(plan, optimizer, images.data(), labels.data(), batch);
    }
    const bool fused = StepPlan<Net>::splits_rows(batch) || StepPlan<Net>::parts_for(batch) == 1;
    if (fused && !keep_gradients) {
        std::size_t changed = 0;
        for (const float g : wide.view.gradient) changed += g != untouched;
        CHECK(changed == 0);
    }
    return testing::bits_of(testing::parameter_values(*net));
}

// row_split: whether the step takes the row split on 2 threads (else one part, the single-thread fused step).
template <class Net, class Optimizer>
void check_fused_equals_unfused(const Optimizer& optimizer, std::size_t batch, bool row_split = false) {
    static_assert(StepPlan<Net>::has_row_split, "the test needs a network whose step can fuse");
    static_assert(detail::BlockUpdateOptimizer<Optimizer, Net>, "the optimiser must declare the update in pieces");
    static_assert(!detail::BlockUpdateOptimizer<Unfused<Optimizer>, Net>, "the reference must not fuse");
    for (const int threads : {1, 2}) {
        INFO("threads " << threads);
        {
            const testing::ThreadCount count(threads);
            REQUIRE(StepPlan<Net>::splits_rows(batch) == (row_split && threads == 2));
        }
        const auto fused = trained_bits<Net>(optimizer, batch, threads);
        const auto unfused = trained_bits<Net>(Unfused<Optimizer>{optimizer}, batch, threads);
        REQUIRE(fused.size() == Net::parameter_count);
        CHECK(fused == unfused);
        CHECK(trained_bits<Net>(optimizer, batch, threads, false) == unfused);  // the gradient in a block buffer
        // The comparison can fail: a different learning rate trains other bits.
        CHECK(fused != trained_bits<Net>(Unfused<Optimizer>{Optimizer(0.5f)}, batch, threads));
    }
}

}  // namespace

TEST_CASE("fused update: Adam, bit for bit the unfused step, on 1 and 2 threads") {
    check_fused_equals_unfused<ConvBelow>(Adam(1e-2f), 32);
    check_fused_equals_unfused<WideFirst>(Adam(1e-2f), 20);
    check_fused_equals_unfused<RowSplit>(Adam(1e-2f), 64, true);
}

TEST_CASE("fused update: SGD with momentum and Nesterov, bit for bit the unfused step") {
    check_fused_equals_unfused<ConvBelow>(SGD(0.05f, 0.9f, true), 32);
    check_fused_equals_unfused<WideFirst>(SGD(0.05f, 0.9f), 20);
    check_fused_equals_unfused<RowSplit>(SGD(0.05f, 0.9f), 64, true);
}

// Blocks of any size, ragged ones included, give the same bits: the block is a run-time choice (the L2 size).
TEST_CASE("fused update: the wide layer's blocks, of any size, update as the whole tensor does") {
    using Net = WideFirst;
    using Wide = Net::layer_type<1>;
    constexpr std::size_t n = 9, in = Wide::input_shape::size, out = Wide::output_shape::size;
    const auto x = testing::blobs(n, 16, 10, 2);
    const std::vector<float> dy = [] {
        std::vector<float> v(n * out);
        Rng rng(4);
        for (float& f : v) f = rng.uniform(-1.0f, 1.0f);
        return v;
    }();
    auto reference = std::make_unique<Net>(seed(1));
    Adam reference_adam(1e-2f);
    std::vector<float> reference_dx(n * in);
    auto& ref_wide = reference->layer<1>();
    ref_wide.backward_rows(x.images.data(), dy.data(), reference_dx.data(), n, Range{0, in},
                           GradientTarget{nullptr, GradientUpdate::overwrite});
    reference_adam.begin_step(*reference);
    const detail::WeightsTensor ref_weights = detail::weights_tensor_of(*reference, 1);
    CHECK(ref_weights.index == 0);
    reference_adam.update_elements(ref_weights.index, ref_weights.view, Range{0, in * out});
    const auto expected = testing::bits_of(testing::parameter_values(*reference));
    for (const std::size_t block_rows : {std::size_t{1}, std::size_t{7}, std::size_t{64}, std::size_t{1000}})
        for (const bool keep_gradient : {true, false}) {
            INFO("block rows " << block_rows << ", gradient kept " << keep_gradient);
            auto net = std::make_unique<Net>(seed(1));
            Adam adam(1e-2f);
            adam.begin_step(*net);
            std::vector<float> dx(n * in);
            const detail::WeightsTensor weights = detail::weights_tensor_of(*net, 1);
            detail::backward_rows_and_update(net->layer<1>(), adam, weights, x.images.data(), dy.data(), dx.data(), n,
                                             Range{0, in}, block_rows, keep_gradient);
            CHECK(testing::bits_of(testing::parameter_values(*net)) == expected);
            CHECK(testing::bits_of(dx) == testing::bits_of(reference_dx));
        }
}

// fit runs its steps without keeping the gradients (the fused layer's tensor is never written) and gives the
// plan back with the caller's setting.
TEST_CASE("fused update: fit does not keep the gradients, and restores the plan's setting") {
    using Net = WideFirst;
    const testing::ThreadCount count(1);
    const auto train = testing::blobs(40, 16, 10, 6);
    auto net = std::make_unique<Net>(seed(2));
    StepPlan<Net> plan(*net);
    REQUIRE(plan.keeps_gradients());
    const detail::WeightsTensor wide = detail::weights_tensor_of(*net, StepPlan<Net>::row_split_layer);
    std::fill(wide.view.gradient.begin(), wide.view.gradient.end(), 1234.5f);
    Adam adam(1e-2f);
    fit(plan, train, adam, {.epochs = 1, .batch = 20, .verbosity = Verbosity::silent});
    CHECK(plan.keeps_gradients());
    std::size_t changed = 0;
    for (const float g : wide.view.gradient) changed += g != 1234.5f;
    CHECK(changed == 0);
    plan.keep_gradients(false);
    fit(plan, train, adam, {.epochs = 1, .batch = 20, .verbosity = Verbosity::silent});
    CHECK(!plan.keeps_gradients());
}
