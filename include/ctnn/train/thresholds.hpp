#pragma once
// The training engine's thresholds, each defined once. A figure in a comment names the benchmark that set it;
// rerun that benchmark before changing one (docs/performance.md has the runs).

#include <cstddef>

namespace ctnn {

// Work per thread below which a training step stays on one thread: waking a second thread and reducing its
// gradients costs tens of microseconds. `ctnn_train_bench --threads 1,2`: the MLP's batch of 32 (~20 MFLOP
// per step) runs slower on two threads, the CNN's (~170 MFLOP) faster.
inline constexpr std::size_t min_flops_per_thread = std::size_t{40} << 20;

// Parameters below which the optimiser's update and the sum of the threads' gradients run on one thread: a
// second thread costs more to wake than it saves. `ctnn_train_bench --threads 1,2 --models mlp`: the MLP
// (0.1M parameters) took 0.36 s per epoch serial, 1.0 s with a parallel update.
inline constexpr std::size_t update_parallel_min = std::size_t{1} << 19;
inline constexpr std::size_t reduce_parallel_min = std::size_t{1} << 18;

// Floats in each thread's share of a parameter array: whole 64-byte cache lines, so that no two threads write
// the same line.
inline constexpr std::size_t thread_granule = 64;

// Blocks of a row-split layer's weight rows per thread (train/row_split_step.hpp): the split can follow the
// threads' measured speeds in steps of 1/8 of an even share. More blocks cost one more partial output each to
// add (~0.3 us per block per step for the CNN, `ctnn_train_bench --threads 2`).
inline constexpr std::size_t row_blocks_per_thread = 8;

}  // namespace ctnn
