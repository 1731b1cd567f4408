#pragma once
// Thread control. ctnn parallelises coarse work (GEMM panels, halves of a batch) with OpenMP when the
// consumer's build enables it, and runs serially otherwise. Work is split by a fixed rule that depends only
// on the thread count, so results are identical for a given seed and thread count.

#include <cstddef>

#ifdef _OPENMP
#include <omp.h>
#endif

namespace ctnn {

namespace detail {
inline int& thread_setting() noexcept {
    static int threads = 0;  // 0: OpenMP's default (OMP_NUM_THREADS or the core count)
    return threads;
}
}  // namespace detail

// Number of threads ctnn's kernels use (1 without OpenMP).
inline int num_threads() noexcept {
#ifdef _OPENMP
    const int chosen = detail::thread_setting();
    return chosen > 0 ? chosen : omp_get_max_threads();
#else
    return 1;
#endif
}

// Select the number of threads at run time; 0 restores the default. Ignored without OpenMP.
inline void set_num_threads(int threads) noexcept { detail::thread_setting() = threads < 0 ? 0 : threads; }

// Runs body(part, parts) for part in [0, parts) with parts = min(num_threads(), max_parts), in parallel when
// OpenMP is on. The split depends only on `parts`, never on timing.
template <class Body>
void parallel_parts(std::size_t max_parts, Body&& body) {
    std::size_t parts = static_cast<std::size_t>(num_threads());
    if (parts > max_parts) parts = max_parts;
#ifdef _OPENMP
    // Nested inside another parallel region (e.g. a GEMM called per half of a batch): stay on this thread.
    if (omp_in_parallel()) parts = 1;
#endif
    if (parts <= 1) {
        body(std::size_t{0}, std::size_t{1});
        return;
    }
#ifdef _OPENMP
#pragma omp parallel for num_threads(static_cast<int>(parts)) schedule(static, 1)
    for (std::ptrdiff_t part = 0; part < static_cast<std::ptrdiff_t>(parts); ++part)
        body(static_cast<std::size_t>(part), parts);
#else
    for (std::size_t part = 0; part < parts; ++part) body(part, parts);
#endif
}

// Runs body(thread, threads) once on every thread of a team of up to max_threads (`threads` is the team's
// actual size, which the split must follow), for work in phases: team_barrier() between them. One thread when
// OpenMP is off or when already inside a parallel region.
template <class Body>
void parallel_team(std::size_t max_threads, Body&& body) {
    std::size_t threads = static_cast<std::size_t>(num_threads());
    if (threads > max_threads) threads = max_threads;
#ifdef _OPENMP
    if (omp_in_parallel()) threads = 1;
    if (threads > 1) {
#pragma omp parallel num_threads(static_cast<int>(threads))
        body(static_cast<std::size_t>(omp_get_thread_num()), static_cast<std::size_t>(omp_get_num_threads()));
        return;
    }
#endif
    body(std::size_t{0}, std::size_t{1});
}

// Waits for every thread of the enclosing parallel_team (nothing to wait for on one thread).
inline void team_barrier() noexcept {
#ifdef _OPENMP
#pragma omp barrier
#endif
}

// [begin, end) of part `part` when `count` items are split into `parts` nearly equal contiguous ranges,
// each a multiple of `granule` except the last.
struct Range {
    std::size_t begin, end;
};
constexpr Range split_range(std::size_t count, std::size_t part, std::size_t parts,
                            std::size_t granule = 1) noexcept {
    const std::size_t units = (count + granule - 1) / granule;
    const std::size_t base = units / parts, extra = units % parts;
    const std::size_t first = part * base + (part < extra ? part : extra);
    const std::size_t len = base + (part < extra ? 1 : 0);
    const std::size_t b = first * granule;
    const std::size_t e = (first + len) * granule;
    return {b < count ? b : count, e < count ? e : count};
}

}  // namespace ctnn
