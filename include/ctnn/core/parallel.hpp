#pragma once
// Thread control. ctnn parallelises coarse work (GEMM panels, halves of a batch) with OpenMP when the
// consumer's build enables it, and runs serially otherwise. Work is split by a fixed rule that depends only
// on the thread count, so results are identical for a given seed and thread count.

#include <atomic>
#include <cstddef>

#include "ctnn/core/range.hpp"

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

// The most threads a team of ctnn's works with: fixed-size per-thread slots (losses, block balance) hold this
// many. Beyond it a team runs with this many threads.
inline constexpr std::size_t max_team_threads = 64;

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

// Whether a kernel called here runs on the calling thread alone: one thread is set, or the caller is already
// inside a parallel region (parallel_parts then stays serial).
inline bool kernels_run_serially() noexcept {
#ifdef _OPENMP
    return num_threads() <= 1 || omp_in_parallel();
#else
    return true;
#endif
}

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

// A barrier for the threads of a parallel_team that spins briefly before it sleeps. The threads of a training
// step reach each barrier within microseconds of each other, and waking a sleeping thread can take tens of
// microseconds on a virtual machine (OpenMP's own barrier sleeps at once under OMP_WAIT_POLICY=passive, the
// setting shared two-core machines need): 3-4 barriers per 1 ms step (`ctnn_train_bench --threads 2`).
class TeamBarrier {
public:
    // Every thread of the team calls this with the same `threads`.
    void arrive_and_wait(std::size_t threads) noexcept {
        const unsigned generation = generation_.load(std::memory_order_acquire);
        if (arrived_.fetch_add(1, std::memory_order_acq_rel) + 1 == threads) {
            arrived_.store(0, std::memory_order_relaxed);  // before the release below: the next round sees 0
            generation_.store(generation + 1, std::memory_order_release);
            generation_.notify_all();
            return;
        }
        for (int spin = 0; spin < spin_limit; ++spin) {
            if (generation_.load(std::memory_order_acquire) != generation) return;
            pause();
        }
        while (generation_.load(std::memory_order_acquire) == generation)
            generation_.wait(generation, std::memory_order_acquire);
    }

private:
    static constexpr int spin_limit = 1 << 12;  // ~50 us of pause instructions
    static void pause() noexcept {
#if defined(__x86_64__) || defined(__i386__)
        __builtin_ia32_pause();
#endif
    }
    alignas(64) std::atomic<std::size_t> arrived_{0};
    alignas(64) std::atomic<unsigned> generation_{0};
};

// One thread's view of a parallel_team: its number, the team's size, and the team's barrier.
class Team {
public:
    Team(std::size_t thread, std::size_t threads, TeamBarrier& barrier) noexcept
        : thread_(thread), threads_(threads), barrier_(&barrier) {}
    std::size_t thread() const noexcept { return thread_; }
    std::size_t size() const noexcept { return threads_; }
    // Waits until every thread of the team has called sync() as often as this one.
    void sync() const noexcept {
        if (threads_ > 1) barrier_->arrive_and_wait(threads_);
    }

private:
    std::size_t thread_, threads_;
    TeamBarrier* barrier_;
};

// Runs body(team) once on every thread of a team of up to max_threads, for work in phases separated by
// team.sync(); the split of the work must follow team.size(), which OpenMP may make smaller. One thread when
// OpenMP is off or when already inside a parallel region.
template <class Body>
void parallel_team(std::size_t max_threads, Body&& body) {
    std::size_t threads = static_cast<std::size_t>(num_threads());
    if (threads > max_threads) threads = max_threads;
    TeamBarrier barrier;
#ifdef _OPENMP
    if (omp_in_parallel()) threads = 1;
    if (threads > 1) {
#pragma omp parallel num_threads(static_cast<int>(threads))
        body(Team(static_cast<std::size_t>(omp_get_thread_num()), static_cast<std::size_t>(omp_get_num_threads()),
                  barrier));
        return;
    }
#endif
    body(Team(0, 1, barrier));
}

}  // namespace ctnn
