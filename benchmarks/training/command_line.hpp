#pragma once
// Command-line pieces shared by the training benchmarks. They parse their options with the examples'
// CommandLine (examples/support: CLI11, every rejected value named with what was expected, --help) and run
// under run_program (one line on stderr and exit status 2 for a bad argument, 1 for a run-time error).

#include <vector>

#include "support/command_line.hpp"

namespace ctnn::bench {

// --threads 1,2: the thread counts to measure, one run each.
inline void add_thread_counts(examples::CommandLine& cli, std::vector<int>& counts) {
    cli.integers("--threads", counts, "thread counts to measure, one run each", 1);
}

}  // namespace ctnn::bench
