#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <vector>

#include "ctnn/core/parallel.hpp"

using namespace ctnn;

TEST_CASE("split_range covers 0..count in order, in granules, as evenly as it can") {
    for (std::size_t count : {0u, 1u, 7u, 64u, 5408u, 692224u})
        for (std::size_t parts : {1u, 2u, 3u, 8u})
            for (std::size_t granule : {1u, 64u}) {
                std::size_t expected_begin = 0, smallest = count, largest = 0;
                for (std::size_t part = 0; part < parts; ++part) {
                    const Range r = split_range(count, part, parts, granule);
                    CHECK(r.begin == expected_begin);
                    CHECK(r.end >= r.begin);
                    if (r.end != count) CHECK(r.end % granule == 0);
                    expected_begin = r.end;
                    smallest = std::min(smallest, r.end - r.begin);
                    largest = std::max(largest, r.end - r.begin);
                }
                CHECK(expected_begin == count);
                if (count >= parts * granule) CHECK(largest - smallest < 2 * granule);  // a granule, plus the short tail
            }
    // The seed CNN's Dense<5408,128>: halves of its rows are halves of its elements in 64-float granules.
    CHECK(split_range(5408, 1, 2).begin * 128 == split_range(5408 * 128, 1, 2, 64).begin);
}

TEST_CASE("parallel_team: one call per thread, and sync() separates the phases") {
    for (int threads : {1, 2, 3}) {  // 3 threads on 2 cores: the barrier's sleeping path too
        set_num_threads(threads);
        constexpr int rounds = 2000;
        std::vector<std::atomic<int>> seen(8);
        std::atomic<std::size_t> calls{0}, team_size{0}, stale{0};
        parallel_team(8, [&](const Team& team) {
            ++calls;
            team_size = team.size();
            for (int round = 1; round <= rounds; ++round) {
                seen[team.thread()].store(round, std::memory_order_relaxed);
                team.sync();
                for (std::size_t other = 0; other < team.size(); ++other)
                    stale += seen[other].load(std::memory_order_relaxed) != round;
                team.sync();  // nobody writes the next round before everyone has read this one
            }
        });
        set_num_threads(0);
        INFO("threads " << threads);
#ifdef _OPENMP
        CHECK(team_size.load() == static_cast<std::size_t>(threads));
#else
        CHECK(team_size.load() == 1);
#endif
        CHECK(calls.load() == team_size.load());
        CHECK(stale.load() == 0);
    }
}

TEST_CASE("parallel_team inside a parallel region runs on the calling thread alone") {
    set_num_threads(2);
    std::atomic<std::size_t> largest_inner_team{0};
    parallel_parts(2, [&](std::size_t, std::size_t) {
        parallel_team(2, [&](const Team& team) {
            std::size_t seen = largest_inner_team.load();
            while (team.size() > seen && !largest_inner_team.compare_exchange_weak(seen, team.size())) {
            }
        });
    });
    set_num_threads(0);
    CHECK(largest_inner_team.load() == 1);
}
