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

struct Pass_ {
    std::vector<std::uint32_t> output, gradients, input_gradient;
};

// Forward and backward through the network (fused on one thread).
template <class Net>
Pass_ through_network(Net& net, const data::Dataset& d, const std::vector<float>& dy) {
    const std::size_t n = d.size();
    typename Net::Workspace ws(n);
    const std::span<const float> y = net.forward(d.images.data(), n, ws, Pass::training);
    Pass_ result{testing::bits_of(y), {}, {}};
    std::vector<float> dx(n * Net::input_shape::size);
    net.backward(d.images.data(), dy.data(), n, ws, Net::layer_count - 1, dx.data(), nullptr, GradientUpdate::overwrite);
    result.gradients = testing::bits_of(testing::gradient_values(net));
    result.input_gradient = testing::bits_of(dx);
    return result;
}

// The same layers one after the other on the whole batch, each with its own output and gradient buffers.
template <class Net>
Pass_ layer_by_layer(Net& net, const data::Dataset& d, const std::vector<float>& dy) {
    constexpr std::size_t layers = Net::layer_count;
    const std::size_t n = d.size();
    typename Net::Workspace ws(n);
    std::array<Buffer, layers> out, grad;
    const float* in = d.images.data();
    std::array<const float*, layers> inputs{};
    [&]<std::size_t... I>(std::index_sequence<I...>) {
        ((inputs[I] = in, out[I].resize(n * Net::template layer_type<I>::output_shape::size),
          net.template layer<I>().forward(in, out[I].data(), n, ws.template layer_workspace<I>(), Pass::training),
          in = out[I].data()),
         ...);
    }
    (std::make_index_sequence<layers>{});
    Pass_ result{testing::bits_of(std::span<const float>(out[layers - 1])), {}, {}};
    const float* g = dy.data();
    [&]<std::size_t... R>(std::index_sequence<R...>) {
        (([&] {
             constexpr std::size_t I = layers - 1 - R;
             grad[I].resize(n * Net::template layer_type<I>::input_shape::size);
             net.template layer<I>().backward(inputs[I], out[I].data(), g, grad[I].data(), n,
                                              ws.template layer_workspace<I>(),
                                              GradientTarget{nullptr, GradientUpdate::overwrite});
             g = grad[I].data();
         }()),
         ...);
    }
    (std::make_index_sequence<layers>{});
    result.gradients = testing::bits_of(testing::gradient_values(net));
    result.input_gradient = testing::bits_of(std::span<const float>(grad[0]));
    return result;
}

template <class Net>
void check_fused_matches_layer_by_layer() {
    const testing::ThreadCount one(1);
    constexpr std::size_t n = 7;
    const auto d = testing::blobs(n, 12, 10, 3);
    std::vector<float> dy(n * Net::output_shape::size);
    Rng rng(9);
    for (float& v : dy) v = rng.uniform(-1.0f, 1.0f);
    auto fused_net = std::make_unique<Net>(seed(2));
    auto reference_net = std::make_unique<Net>(*fused_net);
    const Pass_ fused = through_network(*fused_net, d, dy);
    const Pass_ reference = layer_by_layer(*reference_net, d, dy);
    CHECK(fused.output == reference.output);
    CHECK(fused.gradients == reference.gradients);
    CHECK(fused.input_gradient == reference.input_gradient);
    // The comparison can fail: another output gradient gives other parameter gradients.
    for (float& v : dy) v = -v * 0.5f;
    CHECK(through_network(*fused_net, d, dy).gradients != reference.gradients);
}

}  // namespace

TEST_CASE("producer fusion: Conv2D, ReLU, MaxPool2D image by image give the layers' own bits") {
    check_fused_matches_layer_by_layer<ProducerFirst>();
    check_fused_matches_layer_by_layer<ProducerSecond>();
}

// On two threads the chain does not fuse (the convolution splits the batch between threads instead): the outputs
// are the same bits, the convolution's weight gradient the same up to the order of the threads' partial sums.
TEST_CASE("producer fusion: the unfused two-thread pass agrees") {
    constexpr std::size_t n = 16;
    const auto d = testing::blobs(n, 12, 10, 4);
    std::vector<float> dy(n * 10, 0.25f);
    auto one_net = std::make_unique<ProducerSecond>(seed(5));
    auto two_net = std::make_unique<ProducerSecond>(*one_net);
    Pass_ one, two;
    {
        const testing::ThreadCount count(1);
        one = through_network(*one_net, d, dy);
    }
    {
        const testing::ThreadCount count(2);
        two = through_network(*two_net, d, dy);
    }
    CHECK(one.output == two.output);
    const auto g1 = testing::gradient_values(*one_net), g2 = testing::gradient_values(*two_net);
    REQUIRE(g1.size() == g2.size());
    for (std::size_t i = 0; i < g1.size(); ++i) REQUIRE(g1[i] == doctest::Approx(g2[i]).epsilon(1e-4).scale(1e-5));
}
