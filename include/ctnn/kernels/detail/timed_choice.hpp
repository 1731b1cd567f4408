#pragma once
// A choice between two kernels that give the same bits, made by timing both once on the caller's own data: for
// choices where the faster kernel differs between CPUs for reasons no cache size or feature flag predicts
// (small_batch.hpp's column block width where W fits L2: the wide block 1.7x faster on a Zen 5, 1.2x slower on a
// Xeon, docs/performance.md). Both run alternately after one untimed call each (their data then sits where the
// caller's next calls will find it), and the fastest of a candidate's rounds stands for it, so an interrupt or a
// clock change within one round decides nothing. The second must beat the first by a clear margin: a near tie keeps
// the first, the default, so that two runs on one CPU choose alike.

#include <chrono>
#include <cstddef>

namespace ctnn::kernels::detail {

struct TimedChoiceRounds {
    std::size_t rounds = 7;           // alternations of the two candidates
    std::size_t calls_per_round = 8;  // calls timed together, for kernels of a few microseconds
    double margin = 0.9;              // the second is chosen when its best round takes < margin x the first's
};

// True when `second` is clearly faster than `first`. Both are called (1 + rounds x calls_per_round) times each, so
// both must be safe to repeat (no input overwritten).
template <class First, class Second>
bool second_is_clearly_faster(First&& first, Second&& second, TimedChoiceRounds plan = {}) noexcept {
    using clock = std::chrono::steady_clock;
    const auto best_round = [&](auto& candidate, clock::duration best) {
        const auto start = clock::now();
        for (std::size_t call = 0; call < plan.calls_per_round; ++call) candidate();
        const auto took = clock::now() - start;
        return took < best ? took : best;
    };
    first();
    second();
    clock::duration first_best = clock::duration::max(), second_best = clock::duration::max();
    for (std::size_t round = 0; round < plan.rounds; ++round) {
        first_best = best_round(first, first_best);
        second_best = best_round(second, second_best);
    }
    return static_cast<double>(second_best.count()) < plan.margin * static_cast<double>(first_best.count());
}

}  // namespace ctnn::kernels::detail
