#pragma once
// Conv2D<KH, KW, Cin, Cout, Stride, Padding> over NHWC images. Weights are stored HWIO, [KH*KW*Cin x Cout],
// so an im2col patch row times the weights lands directly in NHWC (see kernels/conv2d.hpp).

#include <algorithm>
#include <cmath>
#include <cstddef>

#include "ctnn/core/buffer.hpp"
#include "ctnn/core/parallel.hpp"
#include "ctnn/core/tensor.hpp"
#include "ctnn/kernels/conv2d.hpp"
#include "ctnn/kernels/conv_max_pool.hpp"
#include "ctnn/layers/activation_epilogue.hpp"
#include "ctnn/layers/layer.hpp"

namespace ctnn {

// valid: no padding, output (H - KH) / stride + 1. same: output ceil(H / stride), zero padding split as
// TensorFlow does (the extra row or column goes to the bottom or right).
enum class Padding { valid, same };

template <std::size_t KH, std::size_t KW, std::size_t Cin, std::size_t Cout, std::size_t Stride = 1,
          Padding Pad = Padding::valid>
struct Conv2D {
    static_assert(KH > 0 && KW > 0 && Cin > 0 && Cout > 0 && Stride > 0,
                  "Conv2D needs positive kernel sizes, channel counts and stride");
    static constexpr std::size_t kernel_height = KH;
    static constexpr std::size_t kernel_width = KW;
    static constexpr std::size_t in_channels = Cin;
    static constexpr std::size_t out_channels = Cout;
    static constexpr std::size_t stride = Stride;
    static constexpr Padding padding = Pad;
    static constexpr std::size_t patch_size = KH * KW * Cin;
    static constexpr std::size_t parameter_count = patch_size * Cout + Cout;

    template <ShapeType InputShape>
    class bind : public Stateless {
        static_assert(InputShape::rank == 3 || shape_mismatch<Conv2D, InputShape>::value,
                      "Conv2D expects an image (height x width x channels)");
        static constexpr std::size_t in_height = InputShape::dims[0];
        static constexpr std::size_t in_width = InputShape::rank > 1 ? InputShape::dims[1 % InputShape::rank] : 1;
        static constexpr std::size_t channels = InputShape::rank > 2 ? InputShape::dims[2 % InputShape::rank] : 1;
        static_assert(channels == Cin || shape_mismatch<Conv2D, InputShape>::value,
                      "Conv2D input channels do not match the previous layer's output");
        static_assert(Pad == Padding::same || (KH <= in_height && KW <= in_width) ||
                          shape_mismatch<Conv2D, InputShape>::value,
                      "Conv2D kernel is larger than its input image");

        static constexpr std::size_t output_extent(std::size_t in, std::size_t k) {
            if constexpr (Pad == Padding::same) return (in + Stride - 1) / Stride;
            return k <= in ? (in - k) / Stride + 1 : 1;  // guarded: no cascade after a failed check
        }
        static constexpr std::size_t padding_before(std::size_t in, std::size_t k, std::size_t out) {
            const std::size_t needed = (out - 1) * Stride + k;
            return needed > in ? (needed - in) / 2 : 0;
        }

    public:
        static constexpr std::size_t out_height = output_extent(in_height, KH);
        static constexpr std::size_t out_width = output_extent(in_width, KW);
        using input_shape = InputShape;
        using output_shape = Shape<out_height, out_width, Cout>;
        static constexpr std::size_t parameter_count = Conv2D::parameter_count;
        static constexpr std::size_t multiply_adds_per_sample = patch_size * Cout * out_height * out_width;
        // One image at a time gives the same bits on one thread: the kernels tile per image and accumulate the
        // weight gradient image after image (kernels/conv2d.hpp).
        static constexpr bool sample_separable = true;
        static constexpr std::string_view kind = "Conv2D";
        static constexpr std::uint64_t fingerprint =
            layer_fingerprint<KH, KW, Cin, Cout, Stride, static_cast<std::size_t>(Pad)>(kind);
        static std::string name() {
            if constexpr (Stride == 1 && Pad == Padding::valid) return layer_name<KH, KW, Cin, Cout>(kind);
            std::string text = layer_name<KH, KW, Cin, Cout, Stride>(kind);
            text.insert(text.size() - 1, Pad == Padding::same ? ",same" : ",valid");
            return text;
        }
        static constexpr kernels::ConvGeometry geometry{in_height,
                                                        in_width,
                                                        Cin,
                                                        KH,
                                                        KW,
                                                        Stride,
                                                        padding_before(in_height, KH, out_height),
                                                        padding_before(in_width, KW, out_width),
                                                        out_height,
                                                        out_width};

        // Patch panels and per-thread partial gradients, sized for the thread count when the workspace was made.
        struct workspace {
            explicit workspace(std::size_t max_batch_) : max_batch(max_batch_) { reserve_for_threads(); }
            void reserve_for_threads() {
                ensure_size(scratch, kernels::conv2d_workspace_size(geometry, Cout, max_batch,
                                                                    static_cast<std::size_t>(num_threads())));
            }
            std::size_t max_batch;
            Buffer scratch;
            detail::ActivationGradient activation;  // FusesActivation's gradient, grown on first use
        };

