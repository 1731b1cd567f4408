#pragma once
// Dense<In, Out>: y = x W + b on a flat input. W is stored [In x Out] so a batch is one GEMM.

#include <cmath>
#include <cstddef>

#include "ctnn/core/parallel.hpp"
#include "ctnn/core/tensor.hpp"
#include "ctnn/kernels/elementwise.hpp"
#include "ctnn/kernels/gemm.hpp"
#include "ctnn/kernels/small_batch.hpp"
#include "ctnn/kernels/transpose.hpp"
#include "ctnn/layers/activation_epilogue.hpp"
#include "ctnn/layers/layer.hpp"

namespace ctnn {

template <std::size_t In, std::size_t Out>
struct Dense {
    static_assert(In > 0 && Out > 0, "Dense needs positive input and output sizes");
    static constexpr std::size_t input_size = In;
    static constexpr std::size_t output_size = Out;
    static constexpr std::size_t parameter_count = In * Out + Out;

    template <ShapeType InputShape>
    class bind : public Stateless {
        static_assert(InputShape::rank == 1 || shape_mismatch<Dense, InputShape>::value,
                      "Dense expects a flat input: put Flatten before it");
        // Checked only for flat inputs, so that a missing Flatten reports one error, not two.
        static_assert(InputShape::rank != 1 || InputShape::size == In || shape_mismatch<Dense, InputShape>::value,
                      "Dense input size does not match the previous layer's output");

    public:
        using input_shape = InputShape;
        using output_shape = Shape<Out>;
        // The gradient with respect to a fused activation's input (FusesActivation), grown on first use.
        struct workspace {
            explicit workspace(std::size_t /*max_batch*/) noexcept {}
            detail::ActivationGradient activation;
        };
        static constexpr std::size_t parameter_count = Dense::parameter_count;
        static constexpr std::string_view kind = "Dense";
        static constexpr std::uint64_t fingerprint = layer_fingerprint<In, Out>(kind);
        static std::string name() { return layer_name<In, Out>(kind); }
        static constexpr std::size_t multiply_adds_per_sample = In * Out;

        Tensor<Shape<In, Out>> weights{};
        Tensor<Shape<Out>> bias{};
        Tensor<Shape<In, Out>> weights_gradient{};
        Tensor<Shape<Out>> bias_gradient{};

        void initialize(Rng& rng, Initializer init) {
            if (init == Initializer::glorot_uniform) {
                const float limit = std::sqrt(6.0f / static_cast<float>(In + Out));
                for (float& w : weights) w = rng.uniform(-limit, limit);
            } else {
                const float stddev = std::sqrt(2.0f / static_cast<float>(In));
                for (float& w : weights) w = stddev * rng.normal();
            }
            bias.fill(0.0f);
            weights_gradient.fill(0.0f);
            bias_gradient.fill(0.0f);
        }

        // A few rows (inference at batch 1-8) stream W once with the bias as the starting sum; training batches
        // take the GEMM.
        void forward(const float* x, float* y, std::size_t n, workspace& /*ws*/, Pass /*pass*/) const noexcept {
            if (n <= kernels::small_batch_max_rows) {
                kernels::small_batch_affine<In, Out>(x, n, weights.data(), bias.data(), y);
                return;
            }
            forward_rows(x, y, n, Range{0, In});
            finish_rows(y, n);
        }

        // FusesActivation: y = A(x W + b). At a few rows A runs on the rows just written; a training batch adds the
        // bias and runs A on each tile of the product as it leaves the register tiles.
        template <class A>
        void forward_activated(const float* x, float* y, std::size_t n, workspace& /*ws*/, Pass /*pass*/) const {
            if (n <= kernels::small_batch_max_rows) {
                kernels::small_batch_affine<In, Out>(x, n, weights.data(), bias.data(), y);
                A::apply(y, y, n * Out);
                return;
            }
            const float* b = bias.data();
            kernels::gemm(kernels::Trans::no, kernels::Trans::no, n, Out, In, x, In, weights.data(), Out, y, Out,
                          false, [b](float* c, std::size_t ldc, std::size_t rows, std::size_t col, std::size_t cols) {
                              for (std::size_t r = 0; r < rows; ++r) {
                                  float* row = c + r * ldc;
                                  kernels::add_bias(row, b + col, 1, cols);
                                  A::apply(row, row, cols);
                              }
                          });
        }
        // The same backward pass from the gradient with respect to A's output y: A's derivative and the bias
        // gradient's column sums in one pass over dy, then the two products.
        template <class A>
        void backward_activated(const float* x, const float* y, const float* dy, float* dx, std::size_t n,
                                workspace& ws, GradientTarget target = {}) {
            backward_rows(x, finish_rows_backward_activated<A>(y, dy, n, ws, target), dx, n, Range{0, In}, target);
        }
        // finish_rows_backward with A after the layer, for the row split's and the fused update's callers: the
        // gradient with respect to the product, dz = A's derivative (from A's output y) applied to dy, and the bias
        // gradient from dz's column sums, in one pass. Returns dz (in ws), for backward_rows.
        template <class A>
        const float* finish_rows_backward_activated(const float* y, const float* dy, std::size_t n, workspace& ws,
                                                    GradientTarget target) {
            float* dz = ws.activation.room(n * Out);
            float* db = target.at(In * Out, bias_gradient.data());
            kernels::activation_backward_and_column_sums<A>(y, dy, dz, n, Out, db, target.accumulates());
            return dz;
        }

