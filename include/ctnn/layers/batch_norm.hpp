#pragma once
// BatchNorm<Momentum, Epsilon>: batch normalisation (Ioffe & Szegedy 2015) over the channel axis, the last one
// (NHWC): features (rank 1, as PyTorch's BatchNorm1d) or the channels of an image (rank 3, height x width x
// channels, as BatchNorm2d; the statistics of a channel are taken over every sample and every pixel).
//
//   y = gamma * (x - mean) / sqrt(var + epsilon) + beta,   per channel
//
// A training forward normalises with the statistics of the whole batch (mean and biased variance over the
// n * height * width values of a channel); inference uses the running statistics. Those follow Keras'
// convention, running = momentum * running + (1 - momentum) * batch, with the unbiased batch variance
// (var * m / (m - 1)) for running_var, as PyTorch and TensorFlow keep it.
//
// The defaults are Keras' BatchNormalization (momentum 0.99, epsilon 1e-3). PyTorch's defaults (its momentum
// 0.1 weighs the batch, i.e. 0.9 here; eps 1e-5) are BatchNorm<std::ratio<9, 10>, std::ratio<1, 100000>>.
//
// Parameters: gamma (starts at 1) and beta (starts at 0), trainable; state: running_mean (0) and running_var
// (1), saved in model files, never optimised. The layer CouplesBatch: the training engine never splits a batch
// of a network containing it between threads by samples, so the statistics are the whole batch's whatever the
// thread count.

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <ratio>
#include <type_traits>

#include "ctnn/core/buffer.hpp"
#include "ctnn/core/tensor.hpp"
#include "ctnn/layers/activation_epilogue.hpp"
#include "ctnn/layers/layer.hpp"

namespace ctnn {

template <class Momentum = std::ratio<99, 100>, class Epsilon = std::ratio<1, 1000>>
struct BatchNorm {
    static_assert(Momentum::num >= 0 && Momentum::num < Momentum::den, "BatchNorm momentum must lie in [0, 1)");
    static_assert(Epsilon::num > 0, "BatchNorm epsilon must be positive");
    // No parameter_count here: 2 x channels, known only once bound (layers/layer.hpp).
    static constexpr double momentum = static_cast<double>(Momentum::num) / static_cast<double>(Momentum::den);
    static constexpr double epsilon = static_cast<double>(Epsilon::num) / static_cast<double>(Epsilon::den);

    template <ShapeType InputShape>
    class bind {
        static_assert(InputShape::rank == 1 || InputShape::rank == 3 || shape_mismatch<BatchNorm, InputShape>::value,
                      "BatchNorm expects features or an image (height x width x channels)");

    public:
        // The last axis, whatever the rank: defined even for a rejected shape, so nothing below cascades.
        static constexpr std::size_t channels = InputShape::dims[InputShape::rank - 1];
        // Values per channel in one sample: 1 for features, height x width for an image.
        static constexpr std::size_t pixels = InputShape::size / channels;

        using input_shape = InputShape;
        using output_shape = InputShape;
        static constexpr std::size_t parameter_count = 2 * channels;           // gamma, beta
        static constexpr std::size_t state_count = 2 * channels;               // running_mean, running_var
        static constexpr bool couples_batch = true;                            // CouplesBatch: the batch's statistics
        static constexpr std::size_t flops_per_sample = 3 * InputShape::size;  // subtract, scale, shift
        static constexpr std::string_view kind = "BatchNorm";
        static constexpr std::uint64_t fingerprint =
            layer_fingerprint<static_cast<std::size_t>(Momentum::num), static_cast<std::size_t>(Momentum::den),
                              static_cast<std::size_t>(Epsilon::num), static_cast<std::size_t>(Epsilon::den)>(kind);
        static std::string name() {
            return layer_name<static_cast<std::size_t>(Momentum::num), static_cast<std::size_t>(Momentum::den),
                              static_cast<std::size_t>(Epsilon::num), static_cast<std::size_t>(Epsilon::den)>(kind);
        }

