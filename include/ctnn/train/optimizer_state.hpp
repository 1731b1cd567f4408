#pragma once
// Per-parameter optimiser state (moments, velocities), laid out in the network's parameter order and
// allocated on the first step only, so steady-state steps allocate nothing.

#include <array>
#include <cstddef>
#include <vector>

#include "ctnn/core/buffer.hpp"

namespace ctnn::detail {

template <std::size_t Slots>
class OptimizerState {
public:
    // The state buffers of the index-th parameter tensor (of `size` floats), zero at first use.
    std::array<float*, Slots> for_parameter(std::size_t index, std::size_t size) {
        if (index == tensors_.size()) {
            tensors_.emplace_back();
            for (Buffer& b : tensors_.back()) b.assign(size, 0.0f);
        }
        std::array<float*, Slots> pointers{};
        for (std::size_t s = 0; s < Slots; ++s) pointers[s] = tensors_[index][s].data();
        return pointers;
    }
    void reset() { tensors_.clear(); }

private:
    std::vector<std::array<Buffer, Slots>> tensors_;
};

}  // namespace ctnn::detail
