#include "ctnn/kernels/elementwise.hpp"

#include <doctest/doctest.h>

#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

#include "reference_kernels.hpp"

namespace k = ctnn::kernels;
using ctnn::reference::random_vector;

namespace {
const std::size_t lengths[] = {0, 1, 7, 16, 31, 33, 127, 784};
}

TEST_CASE("relu and relu_backward match the scalar definition, any offset") {
    for (std::size_t n : lengths)
        for (std::size_t offset : {0, 1, 3}) {
            const auto x = random_vector(n + offset, n + 1);
            const auto dy = random_vector(n + offset, n + 2);
            std::vector<float> y(n + offset), dx(n + offset);
            k::relu(x.data() + offset, y.data() + offset, n);
            k::relu_backward(y.data() + offset, dy.data() + offset, dx.data() + offset, n);
            for (std::size_t i = offset; i < n + offset; ++i) {
                CHECK(y[i] == (x[i] > 0.0f ? x[i] : 0.0f));
                CHECK(dx[i] == (x[i] > 0.0f ? dy[i] : 0.0f));
            }
        }
}

TEST_CASE("relu keeps NaN (so a NaN input reaches the loss), maps -0 and negatives to +0, in body and tail") {
    const float nan = std::numeric_limits<float>::quiet_NaN();
    const float inf = std::numeric_limits<float>::infinity();
    for (std::size_t n : lengths) {
        std::vector<float> x(n), y(n);
        const float pattern[] = {nan, -0.0f, -1.5f, 2.0f, inf, -inf, 0.0f};
        for (std::size_t i = 0; i < n; ++i) x[i] = pattern[i % 7];
        k::relu(x.data(), y.data(), n);
        for (std::size_t i = 0; i < n; ++i) {
            CAPTURE(n); CAPTURE(i);
            if (std::isnan(x[i])) {
                CHECK(std::isnan(y[i]));
            } else {
                const float expected = x[i] > 0.0f ? x[i] : 0.0f;
                CHECK(std::bit_cast<std::uint32_t>(y[i]) == std::bit_cast<std::uint32_t>(expected));
            }
        }
    }
}

TEST_CASE("add_bias, sum_rows and multiply") {
    for (std::size_t rows : {1, 7, 32})
        for (std::size_t cols : {1, 7, 10, 31, 33, 128, 127}) {
            const auto bias = random_vector(cols, 5);
            auto y = random_vector(rows * cols, 6);
            const auto y0 = y;
            k::add_bias(y.data(), bias.data(), rows, cols);
            for (std::size_t i = 0; i < rows * cols; ++i) CHECK(y[i] == y0[i] + bias[i % cols]);
            for (bool acc : {false, true}) {
                std::vector<float> out(cols, 2.0f);
                k::sum_rows(y0.data(), rows, cols, out.data(), acc);
                for (std::size_t c = 0; c < cols; ++c) {
                    double s = acc ? 2.0 : 0.0;
                    for (std::size_t r = 0; r < rows; ++r) s += y0[r * cols + c];
                    CHECK(out[c] == doctest::Approx(s).epsilon(1e-5));
                }
            }
            std::vector<float> prod(rows * cols);
            k::multiply(y0.data(), y.data(), prod.data(), rows * cols);
            for (std::size_t i = 0; i < rows * cols; ++i) CHECK(prod[i] == y0[i] * y[i]);
        }
}

// The activation's derivative and the column sums in one pass: the bits of relu_backward, then sum_rows.
TEST_CASE("activation_backward_and_column_sums is relu_backward then sum_rows, bit for bit") {
    struct Relu {
        static void apply_backward(const float* y, const float* dy, float* dx, std::size_t count) noexcept {
            k::relu_backward(y, dy, dx, count);
        }
    };
    for (std::size_t rows : {1, 7, 32})
        for (std::size_t cols : {1, 10, 31, 33, 128, 127})
            for (bool acc : {false, true}) {
                auto y = random_vector(rows * cols, 7);
                for (std::size_t i = 0; i < y.size(); i += 3) y[i] = 0.0f;  // some outputs at ReLU's zero
                const auto dy = random_vector(rows * cols, 8);
                std::vector<float> dz(rows * cols), want_dz(rows * cols), sums(cols, 0.5f), want(cols, 0.5f);
                k::activation_backward_and_column_sums<Relu>(y.data(), dy.data(), dz.data(), rows, cols, sums.data(),
                                                             acc);
                k::relu_backward(y.data(), dy.data(), want_dz.data(), rows * cols);
                k::sum_rows(want_dz.data(), rows, cols, want.data(), acc);
                INFO("rows=" << rows << " cols=" << cols << " acc=" << acc);
                CHECK(dz == want_dz);
                CHECK(sums == want);
            }
}

TEST_CASE("softmax_rows and its backward match the reference") {
    for (std::size_t rows : {1, 3})
        for (std::size_t cols : {1, 7, 10, 31, 33, 127}) {
            const auto x = random_vector(rows * cols, cols, -20.0f, 20.0f);
            const auto dy = random_vector(rows * cols, cols + 1);
            std::vector<float> y(rows * cols), dx(rows * cols);
            k::softmax_rows(x.data(), y.data(), rows, cols);
            k::softmax_rows_backward(y.data(), dy.data(), dx.data(), rows, cols);
            for (std::size_t r = 0; r < rows; ++r) {
                double top = x[r * cols], total = 0.0, dot = 0.0;
                for (std::size_t c = 0; c < cols; ++c) top = std::max<double>(top, x[r * cols + c]);
                for (std::size_t c = 0; c < cols; ++c) total += std::exp(x[r * cols + c] - top);
                for (std::size_t c = 0; c < cols; ++c) {
                    const double p = std::exp(x[r * cols + c] - top) / total;
                    CHECK(y[r * cols + c] == doctest::Approx(p).epsilon(1e-5).scale(1e-6));
                    dot += static_cast<double>(dy[r * cols + c]) * y[r * cols + c];
                }
                for (std::size_t c = 0; c < cols; ++c) {
                    const double want = y[r * cols + c] * (dy[r * cols + c] - dot);
                    CHECK(dx[r * cols + c] == doctest::Approx(want).epsilon(1e-4).scale(1e-6));
                }
            }
        }
}