        // Per-channel arrays only, nothing per sample: max_batch does not size anything (a fused activation's
        // gradient grows on first use).
        struct workspace {
            explicit workspace(std::size_t /*max_batch*/)
                : mean(channels),
                  variance(channels),
                  inv_std(channels),
                  scale(channels),
                  shift(channels),
                  slope(channels),
                  sum(channels),
                  sum_of_products(channels) {}
            // The statistics of the last training forward, for backward: mean, biased variance, 1/sqrt(var + eps)
            // per channel, over `count` values each.
            Buffer mean, variance, inv_std;
            std::size_t count = 0;
            // Whether mean/variance/inv_std hold a training forward's statistics not yet committed to the running
            // ones (backward commits them once and clears this).
            bool holds_training_statistics = false;
            // Per-call scratch: per-channel coefficients and double-precision sums.
            Buffer scale, shift, slope;
            aligned_vector<double> sum, sum_of_products;
            detail::ActivationGradient activation;
        };

        Tensor<Shape<channels>> gamma{};
        Tensor<Shape<channels>> beta{};
        Tensor<Shape<channels>> gamma_gradient{};
        Tensor<Shape<channels>> beta_gradient{};
        Tensor<Shape<channels>> running_mean{};
        Tensor<Shape<channels>> running_var{};

        void initialize(Rng& /*rng*/, Initializer /*init*/) noexcept {
            gamma.fill(1.0f);
            beta.fill(0.0f);
            running_mean.fill(0.0f);
            running_var.fill(1.0f);
            gamma_gradient.fill(0.0f);
            beta_gradient.fill(0.0f);
        }

        // Pass::training normalises with the batch's statistics and keeps them in ws for backward; Pass::inference
        // with the running ones, leaving ws's training statistics as they are. y must not overlap x.
        void forward(const float* x, float* y, std::size_t n, workspace& ws, Pass pass) const noexcept {
            forward_then<void>(x, y, n, ws, pass);
        }
        // FusesActivation: y = A(BatchNorm(x)), A run on each chunk of rows as it is normalised.
        template <class A>
        void forward_activated(const float* x, float* y, std::size_t n, workspace& ws, Pass pass) const noexcept {
            forward_then<A>(x, y, n, ws, pass);
        }
        // The backward pass from the gradient with respect to A's output y.
        template <class A>
        void backward_activated(const float* x, const float* y, const float* dy, float* dx, std::size_t n,
                                workspace& ws, GradientTarget target = {}) noexcept {
            backward(x, y, ws.activation.template of<A>(y, dy, n * pixels * channels), dx, n, ws, target);
        }

    private:
        // The forward pass, then A (none for void) on the output.
        template <class A>
        void forward_then(const float* x, float* y, std::size_t n, workspace& ws, Pass pass) const noexcept {
            const std::size_t rows = n * pixels;
            float* scale = ws.scale.data();
            if (pass == Pass::inference) {
                const float* g = gamma.data();
                const float* var = running_var.data();
                for (std::size_t c = 0; c < channels; ++c)
                    scale[c] = static_cast<float>(static_cast<double>(g[c]) /
                                                  std::sqrt(static_cast<double>(var[c]) + epsilon));
                normalize_then<A>(x, y, rows, running_mean.data(), scale, beta.data());
                return;
            }
            // Two passes over the batch, both summed in double: the mean, then the squared deviations from it
            // (no cancellation when the mean is large against the spread).
            double* sum = ws.sum.data();
            double* squares = ws.sum_of_products.data();
            std::fill_n(sum, channels, 0.0);
            std::fill_n(squares, channels, 0.0);
            add_rows(x, rows, sum);
            const double inv_count = 1.0 / static_cast<double>(rows);
            for (std::size_t c = 0; c < channels; ++c) sum[c] *= inv_count;  // now the mean, in double
            add_squared_deviations(x, rows, sum, squares);
            for (std::size_t c = 0; c < channels; ++c) {
                const double var = squares[c] * inv_count;
                const double inv_std = 1.0 / std::sqrt(var + epsilon);
                ws.mean[c] = static_cast<float>(sum[c]);
                ws.variance[c] = static_cast<float>(var);
                ws.inv_std[c] = static_cast<float>(inv_std);
                scale[c] = static_cast<float>(static_cast<double>(gamma.data()[c]) * inv_std);
            }
            ws.count = rows;
            ws.holds_training_statistics = true;
            normalize_then<A>(x, y, rows, ws.mean.data(), scale, beta.data());
        }
        template <class A>
        static void normalize_then(const float* x, float* y, std::size_t rows, const float* mean, const float* scale,
                                   const float* shift) noexcept {
            if constexpr (std::is_void_v<A>) {
                normalize(x, y, rows, mean, scale, shift);
            } else {
                detail::produce_then_activate<A>(y, rows, channels, [&](std::size_t first, std::size_t count) {
                    normalize(x + first * channels, y + first * channels, count, mean, scale, shift);
                });
            }
        }