        // dW (+)= x^T dy, db (+)= column sums of dy, dx = dy W^T (skipped when dx is null). Never reads y.
        void backward(const float* x, const float* /*y*/, const float* dy, float* dx, std::size_t n, workspace& /*ws*/,
                      GradientTarget target = {}) noexcept {
            backward_rows(x, dy, dx, n, Range{0, In}, target);
            finish_rows_backward(dy, n, target);
        }

        // RowSplittable: forward and backward by ranges of W's input rows, for threads that split W that way
        // (each then reads and writes only its rows of W and of their gradient). x and dx have In columns;
        // `rows` is a range of [0, In). y = x[:, rows] W[rows, :], without the bias: the caller sums the
        // partial outputs of all ranges, then calls finish_rows once.
        static constexpr std::size_t row_width = Out;
        void forward_rows(const float* x, float* y, std::size_t n, Range rows) const noexcept {
            kernels::gemm(kernels::Trans::no, kernels::Trans::no, n, Out, rows.end - rows.begin, x + rows.begin, In,
                          weights.data() + rows.begin * Out, Out, y, Out);
        }
        void finish_rows(float* y, std::size_t n) const noexcept { kernels::add_bias(y, bias.data(), n, Out); }
        // dW[rows, :] (+)= x[:, rows]^T dy; dx[:, rows] = dy W[rows, :]^T unless dx is null.
        void backward_rows(const float* x, const float* dy, float* dx, std::size_t n, Range rows,
                           GradientTarget target) noexcept {
            float* dw = target.at(0, weights_gradient.data());
            weight_gradient_rows(x, dy, n, rows, dw + rows.begin * Out, target.accumulates());
            if (dx != nullptr) input_gradient_rows(dy, dx, n, rows);
        }
        // The same with the rows' weight gradient written to dw_rows ((rows.end - rows.begin) x Out) instead.
        void backward_rows_into(const float* x, const float* dy, float* dx, std::size_t n, Range rows,
                                float* dw_rows) const noexcept {
            weight_gradient_rows(x, dy, n, rows, dw_rows, false);
            if (dx != nullptr) input_gradient_rows(dy, dx, n, rows);
        }
        // dw_rows (+)= x[:, rows]^T dy, (rows.end - rows.begin) x Out.
        static void weight_gradient_rows(const float* x, const float* dy, std::size_t n, Range rows, float* dw_rows,
                                         bool accumulate) noexcept {
            kernels::gemm(kernels::Trans::yes, kernels::Trans::no, rows.end - rows.begin, Out, n, x + rows.begin, In,
                          dy, Out, dw_rows, Out, accumulate);
        }
        // db (+)= column sums of dy.
        void finish_rows_backward(const float* dy, std::size_t n, GradientTarget target) noexcept {
            kernels::sum_rows(dy, n, Out, target.at(In * Out, bias_gradient.data()), target.accumulates());
        }

        // dx[:, rows] = dy W[rows, :]^T. With more rows than samples (a wide layer's input gradient) it is
        // computed transposed, dx[:, rows]^T = W[rows, :] dy^T, then transposed into place: the product then reads
        // W's rows where they are and packs dy^T (n x Out) instead of transposing W's rows (count x Out) into
        // panels. Either way each element sums over Out in the same order, so the results are the same bits.
        void input_gradient_rows(const float* dy, float* dx, std::size_t n, Range rows) const noexcept {
            const std::size_t count = rows.end - rows.begin;
            const float* w = weights.data() + rows.begin * Out;
            if (count <= n) {
                kernels::gemm(kernels::Trans::no, kernels::Trans::yes, n, count, Out, dy, Out, w, Out, dx + rows.begin,
                              In);
                return;
            }
            thread_local Buffer transposed;  // grow-only, per thread: count x n floats
            ensure_size(transposed, count * n);
            kernels::gemm(kernels::Trans::no, kernels::Trans::yes, count, n, Out, w, Out, dy, Out, transposed.data(),
                          n);
            kernels::transpose(transposed.data(), count, n, n, dx + rows.begin, In);
        }

        template <class F>
        void visit_parameters(F&& visit) {
            static constexpr std::size_t weights_shape[] = {In, Out};
            static constexpr std::size_t bias_shape[] = {Out};
            visit(ParameterView{"weights", flat(weights), flat(weights_gradient), weights_shape});
            visit(ParameterView{"bias", flat(bias), flat(bias_gradient), bias_shape});
        }
    };
};

}  // namespace ctnn
