// bf16 inference (kernels/bf16.hpp, network/bf16_inference.hpp): the rounding against its definition, the kernel
// against naive loops over the rounded weights, and a network's bf16 outputs against the same network with its
// Dense weights rounded (float), for batch sizes that take every row group, bit for bit across batch sizes.

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
#include "network_values.hpp"
#include "reference_kernels.hpp"
#include "synthetic_data.hpp"

using namespace ctnn;
using kernels::from_bf16;
using kernels::to_bf16;

TEST_CASE("to_bf16 rounds to nearest even and keeps special values") {
    CHECK(to_bf16(1.0f) == 0x3F80);
    CHECK(to_bf16(-2.0f) == 0xC000);
    CHECK(to_bf16(0.0f) == 0x0000);
    CHECK(to_bf16(-0.0f) == 0x8000);
    CHECK(to_bf16(std::numeric_limits<float>::infinity()) == 0x7F80);
    CHECK(std::isnan(from_bf16(to_bf16(std::numeric_limits<float>::quiet_NaN()))));
    // A NaN whose payload sits in the low bits only must not round to infinity.
    CHECK(std::isnan(from_bf16(to_bf16(std::bit_cast<float>(0x7F800001u)))));
    // Halfway cases: 1 + 2^-8 lies between 1 and 1 + 2^-7 and goes to the even one (1); 1 + 3 * 2^-8 goes up.
    CHECK(to_bf16(1.0f + 0x1p-8f) == 0x3F80);
    CHECK(to_bf16(1.0f + 3 * 0x1p-8f) == 0x3F82);
    CHECK(to_bf16(1.0f + 0x1p-8f + 0x1p-20f) == 0x3F81);  // just above halfway: up
    // The largest finite float rounds to infinity (it is above the largest bf16 by more than half a step).
    CHECK(to_bf16(std::numeric_limits<float>::max()) == 0x7F80);
    for (float v : {0.1f, -3.75f, 1e-30f, 6.5e4f}) CHECK(std::fabs(from_bf16(to_bf16(v)) - v) <= std::fabs(v) * 0x1p-8f);
}

TEST_CASE("affine_bf16 matches naive loops over the rounded weights") {
    // N = 37 leaves a partial vector for every lane count; n = 1..9 takes every row group.
    constexpr std::size_t k = 19, n_cols = 37;
    const auto w = reference::random_vector(k * n_cols, 3);
    std::vector<std::uint16_t> w16(w.size());
    for (std::size_t i = 0; i < w.size(); ++i) w16[i] = to_bf16(w[i]);
    for (std::size_t rows = 1; rows <= 9; ++rows) {
        INFO("rows " << rows);
        const auto x = reference::random_vector(rows * k, 10 + rows);
        std::vector<float> y(rows * n_cols + 1, 123.0f);
        kernels::affine_bf16<k, n_cols>(x.data(), rows, w16.data(), y.data());
        for (std::size_t r = 0; r < rows; ++r)
            for (std::size_t j = 0; j < n_cols; ++j) {
                double sum = 0.0;
                for (std::size_t p = 0; p < k; ++p) sum += static_cast<double>(x[r * k + p]) * from_bf16(w16[p * n_cols + j]);
                REQUIRE(y[r * n_cols + j] == doctest::Approx(sum).epsilon(1e-5).scale(1.0));
            }
        CHECK(y.back() == 123.0f);  // nothing written past the output
    }
}

namespace {
using SmallCnn = Sequential<Input<12, 12, 1>, Conv2D<3, 3, 1, 8>, ReLU, MaxPool2D<2>, Flatten, Dense<200, 40>, ReLU,
                            Dense<40, 10>, Softmax>;
}  // namespace

TEST_CASE("Bf16Inference: the network with its Dense weights rounded, and the same bits at every batch size") {
    auto net = std::make_unique<SmallCnn>(seed(4), 16);
    const Bf16Inference<SmallCnn> bf16(*net);
    static_assert(Bf16Inference<SmallCnn>::in_bf16<4> && Bf16Inference<SmallCnn>::in_bf16<6>);
    static_assert(!Bf16Inference<SmallCnn>::in_bf16<1> && !Bf16Inference<SmallCnn>::in_bf16<0>);
    CHECK(bf16.weights(4).size() == 200 * 40);
    CHECK(bf16.weights(1).empty());

    // The float reference: a copy of the network whose Dense weights hold their bf16 values.
    auto rounded = std::make_unique<SmallCnn>(*net);
    rounded->visit_parameters([](std::size_t layer, const ParameterView& p) {
        if ((layer == 4 || layer == 6) && p.name == "weights")
            for (float& v : p.value) v = from_bf16(to_bf16(v));
    });
    const auto before = testing::parameter_and_state_bits(*net);

    constexpr std::size_t n = 13;
    const auto data = testing::blobs(n, 12, 10, 6);
    SmallCnn::Workspace ws(16), reference_ws(16);
    const std::span<const float> out = bf16.forward(data.images.data(), n, ws);
    const std::vector<float> all(out.begin(), out.end());
    const std::span<const float> expected = rounded->forward(data.images.data(), n, reference_ws);
    REQUIRE(all.size() == n * 10);
    for (std::size_t i = 0; i < all.size(); ++i) REQUIRE(all[i] == doctest::Approx(expected[i]).epsilon(1e-5));
    // The float layers before the first Dense (one range: the convolution with its pooling) give the network's
    // own bits.
    CHECK(testing::bits_of(ws.activation<2>(n)) == testing::bits_of(reference_ws.activation<2>(n)));

    // One sample at a time, and in groups of 5: the same bits as the batch of 13.
    for (const std::size_t group : {std::size_t{1}, std::size_t{5}})
        for (std::size_t first = 0; first < n; first += group) {
            const std::size_t count = std::min(group, n - first);
            const std::span<const float> part = bf16.forward(data.images.data() + first * 144, count, ws);
            for (std::size_t i = 0; i < count * 10; ++i)
                REQUIRE(std::bit_cast<std::uint32_t>(part[i]) == std::bit_cast<std::uint32_t>(all[first * 10 + i]));
        }
    CHECK(testing::parameter_and_state_bits(*net) == before);  // read, never changed

    CHECK_THROWS_WITH_AS(bf16.forward(data.images.data(), 17, ws),
                         "Bf16Inference::forward: batch of 17 samples, the workspace holds 1..16",
                         std::invalid_argument);
}

TEST_CASE("predict with Bf16Inference: the argmax of its outputs, in batches of the workspace") {
    auto net = std::make_unique<SmallCnn>(seed(7), 16);
    const Bf16Inference<SmallCnn> bf16(*net);
    constexpr std::size_t n = 11;
    const auto data = testing::blobs(n, 12, 10, 8);
    SmallCnn::Workspace small(4), whole(n);  // 4: three batches, the last of 3
    std::vector<std::uint8_t> labels(n, 255);
    predict(bf16, small, data.images.data(), n, labels.data());
    const std::span<const float> out = bf16.forward(data.images.data(), n, whole);
    for (std::size_t i = 0; i < n; ++i) {
        const float* row = out.data() + i * 10;
        CHECK(labels[i] == static_cast<std::uint8_t>(std::max_element(row, row + 10) - row));
    }
}
