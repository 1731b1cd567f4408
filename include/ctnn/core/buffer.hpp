#pragma once
// Buffer: an aligned, heap-allocated float array for run-time-sized data (batches, workspaces).
// Allocated once and reused: the machines we run on make first-touch of fresh pages expensive.

#include <algorithm>
#include <cstddef>
#include <span>
#include <vector>

#include <xsimd/xsimd.hpp>

#include "ctnn/config.hpp"

namespace ctnn {

template <class T>
using aligned_vector = std::vector<T, xsimd::aligned_allocator<T, buffer_alignment>>;

using Buffer = aligned_vector<float>;

// Grow-only resize: keeps the allocation when the request fits, so steady state allocates nothing.
template <class T>
void ensure_size(aligned_vector<T>& v, std::size_t n) {
    if (v.size() < n) v.resize(n);
}

}  // namespace ctnn
