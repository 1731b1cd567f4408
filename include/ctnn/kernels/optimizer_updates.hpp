#pragma once
// Parameter update rules, one pass over each parameter tensor, as xsimd loops (any alignment). An element's
// result must not depend on where the range it is updated in begins or ends (the row split moves its threads'
// shares of a tensor from step to step), so the last partial vector goes through the same vector code with
// partial loads and stores, and every multiply-add is an explicit fmadd: left to -ffp-contract, g++ fuses the
// same formula differently in a scalar tail, or where it scalarises a partial vector (-mavx2).

#include <cmath>
#include <cstddef>

#include "ctnn/core/denormals.hpp"
#include "ctnn/kernels/detail/simd.hpp"

#include "ctnn/kernels/detail/warnings_push.hpp"

namespace ctnn::kernels {

namespace detail {

// body(i, count) for the vectors of [0, n): count == lanes but for the last one.
template <class Body>
inline void for_each_vector(std::size_t n, Body&& body) noexcept {
    for (std::size_t i = 0; i < n; i += lanes) body(i, n - i < lanes ? n - i : lanes);
}

}  // namespace detail

// Adam (Kingma & Ba) with the bias corrections folded into the step size, as Keras and PyTorch do:
// m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2; w -= step * m / (sqrt(v) + eps_hat).
// Subnormal moments are flushed to zero (core/denormals.hpp): those of never-used weights decay into that range.
inline void adam_update(float* w, const float* g, float* m, float* v, std::size_t n, float step, float beta1,
                        float beta2, float epsilon_hat) noexcept {
    using detail::vec, detail::load_some, detail::store_some;
    const FlushDenormals flush;
    const vec b1(beta1), c1(1.0f - beta1), b2(beta2), c2(1.0f - beta2), vstep(step), eps(epsilon_hat);
    detail::for_each_vector(n, [&](std::size_t i, std::size_t count) {
        const vec gi = load_some(g + i, count);
        const vec mi = detail::fmadd(b1, load_some(m + i, count), c1 * gi);
        const vec vi = detail::fmadd(b2, load_some(v + i, count), c2 * gi * gi);
        store_some(mi, m + i, count);
        store_some(vi, v + i, count);
        store_some(load_some(w + i, count) - vstep * mi / (xsimd::sqrt(vi) + eps), w + i, count);
    });
}

// SGD with momentum (Keras convention): velocity = momentum * velocity - lr * g;
// plain: w += velocity; Nesterov: w += momentum * velocity - lr * g. A subnormal velocity is flushed to zero.
inline void sgd_momentum_update(float* w, const float* g, float* velocity, std::size_t n, float lr, float momentum,
                                bool nesterov) noexcept {
    using detail::vec, detail::load_some, detail::store_some;
    const FlushDenormals flush;
    const vec mu(momentum), minus_lr(-lr);
    detail::for_each_vector(n, [&](std::size_t i, std::size_t count) {
        const vec step = minus_lr * load_some(g + i, count);
        const vec vel = detail::fmadd(mu, load_some(velocity + i, count), step);
        store_some(vel, velocity + i, count);
        const vec delta = nesterov ? detail::fmadd(mu, vel, step) : vel;
        store_some(load_some(w + i, count) + delta, w + i, count);
    });
}

}  // namespace ctnn::kernels

#include "ctnn/kernels/detail/warnings_pop.hpp"
