// Tests for ctnn/io/embedded.hpp: io::load(net, embedded) and Sequential's constructor from EmbeddedParameters
// put every value where the model file's order says (the trainable tensors layer by layer, then the state),
// checked on the layers' own members; the table's total is a constant. ctnn_embed's headers are tested end to end
// in tests/embed; the mismatch diagnostics in tests/compile_fail/embedded_*.

#include <doctest/doctest.h>

#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <type_traits>

#include <ctnn/ctnn.hpp>
#include <ctnn/io/embedded.hpp>
#include <ctnn/layers/batch_norm.hpp>

using namespace ctnn;

namespace {

// 4 x 2 weights + 2 biases, BatchNorm's gamma and beta (2 + 2), then its running mean and variance (2 + 2).
using Net = Sequential<Input<4>, Dense<4, 2>, BatchNorm<>, ReLU>;
static_assert(Net::parameter_count == 14 && Net::state_count == 4);

constexpr std::array<float, 18> make_values() {
    std::array<float, 18> v{};
    for (std::size_t i = 0; i < v.size(); ++i) v[i] = 0.5f + static_cast<float>(i);
    return v;
}
constexpr std::array<float, 18> values = make_values();
constexpr std::uint64_t dims[] = {4, 2, 2, 2, 2, 2, 2};
constexpr io::EmbeddedTensor tensors[] = {
    {0, "weights", {dims + 0, 2}, 8}, {0, "bias", {dims + 2, 1}, 2},         {1, "gamma", {dims + 3, 1}, 2},
    {1, "beta", {dims + 4, 1}, 2},    {1, "running_mean", {dims + 5, 1}, 2}, {1, "running_var", {dims + 6, 1}, 2},
};
constexpr io::EmbeddedParameters<Net::architecture_hash, 18> embedded{values, tensors};

static_assert(io::element_total(embedded.tensors) == 18);
static_assert(decltype(embedded)::architecture_hash == Net::architecture_hash);
static_assert(decltype(embedded)::value_count == 18);
static_assert(!std::is_convertible_v<decltype(embedded), Net>, "the constructor is explicit");

}  // namespace

TEST_CASE("embedded: values land in the model file's order, the state after every parameter") {
    const auto net = std::make_unique<Net>(embedded);
    const auto& dense = net->layer<0>();
    const auto& norm = net->layer<1>();
    for (std::size_t i = 0; i < 8; ++i) CHECK(dense.weights.data()[i] == values[i]);
    for (std::size_t i = 0; i < 2; ++i) {
        CHECK(dense.bias.data()[i] == values[8 + i]);
        CHECK(norm.gamma.data()[i] == values[10 + i]);
        CHECK(norm.beta.data()[i] == values[12 + i]);
        CHECK(norm.running_mean.data()[i] == values[14 + i]);
        CHECK(norm.running_var.data()[i] == values[16 + i]);
    }
}

TEST_CASE("embedded: io::load replaces what a network holds, and nothing else changes") {
    auto net = std::make_unique<Net>(seed{3}, 8);
    io::load(*net, embedded);
    CHECK(net->max_batch() == 8);
    CHECK(net->layer<0>().weights.data()[0] == 0.5f);
    CHECK(net->layer<1>().running_var.data()[1] == 17.5f);
    // Inference uses the embedded statistics: y = gamma (x - mean) / sqrt(var + eps) + beta, then ReLU.
    const float x[4] = {1.0f, -1.0f, 0.5f, 2.0f};
    const auto y = net->forward(x, 1);
    for (std::size_t c = 0; c < 2; ++c) {
        double z = values[8 + c];
        for (std::size_t k = 0; k < 4; ++k) z += static_cast<double>(x[k]) * values[k * 2 + c];
        const double expected = values[10 + c] * (z - values[14 + c]) / std::sqrt(values[16 + c] + 1e-3) +
                                values[12 + c];
        CHECK(y[c] == doctest::Approx(expected > 0 ? expected : 0.0).epsilon(1e-5));
    }
}
