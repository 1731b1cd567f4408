#pragma once
// The options the examples share: where the data is, how many epochs, which seed, where to write.
//   PROGRAM [--data-dir DIR] [--epochs N] [--seed S] [--out DIR]
// Added to a CommandLine (support/command_line.hpp), which names every rejected value with what was expected;
// a program adds its own options beside these (shuffled_pixels: --batch, --lr, --threads, ...), and the
// training benchmarks take --data-dir and --epochs from here too.

#include <cstdint>
#include <filesystem>
#include <string>

#include "support/command_line.hpp"

namespace examples {

struct TrainingOptions {
    std::filesystem::path data_dir = "data/mnist", out = "results";
    std::size_t epochs = 1;
    std::uint64_t seed = 1;
};

// --data-dir, a folder that must exist; `holds` says what is in it ("MNIST's four IDX files").
inline void add_data_dir(CommandLine& cli, std::filesystem::path& data_dir, const std::string& holds) {
    cli.existing_folder("--data-dir", data_dir, "the folder that holds " + holds);
}

// --epochs, at least one.
inline void add_epochs(CommandLine& cli, std::size_t& epochs) {
    cli.integer("--epochs", epochs, "training epochs of each network", std::size_t{1});
}

// Adds --data-dir, --epochs, --seed and, when `with_out`, --out, bound to `o`, whose values are the defaults
// --help shows.
inline void add_training_options(CommandLine& cli, TrainingOptions& o, const std::string& data_dir_holds,
                                 bool with_out) {
    add_data_dir(cli, o.data_dir, data_dir_holds);
    add_epochs(cli, o.epochs);
    cli.integer("--seed", o.seed, "seed of the run's random numbers", std::uint64_t{0});
    if (with_out) cli.output_folder("--out", o.out, "where the results are written");
}

}  // namespace examples
