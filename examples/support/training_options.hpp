#pragma once
// The options the literate examples share: where MNIST is, how many epochs, which seed, where to write.
//   PROGRAM [--data-dir DIR] [--epochs N] [--seed S] [--out DIR]
// A bad value is named with what was expected, on stderr, and the program exits 2; --help prints the usage
// and exits 0. (The options of shuffled_pixels, which has many more, are its own.)

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

namespace examples {

struct TrainingOptions {
    std::filesystem::path data_dir = "data/mnist", out = "results";
    std::size_t epochs = 1;
    std::uint64_t seed = 1;
};

// Parses argv over `defaults`; `with_out` says whether the program writes files (--out).
inline TrainingOptions parse_training_options(int argc, char** argv, const char* program, TrainingOptions defaults,
                                              bool with_out) {
    const std::string usage = std::string("usage: ") + program + " [--data-dir DIR] [--epochs N] [--seed S]" +
                              (with_out ? " [--out DIR]" : "") + "\n";
    const auto fail = [&](const std::string& problem) {
        std::fprintf(stderr, "%s: %s\n%s", program, problem.c_str(), usage.c_str());
        std::exit(2);
    };
    TrainingOptions o = defaults;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        if (arg == "--help" || arg == "-h") {
            std::printf("%s", usage.c_str());
            std::exit(0);
        }
        if (i + 1 >= argc) fail("missing value after " + arg);
        const std::string value = argv[++i];
        char* end = nullptr;
        const unsigned long long number = std::strtoull(value.c_str(), &end, 10);
        const bool integer = !value.empty() && *end == '\0' && value[0] != '-';
        if (arg == "--data-dir")
            o.data_dir = value;
        else if (arg == "--out" && with_out)
            o.out = value;
        else if (arg == "--epochs" && integer && number > 0)
            o.epochs = number;
        else if (arg == "--seed" && integer)
            o.seed = number;
        else
            fail("bad option " + arg + " " + value + " (--epochs takes a positive integer, --seed an integer)");
    }
    return o;
}

}  // namespace examples
