#pragma once
// BlockBalance: a fixed number of equal blocks of work, split into contiguous ranges of blocks, one per thread,
// in proportion to how fast each thread got through its blocks lately. For cores that run at different speeds
// (virtual CPUs can differ by 15-25% for minutes at a time, docs/performance.md): with equal shares every step waits for
// the slower one. Work whose result does not depend on which thread does which block can move freely; results
// stay fixed because the blocks are.

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>

#include "ctnn/core/parallel.hpp"

namespace ctnn {

class BlockBalance {
public:
    static constexpr std::size_t max_threads = max_team_threads;

    // `blocks` blocks (at least `threads`) over `threads` threads, split evenly; forgets the measured speeds.
    void reset(std::size_t blocks, std::size_t threads) noexcept {
        threads_ = std::clamp<std::size_t>(threads, 1, max_threads);
        blocks_ = std::max(blocks, threads_);
        for (std::size_t t = 0; t < threads_; ++t) first_[t] = split_range(blocks_, t, threads_).begin;
        first_[threads_] = blocks_;
        speed_.fill(0.0);
        seconds_.fill(0.0);
    }
    std::size_t blocks() const noexcept { return blocks_; }
    std::size_t threads() const noexcept { return threads_; }
    // The blocks of `thread`: [begin, end).
    Range range(std::size_t thread) const noexcept { return {first_[thread], first_[thread + 1]}; }

    // Sets the split: thread t gets blocks [first[t], first[t + 1]); first[0] = 0, first[threads] = blocks,
    // each thread at least one block. For tests that check a result does not depend on the split.
    void assign(const std::array<std::size_t, max_threads + 1>& first) noexcept {
        std::copy_n(first.begin(), threads_ + 1, first_.begin());
        seconds_.fill(0.0);  // the next rebalance waits for times measured with this split
    }

    // The seconds `thread` took for its blocks in the last step. Each thread records its own.
    void record(std::size_t thread, double seconds) noexcept { seconds_[thread] = seconds; }

    // Splits the blocks again by each thread's recent speed (blocks per second, smoothed over ~5 steps), once
    // every thread has recorded a time. Called by one thread while the others wait for the new split.
    void rebalance() noexcept {
        for (std::size_t t = 0; t < threads_; ++t)
            if (!(seconds_[t] > 0.0)) return;
        double total = 0.0;
        for (std::size_t t = 0; t < threads_; ++t) {
            const double speed = static_cast<double>(first_[t + 1] - first_[t]) / seconds_[t];
            speed_[t] = speed_[t] > 0.0 ? speed_[t] + smoothing * (speed - speed_[t]) : speed;
            total += speed_[t];
            seconds_[t] = 0.0;
        }
        double before = 0.0;
        for (std::size_t t = 1; t < threads_; ++t) {
            before += speed_[t - 1];
            const auto target = static_cast<std::size_t>(std::lround(static_cast<double>(blocks_) * before / total));
            // Every thread keeps at least one block.
            first_[t] = std::clamp(target, first_[t - 1] + 1, blocks_ - (threads_ - t));
        }
    }

private:
    static constexpr double smoothing = 0.2;
    std::size_t blocks_ = 1, threads_ = 1;
    std::array<std::size_t, max_threads + 1> first_{0, 1};
    std::array<double, max_threads> speed_{}, seconds_{};
};

}  // namespace ctnn
