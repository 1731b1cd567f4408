// A Conv2D, ReLU, MaxPool2D run image by image inside the pooling's passes (AbsorbsProducer) when the kernels
// run on one thread. The network's forward output, every parameter gradient and the input gradient must be the
// bits of the same layers run one after the other on the whole batch (the unfused pass), with the producer first
// (no input gradient needed inside the network) or after another convolution (its input gradient needed).

#include <doctest/doctest.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "ctnn/ctnn.hpp"
#include "fusion_check.hpp"
#include "network_values.hpp"
#include "synthetic_data.hpp"
#include "thread_count.hpp"

using namespace ctnn;

namespace {

using ProducerFirst = Sequential<Input<12, 12, 1>, Conv2D<3, 3, 1, 8>, ReLU, MaxPool2D<2>, Flatten, Dense<200, 10>>;
using ProducerSecond = Sequential<Input<12, 12, 1>, Conv2D<3, 3, 1, 4, 1, Padding::same>, ReLU, Conv2D<3, 3, 4, 6>,
                                  ReLU, MaxPool2D<2>, Flatten, Dense<150, 10>>;

static_assert(ProducerFirst::chain::producer_absorbed<0> && ProducerFirst::chain::absorbs_producer<2>);
static_assert(ProducerSecond::chain::producer_absorbed<2> && !ProducerSecond::chain::producer_absorbed<0>);

}  // namespace

TEST_CASE("producer fusion: Conv2D, ReLU, MaxPool2D image by image give the layers' own bits") {
    testing::check_fused_matches_layer_by_layer<ProducerFirst>(7);
    testing::check_fused_matches_layer_by_layer<ProducerSecond>(7);
}

// On two threads the chain does not fuse (the convolution splits the batch between threads instead): the outputs
// are the same bits, the convolution's weight gradient the same up to the order of the threads' partial sums.
TEST_CASE("producer fusion: the unfused two-thread pass agrees") {
    constexpr std::size_t n = 16;
    const auto d = testing::blobs(n, 12, 10, 4);
    std::vector<float> dy(n * 10, 0.25f);
    auto one_net = std::make_unique<ProducerSecond>(seed(5));
    auto two_net = std::make_unique<ProducerSecond>(*one_net);
    testing::FusionPass one, two;
    {
        const testing::ThreadCount count(1);
        one = testing::through_network(*one_net, d, dy);
    }
    {
        const testing::ThreadCount count(2);
        two = testing::through_network(*two_net, d, dy);
    }
    CHECK(one.output == two.output);
    const auto g1 = testing::gradient_values(*one_net), g2 = testing::gradient_values(*two_net);
    REQUIRE(g1.size() == g2.size());
    for (std::size_t i = 0; i < g1.size(); ++i) REQUIRE(g1[i] == doctest::Approx(g2[i]).epsilon(1e-4).scale(1e-5));
}
