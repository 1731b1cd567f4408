#pragma once
// The data caches of the CPU the program runs on, read once at run time: blocking that must fit a cache takes
// its size from here instead of a constant tuned to one CPU (the Xeon here has 2 MB of L2 per core, the Zen 5 that
// ctnn was first tuned on 1 MB). glibc answers sysconf(_SC_LEVEL*_CACHE_SIZE) from CPUID; where it cannot (other C
// libraries, some virtual machines report 0), the fallbacks are the smallest caches of current x86-64 and AArch64
// server cores, so that a block sized for them still fits.

#include <cstddef>

#if defined(__unix__) || defined(__APPLE__)
#include <unistd.h>
#endif

namespace ctnn {

struct CacheSizes {
    std::size_t l1d = 32 * 1024;    // bytes per core
    std::size_t l2 = 512 * 1024;    // bytes per core
};

namespace detail {
inline CacheSizes read_cache_sizes() noexcept {
    CacheSizes sizes;
#if defined(_SC_LEVEL1_DCACHE_SIZE) && defined(_SC_LEVEL2_CACHE_SIZE)
    if (const long l1 = sysconf(_SC_LEVEL1_DCACHE_SIZE); l1 > 0) sizes.l1d = static_cast<std::size_t>(l1);
    if (const long l2 = sysconf(_SC_LEVEL2_CACHE_SIZE); l2 > 0) sizes.l2 = static_cast<std::size_t>(l2);
#endif
    return sizes;
}
}  // namespace detail

// Read on first use, then constant for the life of the program.
inline const CacheSizes& cache_sizes() noexcept {
    static const CacheSizes sizes = detail::read_cache_sizes();
    return sizes;
}

}  // namespace ctnn