    public:

        // Through the batch statistics, with xhat = (x - mean) * inv_std and m = n * pixels:
        //   dbeta = sum dy, dgamma = sum dy * xhat, dx = gamma * inv_std / m * (m dy - sum dy - xhat sum dy xhat)
        // (dx skipped when null; dx must not overlap x or dy). Then commits the forward's batch statistics to the
        // running ones: forward is const, so this is where a layer with state updates it (layers/layer.hpp). Only a
        // workspace that holds statistics of a training forward not yet committed commits, and clears that mark: two
        // backward calls after one forward (e.g. gradients of two losses) move the running statistics once.
        void backward(const float* x, const float* /*y*/, const float* dy, float* dx, std::size_t n, workspace& ws,
                      GradientTarget target = {}) noexcept {
            const std::size_t rows = n * pixels;
            double* sum_dy = ws.sum.data();
            double* sum_dy_centered = ws.sum_of_products.data();  // sum dy * (x - mean)
            std::fill_n(sum_dy, channels, 0.0);
            std::fill_n(sum_dy_centered, channels, 0.0);
            add_gradient_sums(x, dy, rows, ws.mean.data(), sum_dy, sum_dy_centered);

            float* dgamma = target.at(0, gamma_gradient.data());
            float* dbeta = target.at(channels, beta_gradient.data());
            const bool accumulate = target.accumulates();
            const double inv_count = 1.0 / static_cast<double>(rows);
            for (std::size_t c = 0; c < channels; ++c) {
                const double inv_std = ws.inv_std[c];
                const double sum_dy_xhat = sum_dy_centered[c] * inv_std;
                dgamma[c] = static_cast<float>(sum_dy_xhat + (accumulate ? static_cast<double>(dgamma[c]) : 0.0));
                dbeta[c] = static_cast<float>(sum_dy[c] + (accumulate ? static_cast<double>(dbeta[c]) : 0.0));
                // dx = scale * (dy - shift - (x - mean) * slope)
                ws.scale[c] = static_cast<float>(static_cast<double>(gamma.data()[c]) * inv_std);
                ws.shift[c] = static_cast<float>(sum_dy[c] * inv_count);
                ws.slope[c] = static_cast<float>(inv_std * sum_dy_xhat * inv_count);
            }
            if (dx != nullptr)
                input_gradient(x, dy, dx, rows, ws.mean.data(), ws.scale.data(), ws.shift.data(), ws.slope.data());
            commit(ws);
        }

        template <class F>
        void visit_parameters(F&& visit) {
            static constexpr std::size_t shape[] = {channels};
            visit(ParameterView{"gamma", flat(gamma), flat(gamma_gradient), shape});
            visit(ParameterView{"beta", flat(beta), flat(beta_gradient), shape});
        }
        template <class F>
        void visit_state(F&& visit) {
            static constexpr std::size_t shape[] = {channels};
            visit(StateView{"running_mean", flat(running_mean), shape});
            visit(StateView{"running_var", flat(running_var), shape});
        }

