#pragma once
// Dense<In, Out>: y = x W + b on a flat input. W is stored [In x Out] so a batch is one GEMM.

#include <cmath>
#include <cstddef>

#include "ctnn/core/parallel.hpp"
#include "ctnn/core/tensor.hpp"
#include "ctnn/kernels/elementwise.hpp"
#include "ctnn/kernels/gemm.hpp"
#include "ctnn/layers/layer.hpp"

namespace ctnn {

template <std::size_t In, std::size_t Out>
struct Dense {
    static_assert(In > 0 && Out > 0, "Dense needs positive input and output sizes");
    static constexpr std::size_t input_size = In;
    static constexpr std::size_t output_size = Out;
    static constexpr std::size_t parameter_count = In * Out + Out;

    template <ShapeType InputShape>
    class bind {
        static_assert(InputShape::rank == 1 || shape_mismatch<Dense, InputShape>::value,
                      "Dense expects a flat input: put Flatten before it");
        // Checked only for flat inputs, so that a missing Flatten reports one error, not two.
        static_assert(InputShape::rank != 1 || InputShape::size == In || shape_mismatch<Dense, InputShape>::value,
                      "Dense input size does not match the previous layer's output");

    public:
        using input_shape = InputShape;
        using output_shape = Shape<Out>;
        using workspace = NoWorkspace;
        static constexpr std::size_t parameter_count = Dense::parameter_count;
        static constexpr std::string_view kind = "Dense";
        static constexpr std::uint64_t fingerprint = detail::fingerprint_of<In, Out>(kind);
        static std::string name() { return detail::template_name<In, Out>(kind); }
        static constexpr std::size_t flops_per_sample = 2 * In * Out;  // forward multiply-adds x 2

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

        void forward(const float* x, float* y, std::size_t n, workspace& /*ws*/, Pass /*pass*/) const noexcept {
            forward_rows(x, y, n, Range{0, In});
            kernels::add_bias(y, bias.data(), n, Out);
        }

        // dW += x^T dy, db += column sums of dy (= with GradientUpdate::overwrite), dx = dy W^T (skipped when
        // dx is null). The gradients go to this layer's own tensors, or to `gradients` ([weights | bias],
        // parameter_count floats) when given: data-parallel training gives each thread its own.
        void backward(const float* x, const float* /*y*/, const float* dy, float* dx, std::size_t n,
                      workspace& /*ws*/, float* gradients = nullptr,
                      GradientUpdate update = GradientUpdate::accumulate) noexcept {
            backward_rows(x, dy, dx, n, Range{0, In}, update, gradients);
            backward_bias(dy, n, update, gradients);
        }

        // forward and backward by ranges of W's input rows, for threads that split W that way (train_step
        // does, for a layer holding most of a network's parameters): each thread then reads and writes only its
        // rows of W and of their gradient. x and dx have In columns; `rows` is a range of [0, In).
        // y = x[:, rows] W[rows, :], without the bias: the threads' partial outputs are summed by the caller.
        void forward_rows(const float* x, float* y, std::size_t n, Range rows) const noexcept {
            kernels::gemm(kernels::Trans::no, kernels::Trans::no, n, Out, rows.end - rows.begin, x + rows.begin, In,
                          weights.data() + rows.begin * Out, Out, y, Out);
        }
        // dW[rows, :] (+)= x[:, rows]^T dy; dx[:, rows] = dy W[rows, :]^T unless dx is null. `gradients` as in
        // backward.
        void backward_rows(const float* x, const float* dy, float* dx, std::size_t n, Range rows,
                           GradientUpdate update, float* gradients = nullptr) noexcept {
            const std::size_t count = rows.end - rows.begin;
            float* dw = gradients != nullptr ? gradients : weights_gradient.data();
            kernels::gemm(kernels::Trans::yes, kernels::Trans::no, count, Out, n, x + rows.begin, In, dy, Out,
                          dw + rows.begin * Out, Out, update == GradientUpdate::accumulate);
            if (dx != nullptr)
                kernels::gemm(kernels::Trans::no, kernels::Trans::yes, n, count, Out, dy, Out,
                              weights.data() + rows.begin * Out, Out, dx + rows.begin, In);
        }
        // db (+)= column sums of dy. `gradients` as in backward.
        void backward_bias(const float* dy, std::size_t n, GradientUpdate update, float* gradients = nullptr) noexcept {
            float* db = gradients != nullptr ? gradients + In * Out : bias_gradient.data();
            kernels::sum_rows(dy, n, Out, db, update == GradientUpdate::accumulate);
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
