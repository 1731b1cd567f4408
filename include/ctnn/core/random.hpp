#pragma once
// A small constexpr random number generator (SplitMix64 seeding a PCG-style 64-bit LCG output mix).
// Deterministic across compilers and platforms, usable in constant expressions.

#include <cmath>
#include <cstdint>
#include <numbers>

namespace ctnn {

class Rng {
public:
    constexpr explicit Rng(std::uint64_t seed = 0) noexcept : state_(splitmix(seed)) {}

    constexpr std::uint64_t next() noexcept {
        state_ += 0x9E3779B97F4A7C15ULL;
        return splitmix_mix(state_);
    }

    // Uniform integer in [0, bound) without modulo bias (Lemire's multiply-shift with rejection).
    constexpr std::uint64_t below(std::uint64_t bound) noexcept {
        const std::uint64_t threshold = (0 - bound) % bound;
        for (;;) {
            const std::uint64_t r = next();
            if (r >= threshold) return r % bound;
        }
    }

    // Uniform float in [0, 1) with 24 random bits.
    constexpr float uniform() noexcept { return static_cast<float>(next() >> 40) * 0x1.0p-24f; }

    constexpr float uniform(float low, float high) noexcept { return low + (high - low) * uniform(); }

    // Standard normal via Box-Muller (run time only: std::log is not constexpr in C++20).
    float normal() noexcept {
        const float u1 = 1.0f - uniform();  // (0, 1]
        const float u2 = uniform();
        return std::sqrt(-2.0f * std::log(u1)) * std::cos(2.0f * std::numbers::pi_v<float> * u2);
    }

    // An independent stream derived from this one (for per-epoch shuffles, per-layer init...).
    constexpr Rng split() noexcept { return Rng(next()); }

private:
    static constexpr std::uint64_t splitmix_mix(std::uint64_t z) noexcept {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
        return z ^ (z >> 31);
    }
    static constexpr std::uint64_t splitmix(std::uint64_t seed) noexcept {
        return splitmix_mix(seed + 0x9E3779B97F4A7C15ULL);
    }

    std::uint64_t state_;
};

// Strong type for seeds so constructors read `Mlp net{seed(1)}`.
struct seed {
    constexpr explicit seed(std::uint64_t v) noexcept : value(v) {}
    std::uint64_t value;
};

}  // namespace ctnn
