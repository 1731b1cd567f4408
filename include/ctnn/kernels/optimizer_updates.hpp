#pragma once
// Parameter update rules, one pass over each parameter tensor.

#include <cmath>
#include <cstddef>

namespace ctnn::kernels {

// Adam (Kingma & Ba) with the bias corrections folded into the step size, as Keras and PyTorch do:
// m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2; w -= step * m / (sqrt(v) + eps_hat).
inline void adam_update(float* w, const float* g, float* m, float* v, std::size_t n, float step, float beta1,
                        float beta2, float epsilon_hat) noexcept {
    for (std::size_t i = 0; i < n; ++i) {
        m[i] = beta1 * m[i] + (1.0f - beta1) * g[i];
        v[i] = beta2 * v[i] + (1.0f - beta2) * g[i] * g[i];
        w[i] -= step * m[i] / (std::sqrt(v[i]) + epsilon_hat);
    }
}

// SGD with momentum (Keras convention): velocity = momentum * velocity - lr * g;
// plain: w += velocity; Nesterov: w += momentum * velocity - lr * g.
inline void sgd_momentum_update(float* w, const float* g, float* velocity, std::size_t n, float lr, float momentum,
                                bool nesterov) noexcept {
    for (std::size_t i = 0; i < n; ++i) {
        velocity[i] = momentum * velocity[i] - lr * g[i];
        w[i] += nesterov ? momentum * velocity[i] - lr * g[i] : velocity[i];
    }
}

}  // namespace ctnn::kernels
