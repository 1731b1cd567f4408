#pragma once
// MaxPool2D<K, Stride = K> over NHWC images. Output size floor((H - K) / Stride) + 1, as Keras' "valid".

#include <cstddef>
#include <cstdint>

#include "ctnn/core/buffer.hpp"
#include "ctnn/kernels/elementwise.hpp"
#include "ctnn/kernels/pooling.hpp"
#include "ctnn/layers/layer.hpp"

namespace ctnn {

template <std::size_t K, std::size_t Stride = K>
struct MaxPool2D {
    static_assert(K > 0 && Stride > 0, "MaxPool2D needs a positive window and stride");
    static constexpr std::size_t parameter_count = 0;

    template <ShapeType InputShape>
    struct bind : ParameterFree {
        static_assert(InputShape::rank == 3 || shape_mismatch<MaxPool2D, InputShape>::value,
                      "MaxPool2D expects an image (height x width x channels)");
        static constexpr std::size_t in_height = InputShape::dims[0];
        static constexpr std::size_t in_width = InputShape::rank > 1 ? InputShape::dims[1 % InputShape::rank] : 1;
        static constexpr std::size_t channels = InputShape::rank > 2 ? InputShape::dims[2 % InputShape::rank] : 1;
        static_assert(InputShape::rank != 3 || (K <= in_height && K <= in_width) ||
                          shape_mismatch<MaxPool2D, InputShape>::value,
                      "MaxPool2D window is larger than its input image");
        // Guarded so that a failed check above does not cascade into more errors.
        static constexpr std::size_t out_height = K <= in_height ? (in_height - K) / Stride + 1 : 1;
        static constexpr std::size_t out_width = K <= in_width ? (in_width - K) / Stride + 1 : 1;

        using input_shape = InputShape;
        using output_shape = Shape<out_height, out_width, channels>;
        static constexpr std::string_view kind = "MaxPool2D";
        static constexpr std::uint64_t fingerprint = layer_fingerprint<K, Stride>(kind);
        static std::string name() { return K == Stride ? layer_name<K>(kind) : layer_name<K, Stride>(kind); }
        static constexpr kernels::PoolGeometry geometry{in_height, in_width,   channels, K,
                                                        Stride,    out_height, out_width};

        // Where each maximum came from, for the backward pass; one image's masked output gradient (the fused form).
        struct workspace {
            explicit workspace(std::size_t max_batch)
                : argmax(max_batch * output_shape::size), masked_gradient(output_shape::size),
                  produced(input_shape::size), produced_gradient(input_shape::size) {}
            aligned_vector<std::uint32_t> argmax;
            Buffer masked_gradient;
            Buffer produced, produced_gradient;  // one image of a fused producer's output and its gradient
        };

        void forward(const float* x, float* y, std::size_t n, workspace& ws, Pass /*pass*/) const noexcept {
            kernels::max_pool2d(geometry, x, y, ws.argmax.data(), n);
        }
        void backward(const float* /*x*/, const float* /*y*/, const float* dy, float* dx, std::size_t n, workspace& ws,
                      GradientTarget /*target*/ = {}) noexcept {
            if (dx != nullptr) kernels::max_pool2d_backward(geometry, dy, ws.argmax.data(), dx, n);
        }

        // The pooling followed by the activation A (AbsorbsActivation). A chain runs a non-decreasing A placed
        // before the pooling this way: max(A(x)) = A(max(x)) for non-decreasing A, and the gradients agree as
        // well (for ReLU a window whose maximum is <= 0 passes no gradient either way), so A touches a quarter
        // of the data and needs no pass of its own. y is the output of this pair.
        // Image by image, so that A and its derivative find the pooled image in L1 (the seed CNN's is 21 KB)
        // instead of making a pass of their own over the batch.
        template <Activation A>
        void forward_then(const float* x, float* y, std::size_t n, workspace& ws) const noexcept {
            for (std::size_t b = 0; b < n; ++b) pool_image_then<A>(x + b * input_shape::size, y, b, ws);
        }
        template <Activation A>
        void backward_then(const float* y, const float* dy, float* dx, std::size_t n, workspace& ws) noexcept {
            if (dx == nullptr) return;
            for (std::size_t b = 0; b < n; ++b) unpool_image_after<A>(y, dy, b, dx + b * input_shape::size, ws);
        }

