// Concurrent use of networks from std::threads: const inference on one shared network (each thread with its
// own Workspace, as Sequential::forward's const overload allows), with every forward opening OpenMP regions of
// its own; and training one network on an OpenMP team while other threads run inference on a copy. Results
// must be bit for bit those of the same calls made alone. The ThreadSanitizer preset (tsan) runs these; their
// names start with "threads:".

#include <doctest/doctest.h>

#include <bit>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <thread>
#include <vector>

#include "ctnn/ctnn.hpp"
#include "gradient_check.hpp"  // fill_uniform
#include "network_values.hpp"
#include "synthetic_data.hpp"
#include "thread_count.hpp"

using namespace ctnn;

namespace {

// Every kind of layer with inference-time behaviour: convolution (split across OpenMP threads by images),
// BatchNorm (running statistics), pooling, Dense (GEMM), Dropout (the identity in inference).
using Net = Sequential<Input<12, 12, 1>, Conv2D<3, 3, 1, 16>, BatchNorm<>, ReLU, MaxPool2D<2>, Flatten, Dense<400, 64>,
                       ReLU, Dropout<>, Dense<64, 10>>;

constexpr std::size_t callers = 4, batch = 48, repeats = 3;

// A network whose running statistics have moved away from their initial values.
std::unique_ptr<Net> trained_network() {
    auto net = std::make_unique<Net>(seed(41));
    const auto data = testing::blobs(batch, 12, 10, 41);
    StepPlan plan(*net);
    Adam optimizer(1e-2f);
    for (int step = 0; step < 3; ++step) train_step(plan, optimizer, data.images.data(), data.labels.data(), batch);
    return net;
}

}  // namespace

TEST_CASE("threads: const inference from 4 std::threads on one shared network equals serial inference, bit for bit") {
    const testing::ThreadCount two(2);  // each forward's convolution opens an OpenMP region of 2 threads
    const std::unique_ptr<Net> owner = trained_network();
    const Net& net = *owner;
    REQUIRE(testing::state_values(*owner) != testing::state_values(*std::make_unique<Net>(seed(41))));

    Rng rng(42);
    std::vector<Buffer> inputs;
    std::vector<std::vector<std::uint32_t>> expected;
    for (std::size_t c = 0; c < callers; ++c) {
        inputs.emplace_back(batch * Net::input_shape::size);
        testing::fill_uniform(inputs.back(), rng, 0.0f, 1.0f);
        Net::Workspace ws(batch);
        expected.push_back(testing::bits_of(net.forward(inputs.back().data(), batch, ws, Pass::inference)));
    }
    const auto parameters_before = testing::bits_of(testing::parameter_values(*owner));
    const auto state_before = testing::bits_of(testing::state_values(*owner));

    std::vector<std::size_t> mismatches(callers, 0), wrong_labels(callers, 0);
    std::vector<std::thread> threads;
    for (std::size_t c = 0; c < callers; ++c)
        threads.emplace_back([&, c] {
            Net::Workspace ws(batch);
            for (std::size_t r = 0; r < repeats; ++r) {
                const std::span<const float> out = net.forward(inputs[c].data(), batch, ws, Pass::inference);
                mismatches[c] += testing::bits_of(out) != expected[c];
            }
            // predict on single samples, through the same workspace
            for (std::size_t s = 0; s < 4; ++s) {
                const auto p = predict(net, {inputs[c].data() + s * Net::input_shape::size, Net::input_shape::size},
                                       ws);
                const auto row = std::span(expected[c]).subspan(s * 10, 10);
                std::size_t best = 0;
                for (std::size_t k = 1; k < 10; ++k)
                    if (std::bit_cast<float>(row[k]) > std::bit_cast<float>(row[best])) best = k;
                wrong_labels[c] += p.label != best;
            }
        });
    for (auto& t : threads) t.join();
    for (std::size_t c = 0; c < callers; ++c) {
        INFO("caller " << c);
        CHECK(mismatches[c] == 0);
        CHECK(wrong_labels[c] == 0);
    }
    CHECK(testing::bits_of(testing::parameter_values(*owner)) == parameters_before);
    CHECK(testing::bits_of(testing::state_values(*owner)) == state_before);
}

TEST_CASE("threads: training on 2 OpenMP threads while std::threads run inference on a copy disturbs neither") {
    const testing::ThreadCount two(2);
    const auto data = testing::blobs(2 * batch + 8, 12, 10, 43);  // two full batches and a partial one
    const auto train = [&](Net& net) {
        Adam optimizer(1e-2f);
        fit(net, data, optimizer, {.epochs = 2, .batch = batch, .seed = 43, .verbosity = Verbosity::silent});
        return testing::bits_of(testing::parameter_values(net));
    };
    const auto alone = train(*std::make_unique<Net>(seed(43)));

    const std::unique_ptr<Net> original = trained_network();
    const Net copy = *original;  // deep: its own parameters and state
    Buffer x(batch * Net::input_shape::size);
    Rng rng(44);
    testing::fill_uniform(x, rng, 0.0f, 1.0f);
    Net::Workspace reference_ws(batch);
    const auto expected = testing::bits_of(copy.forward(x.data(), batch, reference_ws, Pass::inference));

    auto trained = std::make_unique<Net>(seed(43));
    std::vector<std::size_t> mismatches(2, 0);
    std::vector<std::thread> readers;
    for (std::size_t c = 0; c < mismatches.size(); ++c)
        readers.emplace_back([&, c] {
            Net::Workspace ws(batch);
            for (std::size_t r = 0; r < repeats; ++r)
                mismatches[c] += testing::bits_of(copy.forward(x.data(), batch, ws, Pass::inference)) != expected;
        });
    const auto concurrent = train(*trained);
    for (auto& t : readers) t.join();
    CHECK(concurrent == alone);
    CHECK(mismatches[0] == 0);
    CHECK(mismatches[1] == 0);
}
