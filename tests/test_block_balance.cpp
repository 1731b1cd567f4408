#include <doctest/doctest.h>

#include "ctnn/core/block_balance.hpp"

using namespace ctnn;

namespace {
std::size_t blocks_of(const BlockBalance& b, std::size_t thread) {
    const Range r = b.range(thread);
    return r.end - r.begin;
}
}  // namespace

TEST_CASE("BlockBalance: starts even, covers every block once, in order") {
    BlockBalance b;
    b.reset(16, 2);
    CHECK(b.blocks() == 16);
    CHECK(b.threads() == 2);
    CHECK(b.range(0).begin == 0);
    CHECK(b.range(0).end == 8);
    CHECK(b.range(1).begin == 8);
    CHECK(b.range(1).end == 16);
    b.reset(24, 3);
    CHECK(blocks_of(b, 0) == 8);
    CHECK(blocks_of(b, 1) == 8);
    CHECK(b.range(2).end == 24);
    b.reset(2, 3);  // fewer blocks than threads: one each
    CHECK(b.blocks() == 3);
    for (std::size_t t = 0; t < 3; ++t) CHECK(blocks_of(b, t) == 1);
}

TEST_CASE("BlockBalance: the faster thread gets more blocks, in proportion to its speed") {
    BlockBalance b;
    b.reset(16, 2);
    b.record(0, 2.0);  // thread 0 took twice as long for the same 8 blocks
    b.record(1, 1.0);
    b.rebalance();
    CHECK(blocks_of(b, 0) == 5);  // 16 * (4 / 12) = 5.33
    CHECK(blocks_of(b, 1) == 11);
    CHECK(b.range(0).end == b.range(1).begin);
    CHECK(b.range(1).end == 16);
    SUBCASE("nothing moves until every thread has recorded a time") {
        b.record(0, 1.0);
        b.rebalance();
        CHECK(blocks_of(b, 0) == 5);
    }
    SUBCASE("equal speeds bring the split back towards even, smoothed") {
        for (int step = 0; step < 40; ++step) {
            b.record(0, static_cast<double>(blocks_of(b, 0)));  // one second per block on both threads
            b.record(1, static_cast<double>(blocks_of(b, 1)));
            b.rebalance();
        }
        CHECK(blocks_of(b, 0) == 8);
    }
    SUBCASE("a very slow thread still keeps one block") {
        for (int step = 0; step < 40; ++step) {
            b.record(0, 1000.0 * static_cast<double>(blocks_of(b, 0)));
            b.record(1, static_cast<double>(blocks_of(b, 1)));
            b.rebalance();
        }
        CHECK(blocks_of(b, 0) == 1);
        CHECK(blocks_of(b, 1) == 15);
    }
}

TEST_CASE("BlockBalance: assign sets the split and waits for new times") {
    BlockBalance b;
    b.reset(16, 2);
    b.record(0, 1.0);
    b.record(1, 1.0);
    b.assign({0, 3, 16});
    b.rebalance();  // the times above were for the old split: ignored
    CHECK(blocks_of(b, 0) == 3);
    CHECK(blocks_of(b, 1) == 13);
}
