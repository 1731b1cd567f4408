// Loading the seed CNN's 2.8 MB of parameters from each file format: a ctnn model file (io::load: checks, a
// staged read, the CRC) and, with the ctnn::safetensors component, a safetensors file (io::load_safetensors:
// memory map, JSON header, PyTorch layouts converted, the Dense rows after Flatten permuted).

#include <benchmark/benchmark.h>

#include <filesystem>
#include <string>
#include <unistd.h>

#include "bench_common.hpp"
#include "networks.hpp"
#ifdef CTNN_BENCH_HAVE_SAFETENSORS
#include "ctnn/io/safetensors.hpp"
#endif

namespace {

std::filesystem::path scratch_file(const char* extension) {
    return std::filesystem::temp_directory_path() /
           ("ctnn_bench_io_" + std::to_string(::getpid()) + extension);
}

void load_model_file(benchmark::State& state) {
    ctnn::bench::Cnn net(ctnn::seed{3}, 1);
    const auto file = scratch_file(".ctnn");
    ctnn::io::save(net, file);
    for (auto _ : state) ctnn::io::load(net, file);
    std::filesystem::remove(file);
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) *
                            static_cast<std::int64_t>(ctnn::bench::Cnn::parameter_count * sizeof(float)));
}
BENCHMARK(load_model_file)->Unit(benchmark::kMillisecond);

#ifdef CTNN_BENCH_HAVE_SAFETENSORS
void load_safetensors(benchmark::State& state) {
    ctnn::bench::Cnn net(ctnn::seed{3}, 1);
    const auto file = scratch_file(".safetensors");
    ctnn::io::save_safetensors(net, file);
    for (auto _ : state) ctnn::io::load_safetensors(net, file);
    std::filesystem::remove(file);
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) *
                            static_cast<std::int64_t>(ctnn::bench::Cnn::parameter_count * sizeof(float)));
}
BENCHMARK(load_safetensors)->Unit(benchmark::kMillisecond);
#endif

}  // namespace
