#pragma once
// Buffer: an aligned, heap-allocated float array for run-time-sized data (batches, workspaces).
// Allocated once and reused: the machines we run on make first-touch of fresh pages expensive.

#include <algorithm>
#include <cstddef>
#include <memory>
#include <new>
#include <span>
#include <utility>
#include <vector>

#include "ctnn/config.hpp"

#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace ctnn {

namespace detail {

// Arrays of at least this size start on a 2 MiB boundary and are offered to Linux's transparent huge pages
// (the default "madvise" mode grants them only on request). A training epoch reads the dataset's images in
// random order; with 4 KiB pages each image can cost a page walk that misses every cache: copying a batch of 32
// MNIST images took 150-200 us instead of ~10 on a virtual machine, a sixth of a two-thread step of
// ctnn_train_bench's CNN (docs/performance.md).
inline constexpr std::size_t huge_page_bytes = std::size_t{2} << 20;

inline std::align_val_t allocation_alignment(std::size_t bytes, std::size_t alignment) noexcept {
    return std::align_val_t{bytes >= huge_page_bytes ? std::max(alignment, huge_page_bytes) : alignment};
}

inline void* allocate_aligned(std::size_t bytes, std::size_t alignment) {
    void* p = ::operator new(bytes, allocation_alignment(bytes, alignment));
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    if (bytes >= huge_page_bytes) ::madvise(p, bytes, MADV_HUGEPAGE);  // advice only: failure changes nothing
#endif
    return p;
}

inline void deallocate_aligned(void* p, std::size_t bytes, std::size_t alignment) noexcept {
    ::operator delete(p, allocation_alignment(bytes, alignment));
}

// One object on the heap the same way, for large ones such as a network's layers with their weights.
template <class T>
inline constexpr std::size_t object_alignment = alignof(T) > buffer_alignment ? alignof(T) : buffer_alignment;

template <class T>
struct AlignedDelete {
    void operator()(T* p) const noexcept {
        p->~T();
        deallocate_aligned(p, sizeof(T), object_alignment<T>);
    }
};
template <class T>
using aligned_unique_ptr = std::unique_ptr<T, AlignedDelete<T>>;

template <class T, class... Args>
aligned_unique_ptr<T> make_aligned_unique(Args&&... args) {
    void* p = allocate_aligned(sizeof(T), object_alignment<T>);
    try {
        return aligned_unique_ptr<T>(::new (p) T(std::forward<Args>(args)...));
    } catch (...) {
        deallocate_aligned(p, sizeof(T), object_alignment<T>);
        throw;
    }
}

}  // namespace detail

// Allocates through the aligned global operator new (not xsimd's malloc-based allocator), so that a program
// replacing operator new, such as our allocation-counting test, sees every buffer ctnn allocates.
template <class T>
struct AlignedAllocator {
    using value_type = T;
    static constexpr std::size_t alignment = buffer_alignment > alignof(T) ? buffer_alignment : alignof(T);

    AlignedAllocator() noexcept = default;
    template <class U>
    AlignedAllocator(const AlignedAllocator<U>&) noexcept {}

    T* allocate(std::size_t n) { return static_cast<T*>(detail::allocate_aligned(n * sizeof(T), alignment)); }
    void deallocate(T* p, std::size_t n) noexcept { detail::deallocate_aligned(p, n * sizeof(T), alignment); }

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