        // AbsorbsProducer: the sample-separable producer P (a Conv2D), the activation A and this pooling, image by
        // image: P's output image (86 KB for the seed CNN's Conv2D<3,3,1,32>) is pooled while in the core's cache,
        // and in the backward pass its gradient goes straight to P's backward pass.
        // A producer that PoolsInRegisters computes the pooling with its own output in registers instead, and
        // records where the maxima came from only in a training pass.
        template <class P, Activation A>
        void forward_after(const P& producer, typename P::workspace& producer_ws, const float* x, float* y,
                           std::size_t n, workspace& ws, Pass pass) const {
            if constexpr (PoolsInRegisters<P, geometry, A>) {
                producer.template forward_max_pooled<geometry, A>(
                    x, y, pass == Pass::training ? ws.argmax.data() : nullptr, n);
                return;
            }
            for (std::size_t b = 0; b < n; ++b) {
                producer.forward(x + b * P::input_shape::size, ws.produced.data(), 1, producer_ws, pass);
                pool_image_then<A>(ws.produced.data(), y, b, ws);
            }
        }
        template <class P, Activation A>
        void backward_after(P& producer, typename P::workspace& producer_ws, const float* x, const float* y,
                            const float* dy, float* dx, std::size_t n, workspace& ws, GradientTarget target) {
            constexpr std::size_t px = P::input_shape::size, out = output_shape::size;
            for (std::size_t b = 0; b < n; ++b) {
                // The first image writes the producer's gradients as the target says, the others add to them.
                const GradientTarget image_target = b == 0 ? target : GradientTarget{target.destination,
                                                                                     GradientUpdate::accumulate};
                // A producer that PoolsInRegisters routes the gradient to the winners itself, unless the
                // producer's input gradient is needed.
                if constexpr (PoolsInRegisters<P, geometry, A>) {
                    if (dx == nullptr) {
                        producer.template backward_max_pooled<geometry>(
                            x + b * px, gradient_at_maximum<A>(y, dy, b, ws), ws.argmax.data() + b * out, image_target);
                        continue;
                    }
                }
                unpool_image_after<A>(y, dy, b, ws.produced_gradient.data(), ws);
                producer.backward(x + b * px, nullptr, ws.produced_gradient.data(), dx ? dx + b * px : nullptr, 1,
                                  producer_ws, image_target);
            }
        }

    private:
        // Image b: y[b] = A(max over the windows of `image`), its argmax recorded.
        template <Activation A>
        void pool_image_then(const float* image, float* y, std::size_t b, workspace& ws) const noexcept {
            constexpr std::size_t out = output_shape::size;
            kernels::max_pool2d(geometry, image, y + b * out, ws.argmax.data() + b * out, 1);
            A::apply(y + b * out, y + b * out, out);
        }
        // Image b's input gradient (dx_image) from the gradient dy[b] of A(max(...)), whose output is y[b].
        template <Activation A>
        void unpool_image_after(const float* y, const float* dy, std::size_t b, float* dx_image,
                                workspace& ws) noexcept {
            kernels::max_pool2d_backward(geometry, gradient_at_maximum<A>(y, dy, b, ws),
                                         ws.argmax.data() + b * output_shape::size, dx_image, 1);
        }
        // Image b's gradient with respect to the pooled maximum: A's derivative taken on dy[b] (A's output y[b]).
        template <Activation A>
        const float* gradient_at_maximum(const float* y, const float* dy, std::size_t b, workspace& ws) noexcept {
            constexpr std::size_t out = output_shape::size;
            A::apply_backward(y + b * out, dy + b * out, ws.masked_gradient.data(), out);
            return ws.masked_gradient.data();
        }
    };
};

}  // namespace ctnn
