#pragma once
// Buffer: an aligned, heap-allocated float array for run-time-sized data (batches, workspaces).
// Allocated once and reused: the machines we run on make first-touch of fresh pages expensive.

#include <algorithm>
#include <cstddef>
#include <new>
#include <span>
#include <vector>

#include "ctnn/config.hpp"

namespace ctnn {

// Allocates through the aligned global operator new (not xsimd's malloc-based allocator), so that a program
// replacing operator new, such as our allocation-counting test, sees every buffer ctnn allocates.
template <class T>
struct AlignedAllocator {
    using value_type = T;
    static constexpr std::align_val_t alignment{buffer_alignment > alignof(T) ? buffer_alignment : alignof(T)};

    AlignedAllocator() noexcept = default;
    template <class U>
    AlignedAllocator(const AlignedAllocator<U>&) noexcept {}

    T* allocate(std::size_t n) { return static_cast<T*>(::operator new(n * sizeof(T), alignment)); }
    void deallocate(T* p, std::size_t) noexcept { ::operator delete(p, alignment); }

    template <class U>
    bool operator==(const AlignedAllocator<U>&) const noexcept {
        return true;
    }
};

template <class T>
using aligned_vector = std::vector<T, AlignedAllocator<T>>;

using Buffer = aligned_vector<float>;

// Grow-only resize: keeps the allocation when the request fits, so steady state allocates nothing.
template <class T>
void ensure_size(aligned_vector<T>& v, std::size_t n) {
    if (v.size() < n) v.resize(n);
}

}  // namespace ctnn
