#pragma once
// Parameter update rules, one pass over each parameter tensor, as xsimd loops (any alignment; scalar tail with
// the same formula).

#include <cmath>
#include <cstddef>

#include "ctnn/kernels/detail/simd.hpp"

#include "ctnn/kernels/detail/warnings_push.hpp"

namespace ctnn::kernels {

// Adam (Kingma & Ba) with the bias corrections folded into the step size, as Keras and PyTorch do:
// m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2; w -= step * m / (sqrt(v) + eps_hat).
inline void adam_update(float* w, const float* g, float* m, float* v, std::size_t n, float step, float beta1,
                        float beta2, float epsilon_hat) noexcept {
    using detail::vec;
    const vec b1(beta1), c1(1.0f - beta1), b2(beta2), c2(1.0f - beta2), vstep(step), eps(epsilon_hat);
    std::size_t i = 0;
    for (; i + detail::lanes <= n; i += detail::lanes) {
        const vec gi = vec::load_unaligned(g + i);
        const vec mi = b1 * vec::load_unaligned(m + i) + c1 * gi;
        const vec vi = b2 * vec::load_unaligned(v + i) + c2 * gi * gi;
        mi.store_unaligned(m + i);
        vi.store_unaligned(v + i);
        (vec::load_unaligned(w + i) - vstep * mi / (xsimd::sqrt(vi) + eps)).store_unaligned(w + i);
    }
    for (std::size_t left = n - i; left != 0; --left, ++i) {
        m[i] = beta1 * m[i] + (1.0f - beta1) * g[i];
        v[i] = beta2 * v[i] + (1.0f - beta2) * g[i] * g[i];
        w[i] -= step * m[i] / (std::sqrt(v[i]) + epsilon_hat);
    }
}

// SGD with momentum (Keras convention): velocity = momentum * velocity - lr * g;
// plain: w += velocity; Nesterov: w += momentum * velocity - lr * g.
inline void sgd_momentum_update(float* w, const float* g, float* velocity, std::size_t n, float lr, float momentum,
                                bool nesterov) noexcept {
    using detail::vec;
    const vec mu(momentum), vlr(lr);
    std::size_t i = 0;
    for (; i + detail::lanes <= n; i += detail::lanes) {
        const vec gi = vec::load_unaligned(g + i);
        const vec vel = mu * vec::load_unaligned(velocity + i) - vlr * gi;
        vel.store_unaligned(velocity + i);
        const vec delta = nesterov ? mu * vel - vlr * gi : vel;
        (vec::load_unaligned(w + i) + delta).store_unaligned(w + i);
    }
    for (std::size_t left = n - i; left != 0; --left, ++i) {
        velocity[i] = momentum * velocity[i] - lr * g[i];
        w[i] += nesterov ? momentum * velocity[i] - lr * g[i] : velocity[i];
    }
}

}  // namespace ctnn::kernels

#include "ctnn/kernels/detail/warnings_pop.hpp"