    private:
        // running = momentum * running + (1 - momentum) * batch, with the unbiased variance (m / (m - 1); a
        // single value per channel has variance 0 either way).
        void commit(workspace& ws) noexcept {
            if (!ws.holds_training_statistics) return;
            ws.holds_training_statistics = false;
            const double m = static_cast<double>(ws.count);
            const double correction = ws.count > 1 ? m / (m - 1.0) : 1.0;
            float* mean = running_mean.data();
            float* var = running_var.data();
            for (std::size_t c = 0; c < channels; ++c) {
                mean[c] = static_cast<float>(momentum * static_cast<double>(mean[c]) +
                                             (1.0 - momentum) * static_cast<double>(ws.mean[c]));
                var[c] = static_cast<float>(momentum * static_cast<double>(var[c]) +
                                            (1.0 - momentum) * static_cast<double>(ws.variance[c]) * correction);
            }
        }

        // The loops below walk rows of `channels` contiguous floats and keep one accumulator per channel, so the
        // inner loop over channels vectorises.

        // sum[c] += x[r, c]
        static void add_rows(const float* __restrict x, std::size_t rows, double* __restrict sum) noexcept {
            for (std::size_t r = 0; r < rows; ++r) {
                const float* __restrict row = x + r * channels;
                for (std::size_t c = 0; c < channels; ++c) sum[c] += static_cast<double>(row[c]);
            }
        }
        // squares[c] += (x[r, c] - mean[c])^2
        static void add_squared_deviations(const float* __restrict x, std::size_t rows, const double* __restrict mean,
                                           double* __restrict squares) noexcept {
            for (std::size_t r = 0; r < rows; ++r) {
                const float* __restrict row = x + r * channels;
                for (std::size_t c = 0; c < channels; ++c) {
                    const double d = static_cast<double>(row[c]) - mean[c];
                    squares[c] += d * d;
                }
            }
        }
        // sum_dy[c] += dy[r, c], sum_dy_centered[c] += dy[r, c] * (x[r, c] - mean[c])
        static void add_gradient_sums(const float* __restrict x, const float* __restrict dy, std::size_t rows,
                                      const float* __restrict mean, double* __restrict sum_dy,
                                      double* __restrict sum_dy_centered) noexcept {
            for (std::size_t r = 0; r < rows; ++r) {
                const float* __restrict xr = x + r * channels;
                const float* __restrict dyr = dy + r * channels;
                for (std::size_t c = 0; c < channels; ++c) {
                    const double g = static_cast<double>(dyr[c]);
                    sum_dy[c] += g;
                    sum_dy_centered[c] += g * (static_cast<double>(xr[c]) - static_cast<double>(mean[c]));
                }
            }
        }
        // y[r, c] = (x[r, c] - mean[c]) * scale[c] + shift[c]
        static void normalize(const float* __restrict x, float* __restrict y, std::size_t rows,
                              const float* __restrict mean, const float* __restrict scale,
                              const float* __restrict shift) noexcept {
            for (std::size_t r = 0; r < rows; ++r) {
                const float* __restrict xr = x + r * channels;
                float* __restrict yr = y + r * channels;
                for (std::size_t c = 0; c < channels; ++c) yr[c] = (xr[c] - mean[c]) * scale[c] + shift[c];
            }
        }
        // dx[r, c] = scale[c] * (dy[r, c] - shift[c] - (x[r, c] - mean[c]) * slope[c])
        static void input_gradient(const float* __restrict x, const float* __restrict dy, float* __restrict dx,
                                   std::size_t rows, const float* __restrict mean, const float* __restrict scale,
                                   const float* __restrict shift, const float* __restrict slope) noexcept {
            for (std::size_t r = 0; r < rows; ++r) {
                const float* __restrict xr = x + r * channels;
                const float* __restrict dyr = dy + r * channels;
                float* __restrict dxr = dx + r * channels;
                for (std::size_t c = 0; c < channels; ++c)
                    dxr[c] = scale[c] * (dyr[c] - shift[c] - (xr[c] - mean[c]) * slope[c]);
            }
        }
    };
};

}  // namespace ctnn
