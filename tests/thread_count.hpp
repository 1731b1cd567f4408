#pragma once
// set_num_threads for one scope: the thread count goes back to the default when the scope ends, also when a
// REQUIRE leaves it early, so that one test's setting never leaks into the next.

#include "ctnn/core/parallel.hpp"

namespace ctnn::testing {

class ThreadCount {
public:
    explicit ThreadCount(int threads) noexcept { set_num_threads(threads); }
    ~ThreadCount() { set_num_threads(0); }
    ThreadCount(const ThreadCount&) = delete;
    ThreadCount& operator=(const ThreadCount&) = delete;
};

}  // namespace ctnn::testing
