#pragma once
// Permutation<N>: a fixed reordering of N features, usable as a template argument (Permute<perm>).
// Convention, as numpy's X[:, perm]: output[i] = input[index[i]].

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "ctnn/core/random.hpp"

namespace ctnn {

template <std::size_t N>
struct Permutation {
    static_assert(N > 0, "a Permutation needs at least one element");
    static constexpr std::size_t size = N;

    // Public so that Permutation is a structural type and can be a non-type template argument.
    std::array<std::uint32_t, N> index{};

    constexpr std::uint32_t operator[](std::size_t i) const noexcept { return index[i]; }
    constexpr bool operator==(const Permutation&) const = default;

    // A permutation given at run time (from a file, from numpy...). Throws if it is not a bijection.
    static Permutation from_indices(std::span<const std::uint32_t> indices);
};

template <std::size_t N>
constexpr Permutation<N> identity() noexcept {
    Permutation<N> p;
    for (std::size_t i = 0; i < N; ++i) p.index[i] = static_cast<std::uint32_t>(i);
    return p;
}

// True when every index in [0, N) appears exactly once.
template <std::size_t N>
constexpr bool is_bijection(const std::array<std::uint32_t, N>& indices) noexcept {
    std::array<bool, N> seen{};
    for (std::uint32_t v : indices) {
        if (v >= N || seen[v]) return false;
        seen[v] = true;
    }
    return true;
}

template <std::size_t N>
constexpr bool is_bijection(const Permutation<N>& p) noexcept {
    return is_bijection(p.index);
}

// Run-time variant for indices whose count is only known at run time.
inline bool is_bijection(std::span<const std::uint32_t> indices) {
    std::vector<bool> seen(indices.size(), false);
    for (std::uint32_t v : indices) {
        if (v >= indices.size() || seen[v]) return false;
        seen[v] = true;
    }
    return true;
}

// Fisher-Yates shuffle driven by the constexpr Rng: same seed, same permutation, on every compiler.
template <std::size_t N>
constexpr Permutation<N> make_permutation(std::uint64_t seed_value) noexcept {
    Permutation<N> p = identity<N>();
    Rng rng(seed_value);
    for (std::size_t i = N - 1; i > 0; --i) {
        const auto j = static_cast<std::size_t>(rng.below(i + 1));
        const std::uint32_t t = p.index[i];
        p.index[i] = p.index[j];
        p.index[j] = t;
    }
    return p;
}

template <std::size_t N>
constexpr Permutation<N> inverse(const Permutation<N>& p) noexcept {
    Permutation<N> q;
    for (std::size_t i = 0; i < N; ++i) q.index[p.index[i]] = static_cast<std::uint32_t>(i);
    return q;
}

// compose(a, b) applies b first, then a: apply(compose(a, b), x) == apply(a, apply(b, x)).
template <std::size_t N>
constexpr Permutation<N> compose(const Permutation<N>& a, const Permutation<N>& b) noexcept {
    Permutation<N> c;
    for (std::size_t i = 0; i < N; ++i) c.index[i] = b.index[a.index[i]];
    return c;
}

// The one gather loop every permutation (compile-time or run-time) goes through:
// out[i] = in[index[i]] for each of `count` samples of `index.size()` features.
inline void apply_permutation(std::span<const std::uint32_t> index, const float* in, float* out,
                              std::size_t count = 1) noexcept {
    const std::size_t n = index.size();
    for (std::size_t s = 0; s < count; ++s) {
        const float* src = in + s * n;
        float* dst = out + s * n;
        for (std::size_t i = 0; i < n; ++i) dst[i] = src[index[i]];
    }
}

// The adjoint of apply_permutation (a scatter): out[index[i]] = in[i]. Equals applying the inverse.
inline void apply_permutation_transposed(std::span<const std::uint32_t> index, const float* in, float* out,
                                         std::size_t count = 1) noexcept {
    const std::size_t n = index.size();
    for (std::size_t s = 0; s < count; ++s) {
        const float* src = in + s * n;
        float* dst = out + s * n;
        for (std::size_t i = 0; i < n; ++i) dst[index[i]] = src[i];
    }
}

template <std::size_t N>
void apply_permutation(const Permutation<N>& p, const float* in, float* out, std::size_t count = 1) noexcept {
    apply_permutation(std::span<const std::uint32_t>(p.index), in, out, count);
}

template <std::size_t N>
Permutation<N> Permutation<N>::from_indices(std::span<const std::uint32_t> indices) {
    if (indices.size() != N)
        throw std::invalid_argument("Permutation<" + std::to_string(N) + ">: got " +
                                    std::to_string(indices.size()) + " indices");
    if (!is_bijection(indices))
        throw std::invalid_argument("Permutation<" + std::to_string(N) +
                                    ">: indices are not a bijection of [0, N)");
    Permutation<N> p;
    for (std::size_t i = 0; i < N; ++i) p.index[i] = indices[i];
    return p;
}

}  // namespace ctnn
