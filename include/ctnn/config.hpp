#pragma once
// Configuration switches. Each can be overridden by defining it before including any ctnn header
// (or on the compiler's command line).

#include <cstddef>

#ifndef CTNN_VERSION_MAJOR
#define CTNN_VERSION_MAJOR 0
#define CTNN_VERSION_MINOR 1
#define CTNN_VERSION_PATCH 0
#endif

// Default upper bound on the run-time batch size a network reserves buffers for.
#ifndef CTNN_DEFAULT_MAX_BATCH
#define CTNN_DEFAULT_MAX_BATCH 256
#endif

// Alignment (bytes) of every buffer ctnn allocates: enough for AVX-512 loads.
#ifndef CTNN_ALIGNMENT
#define CTNN_ALIGNMENT 64
#endif

namespace ctnn {
inline constexpr std::size_t default_max_batch = CTNN_DEFAULT_MAX_BATCH;
inline constexpr std::size_t buffer_alignment = CTNN_ALIGNMENT;
}  // namespace ctnn
