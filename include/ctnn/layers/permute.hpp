#pragma once
// Permute<perm>: reorders the features of each sample by a compile-time Permutation (out[i] = in[perm[i]]),
// keeping the shape. perm is a constexpr Permutation with static storage, taken by reference so that
// diagnostics print its name rather than its 784 indices. Run-time permutations go through the same gather
// loop (ctnn::apply_permutation).

#include <cstddef>
#include <type_traits>

#include "ctnn/core/permutation.hpp"
#include "ctnn/layers/layer.hpp"

namespace ctnn {

template <const auto& Perm>
struct Permute {
    using permutation_type = std::remove_cvref_t<decltype(Perm)>;
    static constexpr std::size_t size = permutation_type::size;
    static_assert(is_bijection(Perm), "Permute needs a bijection of [0, N)");
    static constexpr std::size_t parameter_count = 0;

    template <ShapeType InputShape>
    struct bind : ParameterFree {
        // Compared with permutation_type::size so that the compiler prints Permutation<N>::size, naming N.
        static_assert(InputShape::size == permutation_type::size || shape_mismatch<Permute, InputShape>::value,
                      "Permute size does not match the previous layer's output");

        using input_shape = InputShape;
        using output_shape = InputShape;
        using workspace = NoWorkspace;
        static constexpr std::string_view kind = "Permute";
        static constexpr std::uint64_t fingerprint = [] {
            std::uint64_t h = layer_fingerprint<size>(kind);
            for (std::uint32_t v : Perm.index) h = fingerprint_mix(h, v);
            return h;
        }();
        static std::string name() { return layer_name<size>(kind); }

        void forward(const float* x, float* y, std::size_t n, workspace& /*ws*/, Pass /*pass*/) const noexcept {
            apply_permutation(Perm, x, y, n);
        }
        // The adjoint of a gather is the scatter by the same indices.
        void backward(const float* /*x*/, const float* /*y*/, const float* dy, float* dx, std::size_t n,
                      workspace& /*ws*/, GradientTarget /*target*/ = {}) noexcept {
            if (dx != nullptr) apply_permutation_transposed(Perm.index, dy, dx, n);
        }
    };
};

}  // namespace ctnn
