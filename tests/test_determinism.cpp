// Determinism: the same seed and thread count give bit-identical parameters and running statistics after an
// epoch of fit, for every kind of network the tests build, on 1 and on 2 threads; a different seed gives
// different ones (so the comparison can fail). On 2 threads each network takes one of the threaded paths of a
// step, checked below: kernels split across threads inside a serial step (GEMM panels, convolution images,
// whose weight gradients are reduced in part order), the sample split, or the row split, whose blocks of rows
// move between the threads with their measured speed (the result must not).

#include <doctest/doctest.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "ctnn/ctnn.hpp"
#include "network_values.hpp"
#include "reference_kernels.hpp"  // random_vector
#include "seed_networks.hpp"
#include "synthetic_data.hpp"
#include "thread_count.hpp"

using namespace ctnn;

namespace {

using Mlp = testing::SeedMlp;
using Cnn = Sequential<Input<12, 12, 1>, Conv2D<3, 3, 1, 32>, ReLU, Conv2D<3, 3, 32, 32>, ReLU, MaxPool2D<2>, Flatten,
                       Dense<512, 10>>;
using BatchNormCnn =
    Sequential<Input<12, 12, 1>, Conv2D<3, 3, 1, 16>, BatchNorm<>, ReLU, MaxPool2D<2>, Flatten, Dense<400, 10>>;
using ResidualCnn =
    Sequential<Input<12, 12, 1>, Conv2D<3, 3, 1, 16, 1, Padding::same>, ReLU,
               Residual<Conv2D<3, 3, 16, 16, 1, Padding::same>, ReLU, Conv2D<3, 3, 16, 16, 1, Padding::same>>, ReLU,
               AvgPool2D<2>, Flatten, Dense<576, 10>>;
using AvgPoolCnn = Sequential<Input<12, 12, 1>, Conv2D<3, 3, 1, 32>, ReLU, Conv2D<3, 3, 32, 32>, ReLU, AvgPool2D<2>,
                              Flatten, Dense<512, 10>>;
using GlobalAvgPoolCnn =
    Sequential<Input<12, 12, 1>, Conv2D<3, 3, 1, 32>, ReLU, Conv2D<3, 3, 32, 32>, ReLU, GlobalAvgPool2D, Dense<32, 10>>;
using DropoutMlp = Sequential<Input<32, 32, 1>, Flatten, Dense<1024, 128>, ReLU, Dropout<>, Dense<128, 10>>;

// How a step of the network uses a second thread.
enum class Threading { kernels, sample_split, row_split };

struct Trained {
    std::vector<std::uint32_t> parameters, state;
};

// One epoch of fit from `seed_value` (the initial weights and the sample order).
template <class Net>
Trained train_epoch(std::uint64_t seed_value, const data::Dataset& train, std::size_t batch) {
    auto net = std::make_unique<Net>(seed(seed_value), batch);
    Adam optimizer(1e-2f);
    fit(*net, train, optimizer, {.epochs = 1, .batch = batch, .seed = seed_value, .verbosity = Verbosity::silent});
    return {testing::bits_of(testing::parameter_values(*net)), testing::bits_of(testing::state_values(*net))};
}

// Two full batches (the row split's second step takes the split its first step's timings gave) and a smaller
// last one.
template <class Net>
void check_deterministic(std::size_t batch, Threading threading) {
    constexpr std::size_t side = Net::input_shape::dims[0];
    static_assert(Net::input_shape::size == side * side, "one channel, square images");
    const auto train = testing::blobs(batch * 5 / 2, side, 10, 31);
    for (const int threads : {1, 2}) {
        INFO("threads " << threads);
        const testing::ThreadCount count(threads);
        using Plan = StepPlan<Net>;
        if (threads == 2) {
            REQUIRE(Plan::parts_for(batch) == (threading == Threading::kernels ? 1 : 2));
            REQUIRE(Plan::splits_rows(batch) == (threading == Threading::row_split));
        }
        const Trained first = train_epoch<Net>(7, train, batch);
        const Trained again = train_epoch<Net>(7, train, batch);
        CHECK(first.parameters == again.parameters);
        CHECK(first.state == again.state);
        CHECK(first.state.size() == Net::state_count);
        if (threads == 2) {
            const Trained other = train_epoch<Net>(8, train, batch);
            CHECK(other.parameters != first.parameters);
        }
    }
}

}  // namespace

// The row split hands each thread a range of the wide layer's weights that follows the threads' speeds, so the
// ranges start and end anywhere: an element's update must not depend on them (Dense<576, 10> rows are 10 floats,
// not a whole number of vectors).
TEST_CASE("determinism: optimiser updates give each element the same bits whatever range it is updated in") {
    constexpr std::size_t n = 203;
    const auto g = reference::random_vector(n, 51), w0 = reference::random_vector(n, 52),
               m0 = reference::random_vector(n, 53), v0 = reference::random_vector(n, 54, 0.0f, 1e-3f);
    // update(w, g, m, v, begin, end) on [begin, end) of each array.
    const auto compare = [&](auto&& update) {
        auto w = w0, m = m0, v = v0;
        update(w.data(), g.data(), m.data(), v.data(), 0, n);
        for (std::size_t chunk = 1; chunk <= 2 * kernels::detail::lanes + 1; ++chunk) {
            INFO("ranges of " << chunk);
            auto wc = w0, mc = m0, vc = v0;
            for (std::size_t begin = 0; begin < n; begin += chunk)
                update(wc.data(), g.data(), mc.data(), vc.data(), begin, std::min(n, begin + chunk));
            CHECK(testing::bits_of(wc) == testing::bits_of(w));
            CHECK(testing::bits_of(mc) == testing::bits_of(m));
            CHECK(testing::bits_of(vc) == testing::bits_of(v));
        }
    };
    compare([](float* w, const float* g, float* m, float* v, std::size_t begin, std::size_t end) {
        kernels::adam_update(w + begin, g + begin, m + begin, v + begin, end - begin, 1e-2f, 0.9f, 0.999f, 1e-7f);
    });
    for (const bool nesterov : {false, true})
        compare([nesterov](float* w, const float* g, float* velocity, float*, std::size_t begin, std::size_t end) {
            kernels::sgd_momentum_update(w + begin, g + begin, velocity + begin, end - begin, 1e-2f, 0.9f, nesterov);
        });
}

TEST_CASE("determinism: an MLP (threaded GEMM in a serial step)") {
    static_assert(64 * 784 * 128 >= kernels::detail::gemm_parallel_min_madds);
    check_deterministic<Mlp>(64, Threading::kernels);
}
TEST_CASE("determinism: a CNN (sample split)") { check_deterministic<Cnn>(32, Threading::sample_split); }
TEST_CASE("determinism: a BatchNorm CNN (threaded convolution, running statistics)") {
    static_assert(BatchNormCnn::state_count == 32);
    check_deterministic<BatchNormCnn>(32, Threading::kernels);
}
TEST_CASE("determinism: a Residual CNN with AvgPool2D (row split below the residual block)") {
    check_deterministic<ResidualCnn>(32, Threading::row_split);
}
TEST_CASE("determinism: an AvgPool2D CNN (sample split)") {
    check_deterministic<AvgPoolCnn>(32, Threading::sample_split);
}
TEST_CASE("determinism: a GlobalAvgPool2D CNN (sample split)") {
    check_deterministic<GlobalAvgPoolCnn>(32, Threading::sample_split);
}
TEST_CASE("determinism: an MLP with Dropout (row split, a mask stream per thread)") {
    check_deterministic<DropoutMlp>(128, Threading::row_split);
}
