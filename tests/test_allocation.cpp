// Steady-state training allocates nothing: the global operator new is replaced by a counting one.
#include <doctest/doctest.h>

#include <atomic>
#include <cstdlib>
#include <memory>
#include <new>

#include "seed_networks.hpp"
#include "synthetic_data.hpp"

// clang's ThreadSanitizer runtime is linked statically and defines the global operator new itself: a second
// definition would not link, so under TSan (the tsan preset, which runs only the threaded tests) this file is empty.
#if !(defined(__has_feature) && __has_feature(thread_sanitizer))

// The replacements pair malloc with free on purpose; g++ cannot see that every new here is malloc-based.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

namespace {
std::atomic<bool> counting{false};
std::atomic<std::size_t> allocations{0};
}  // namespace

void* operator new(std::size_t size) {
    if (counting.load(std::memory_order_relaxed)) allocations.fetch_add(1, std::memory_order_relaxed);
    if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
    throw std::bad_alloc();
}
void* operator new[](std::size_t size) { return operator new(size); }
void* operator new(std::size_t size, std::align_val_t alignment) {
    if (counting.load(std::memory_order_relaxed)) allocations.fetch_add(1, std::memory_order_relaxed);
    const std::size_t a = static_cast<std::size_t>(alignment);
    if (void* p = std::aligned_alloc(a, (size + a - 1) / a * a)) return p;
    throw std::bad_alloc();
}
void* operator new[](std::size_t size, std::align_val_t alignment) { return operator new(size, alignment); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }

using namespace ctnn;

TEST_CASE("a steady-state training step of the seed CNN allocates nothing (1 and 2 threads)") {
    auto net = std::make_unique<testing::SeedCnn>(seed(1), /*max_batch=*/32);
    Adam opt;
    const auto batch = testing::blobs(32, 28, 10, 1);
    StepPlan plan(*net);
    for (int threads : {1, 2}) {
        set_num_threads(threads);
        // Warm-up: the optimiser creates its moments, kernels size their per-thread buffers.
        train_step(plan, opt, batch.images.data(), batch.labels.data(), 32);
        train_step(plan, opt, batch.images.data(), batch.labels.data(), 32);
        allocations = 0;
        counting = true;
        for (int step = 0; step < 5; ++step)
            train_step(plan, opt, batch.images.data(), batch.labels.data(), 32);
        train_step(plan, opt, batch.images.data(), batch.labels.data(), 7);  // a partial batch too
        net->forward(batch.images.data(), 32, Pass::inference);
        counting = false;
        INFO("threads: ", threads);
        CHECK(allocations.load() == 0);
    }
    set_num_threads(0);
}

TEST_CASE("fit's steps sharing one parallel region allocate nothing after the first") {
    using Net = testing::SeedCnn;
    auto net = std::make_unique<Net>(seed(2), /*max_batch=*/32);
    Adam opt;
    const auto batch = testing::blobs(32, 28, 10, 2);
    set_num_threads(2);
    std::size_t done = 0;
    StepPlan plan(*net);
    const auto run = [&](std::size_t steps) {
        detail::row_split_steps(
            plan, opt, batch.images.data(), batch.labels.data(), 32, 2, steps, [](std::size_t) {},
            [&](std::size_t, const BatchLoss&) { ++done; });
    };
    run(2);  // warm-up: the optimiser's moments, the row-split buffers, the parts' workspaces
    allocations = 0;
    counting = true;
    run(5);
    counting = false;
    set_num_threads(0);
    CHECK(done == 7);
    CHECK(allocations.load() == 0);
}

TEST_CASE("the allocation counter itself works") {
    allocations = 0;
    counting = true;
    auto p = std::make_unique<int>(3);
    counting = false;
    CHECK(allocations.load() == 1);
}

#endif  // !thread_sanitizer