        Tensor<Shape<patch_size, Cout>> weights{};
        Tensor<Shape<Cout>> bias{};
        Tensor<Shape<patch_size, Cout>> weights_gradient{};
        Tensor<Shape<Cout>> bias_gradient{};

        void initialize(Rng& rng, Initializer init) {
            if (init == Initializer::glorot_uniform) {
                const float limit = std::sqrt(6.0f / static_cast<float>(KH * KW * (Cin + Cout)));
                for (float& w : weights) w = rng.uniform(-limit, limit);
            } else {
                const float stddev = std::sqrt(2.0f / static_cast<float>(patch_size));
                for (float& w : weights) w = stddev * rng.normal();
            }
            bias.fill(0.0f);
            weights_gradient.fill(0.0f);
            bias_gradient.fill(0.0f);
        }

        void forward(const float* x, float* y, std::size_t n, workspace& ws, Pass /*pass*/) const {
            ws.reserve_for_threads();  // allocates only if the thread count grew since the last call
            kernels::conv2d_forward(geometry, Cout, x, weights.data(), bias.data(), y, n, ws.scratch.data());
        }

        // FusesActivation: y = A(conv(x)), A run on each image's output as soon as it is computed.
        template <class A>
        void forward_activated(const float* x, float* y, std::size_t n, workspace& ws, Pass /*pass*/) const {
            ws.reserve_for_threads();
            kernels::conv2d_forward(geometry, Cout, x, weights.data(), bias.data(), y, n, ws.scratch.data(), 0,
                                    [](float* out, std::size_t count) { A::apply(out, out, count); });
        }
        // The backward pass from the gradient with respect to A's output y.
        template <class A>
        void backward_activated(const float* x, const float* y, const float* dy, float* dx, std::size_t n,
                                workspace& ws, GradientTarget target = {}) {
            backward(x, y, ws.activation.template of<A>(y, dy, n * output_shape::size), dx, n, ws, target);
        }

        // dW += patches^T dy, db += sums of dy, dx = col2im(dy W^T) unless dx is null (the first layer's
        // input gradient is never needed in training). Never reads y.
        void backward(const float* x, const float* /*y*/, const float* dy, float* dx, std::size_t n, workspace& ws,
                      GradientTarget target = {}) {
            ws.reserve_for_threads();
            const auto [dw, db] = gradients_to_add_to(target);
            kernels::conv2d_backward(geometry, Cout, x, weights.data(), dy, dw, db, dx, n, ws.scratch.data());
        }

        // PoolsInRegisters: a max pooling whose windows tile this layer's output, computed window by window in
        // registers with the convolution (kernels::ConvMaxPool says which geometries it serves).
        template <auto Pool>
        static constexpr bool pools_in_registers = kernels::ConvMaxPool<geometry, Cout, Pool>::fusable;
        template <auto Pool, class A>
        void forward_max_pooled(const float* x, float* y, std::uint32_t* argmax, std::size_t n) const noexcept {
            using Kernel = kernels::ConvMaxPool<geometry, Cout, Pool>;
            for (std::size_t b = 0; b < n; ++b)
                Kernel::template forward_image<A>(x + b * input_shape::size, weights.data(), bias.data(),
                                                  y + b * Pool.out_size(),
                                                  argmax != nullptr ? argmax + b * Pool.out_size() : nullptr);
        }
        template <auto Pool>
        void backward_max_pooled(const float* x, const float* pooled_gradient, const std::uint32_t* argmax,
                                 GradientTarget target) noexcept {
            const auto [dw, db] = gradients_to_add_to(target);
            kernels::ConvMaxPool<geometry, Cout, Pool>::backward_image(x, pooled_gradient, argmax, dw, db);
        }

        template <class F>
        void visit_parameters(F&& visit) {
            static constexpr std::size_t weights_shape[] = {KH, KW, Cin, Cout};
            static constexpr std::size_t bias_shape[] = {Cout};
            visit(ParameterView{"weights", flat(weights), flat(weights_gradient), weights_shape});
            visit(ParameterView{"bias", flat(bias), flat(bias_gradient), bias_shape});
        }

    private:
        struct GradientPointers {
            float* weights;
            float* bias;
        };
        // Where target puts the weight and bias gradients, cleared first unless it accumulates: the convolution
        // kernels add to them tile by tile.
        GradientPointers gradients_to_add_to(GradientTarget target) noexcept {
            float* dw = target.at(0, weights_gradient.data());
            float* db = target.at(patch_size * Cout, bias_gradient.data());
            if (!target.accumulates()) {
                std::fill_n(dw, patch_size * Cout, 0.0f);
                std::fill_n(db, Cout, 0.0f);
            }
            return {dw, db};
        }
    };
};

}  // namespace ctnn
