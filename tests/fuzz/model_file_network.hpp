#pragma once
// The network the model-loading fuzz targets (ctnn model files, safetensors, ONNX) load into, shared with the
// corpus generator so the seeds carry its architecture hash, table and tensor names; and the exact snapshot of
// its values that checks a rejected load left it untouched.

#include <bit>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "ctnn/layers/batch_norm.hpp"
#include "ctnn/layers/conv2d.hpp"
#include "ctnn/layers/dense.hpp"
#include "ctnn/layers/flatten.hpp"
#include "ctnn/layers/input.hpp"
#include "ctnn/layers/relu.hpp"
#include "ctnn/network/sequential.hpp"

namespace ctnn::fuzz {

// 4x4x1 -> Conv2D 3x3, 2 filters -> 2x2x2 -> BatchNorm -> ReLU -> Flatten (8) -> Dense 8 -> 3: 51 parameters
// and 4 running statistics in 8 tensors, a 558-byte model file. Two channels before Flatten, so importers
// from PyTorch's C,H,W order must permute the Dense rows.
using FuzzNetwork = Sequential<Input<4, 4, 1>, Conv2D<3, 3, 1, 2>, BatchNorm<>, ReLU, Flatten, Dense<8, 3>>;

// Parameters, then state, as bit patterns: NaN and -0 compare exactly.
inline std::vector<std::uint32_t> values_of(FuzzNetwork& net) {
    std::vector<std::uint32_t> bits;
    net.visit_parameters([&](std::size_t, const ParameterView& p) {
        for (float v : p.value) bits.push_back(std::bit_cast<std::uint32_t>(v));
    });
    net.visit_state([&](std::size_t, const StateView& s) {
        for (float v : s.value) bits.push_back(std::bit_cast<std::uint32_t>(v));
    });
    return bits;
}

}  // namespace ctnn::fuzz
