#pragma once
// The two end-to-end checks every new layer's test runs on a small network containing it: a few training
// steps on one fixed batch must lower the loss, and a save/load round trip must give bitwise the same outputs.

#include <doctest/doctest.h>

#include <bit>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "ctnn/ctnn.hpp"
#include "gradient_check.hpp"  // fill_uniform
#include "idx_writer.hpp"      // TempDir
#include "network_values.hpp"  // parameter_values

namespace ctnn::testing {

// The parameters of layer `layer` of `net`, flattened.
template <class Net>
std::vector<float> parameters_of(Net& net, std::size_t layer) {
    std::vector<float> values;
    net.visit_parameters([&](std::size_t i, const ParameterView& p) {
        if (i == layer)
            for (float v : p.value) values.push_back(v);
    });
    return values;
}

struct TrainingRun {
    double first_loss = 0.0, last_loss = 0.0;  // summed over the batch, at the first and the last step
};

// `steps` Adam steps of `net` on the one batch (images, labels) of n samples.
template <class Net>
TrainingRun train_on_batch(Net& net, const float* images, const std::uint8_t* labels, std::size_t n, std::size_t steps,
                           float learning_rate = 1e-2f) {
    StepPlan plan(net);
    Adam optimizer(learning_rate);
    TrainingRun run;
    for (std::size_t step = 0; step < steps; ++step) {
        const double loss = train_step(plan, optimizer, images, labels, n).loss_sum;
        if (step == 0) run.first_loss = loss;
        run.last_loss = loss;
    }
    return run;
}

// Saves `net`, loads the file into a network of the same type made with `other_seed`, and requires that the
// loaded network's outputs on random inputs equal `net`'s bit for bit (and differed before the load, so that
// a load that does nothing cannot pass), and so do its parameters and its state.
template <class Net>
void check_reload_is_bit_exact(Net& net, std::uint64_t other_seed, Rng& rng, std::size_t n = 3) {
    Buffer x(n * Net::input_shape::size);
    fill_uniform(x, rng);
    const auto expected = bits_of(net.forward(x.data(), n));
    ctnn::test::TempDir dir;
    const std::filesystem::path file = dir.path() / "network.ctnn";
    io::save(net, file);
    auto loaded = std::make_unique<Net>(seed(other_seed), net.max_batch());
    REQUIRE(bits_of(loaded->forward(x.data(), n)) != expected);
    io::load(*loaded, file);
    CHECK(bits_of(loaded->forward(x.data(), n)) == expected);
    CHECK(parameter_values(*loaded) == parameter_values(net));
    CHECK(state_values(*loaded) == state_values(net));
}

}  // namespace ctnn::testing
