#pragma once
// The networks the ctnn_embed test embeds, and the values make_models.cpp plants in their model files, shared by
// the generator and the program that checks the embedded networks.

#include <bit>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string_view>
#include <utility>

#include <ctnn/ctnn.hpp>
#include <ctnn/layers/batch_norm.hpp>

#include "seed_networks.hpp"

namespace ctnn::testing::embed {

using ctnn::testing::SeedMlp;
// BatchNorm over image channels: the model file holds running statistics (state) after the parameters.
using BatchNormCnn = Sequential<Input<8, 8, 2>, Conv2D<3, 3, 2, 4>, BatchNorm<>, ReLU, Flatten, Dense<6 * 6 * 4, 3>>;

inline constexpr std::uint64_t seed_mlp_seed = 7;
inline constexpr std::uint64_t batch_norm_cnn_seed = 11;

// Values whose literal is easy to get wrong, each planted at a position (in the payload's value order) of the
// seed MLP's file: signed zero, the smallest and largest subnormals, the extremes of the normal range.
inline constexpr std::pair<std::size_t, float> planted_values[] = {
    {0, -0.0f},
    {1, std::numeric_limits<float>::denorm_min()},
    {2, -std::numeric_limits<float>::denorm_min()},
    {3, std::bit_cast<float>(std::uint32_t{0x007fffff})},  // the largest subnormal
    {4, std::numeric_limits<float>::min()},
    {5, std::numeric_limits<float>::max()},
    {6, -std::numeric_limits<float>::max()},
    {7, 0.0f},
    {100'351, std::bit_cast<float>(std::uint32_t{0x3f800001})},  // the last weight: 1 + 2^-23
    {101'769, std::bit_cast<float>(std::uint32_t{0x00000100})},  // the last bias, a subnormal
};

// odd_name.ctnn is batch_norm_cnn.ctnn with its first tensor renamed to this (as long as "weights"): the header
// must carry a name from the file as it is, whatever characters it holds.
inline constexpr std::string_view odd_tensor_name = "w\"e\\?\ns";
static_assert(odd_tensor_name.size() == std::string_view("weights").size());

}  // namespace ctnn::testing::embed
