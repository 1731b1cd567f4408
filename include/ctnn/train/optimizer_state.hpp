#pragma once
// Per-parameter optimiser state (moments, velocities), laid out in the network's parameter order and
// allocated on the first step only, so steady-state steps allocate nothing; and the split of an element-wise
// update between threads.

#include <array>
#include <cstddef>
#include <vector>

#include "ctnn/core/buffer.hpp"
#include "ctnn/core/parallel.hpp"
#include "ctnn/layers/layer.hpp"
#include "ctnn/train/thresholds.hpp"

namespace ctnn::detail {

template <std::size_t Slots>
class OptimizerState {
public:
    // Creates the state of every parameter tensor of `net` (zero) the first time; afterwards does nothing.
    template <class Net>
    void prepare(Net& net) {
        if (!tensors_.empty()) return;
        net.visit_parameters([&](std::size_t, const ParameterView& p) {
            tensors_.emplace_back();
            for (Buffer& b : tensors_.back()) b.assign(p.value.size(), 0.0f);
        });
    }
    // The state buffers of the index-th parameter tensor, after prepare(). Safe from several threads.
    std::array<float*, Slots> of(std::size_t index) noexcept {
        std::array<float*, Slots> pointers{};
        for (std::size_t s = 0; s < Slots; ++s) pointers[s] = tensors_[index][s].data();
        return pointers;
    }
    void reset() { tensors_.clear(); }

private:
    std::vector<std::array<Buffer, Slots>> tensors_;
};

// The elements of an n-float tensor that part `part` of `parts` updates: all of a small tensor on part 0, an
// even split of a large one.
inline Range update_share(std::size_t n, std::size_t part, std::size_t parts) noexcept {
    if (n < update_parallel_min) return part == 0 ? Range{0, n} : Range{0, 0};
    return split_range(n, part, parts, thread_granule);
}

// Runs update(begin, end) over [0, n), split across threads for large tensors (update_share). Updates are
// element-wise, so the result does not depend on the split.
template <class Update>
void for_each_range(std::size_t n, Update&& update) {
    if (n < update_parallel_min) {  // no parallel region for a tensor one part updates anyway
        update(std::size_t{0}, n);
        return;
    }
    parallel_parts(static_cast<std::size_t>(num_threads()), [&](std::size_t part, std::size_t parts) {
        const Range r = update_share(n, part, parts);
        if (r.end > r.begin) update(r.begin, r.end);
    });
}

}  // namespace ctnn::detail

namespace ctnn {

// The elements of each parameter tensor a thread of a parallel_team updates in an optimiser's team step. By
// default an even split of large tensors (what the optimiser's own step gives the thread of the same number);
// one tensor, `layer`'s of `elements` floats, may be split otherwise (a row-split layer's weights go to the
// thread that computed their gradient).
struct UpdateShares {
    static constexpr std::size_t no_layer = ~std::size_t{0};
    std::size_t layer = no_layer, elements = 0;
    Range range{0, 0};  // this thread's elements of that tensor

    Range of(const Team& team, std::size_t tensor_layer, std::size_t n) const noexcept {
        if (tensor_layer == layer && n == elements) return range;
        return detail::update_share(n, team.thread(), team.size());
    }
    // Runs update(begin, end) on this thread's share of a tensor, if it has one.
    template <class Update>
    void for_share(const Team& team, std::size_t tensor_layer, std::size_t n, Update&& update) const {
        const Range r = of(team, tensor_layer, n);
        if (r.end > r.begin) update(r.begin, r.end);
    }
};

}  // namespace ctnn
