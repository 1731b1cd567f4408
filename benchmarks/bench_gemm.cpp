// gemm on the shapes ctnn's layers run (names are gemm[_tn|_nt]/M/K/N), beside OpenBLAS when it is installed
// (run with OPENBLAS_CORETYPE=SkylakeX on Zen 5: OpenBLAS 0.3.21 does not recognise it).

#include <benchmark/benchmark.h>

#include <cstddef>
#include <string>

#include "bench_common.hpp"
#include "ctnn/kernels/gemm.hpp"

#ifdef CTNN_BENCH_HAVE_OPENBLAS
#include <cblas.h>
#endif

namespace {

using ctnn::kernels::Trans;

struct GemmShape {
    const char* prefix;  // gemm (A B), gemm_tn (A^T B), gemm_nt (A B^T)
    Trans ta, tb;
    std::size_t m, k, n;
};

constexpr GemmShape shapes[] = {
    {"nn", Trans::no, Trans::no, 64, 784, 128},       {"nn", Trans::no, Trans::no, 64, 5408, 128},
    {"nn", Trans::no, Trans::no, 64, 128, 10},        {"nn", Trans::no, Trans::no, 43264, 9, 32},
    {"nn", Trans::no, Trans::no, 36864, 288, 64},     {"nn", Trans::no, Trans::no, 1024, 1024, 1024},
    {"nn", Trans::no, Trans::no, 32, 784, 128},       {"nn", Trans::no, Trans::no, 32, 5408, 128},
    {"tn", Trans::yes, Trans::no, 5408, 32, 128},     {"tn", Trans::yes, Trans::no, 784, 32, 128},
    {"nt", Trans::no, Trans::yes, 32, 128, 5408},     {"nt", Trans::no, Trans::yes, 32, 128, 784},
    {"nt", Trans::no, Trans::yes, 5408, 128, 32},
};

std::string name_of(const char* lib, const GemmShape& s) {
    std::string prefix = std::string(lib) + (s.prefix == std::string("nn") ? "" : std::string("_") + s.prefix);
    return prefix + "/" + std::to_string(s.m) + "/" + std::to_string(s.k) + "/" + std::to_string(s.n);
}

struct Operands {
    ctnn::Buffer a, b, c;
    std::size_t lda, ldb;
    explicit Operands(const GemmShape& s)
        : a(ctnn::bench::random_buffer(s.m * s.k, 1)), b(ctnn::bench::random_buffer(s.k * s.n, 2)),
          c(ctnn::bench::random_buffer(s.m * s.n, 3)), lda(s.ta == Trans::yes ? s.m : s.k),
          ldb(s.tb == Trans::yes ? s.k : s.n) {}
};

void run_ctnn(benchmark::State& state, GemmShape s) {
    Operands o(s);
    for (auto _ : state) {
        ctnn::kernels::gemm(s.ta, s.tb, s.m, s.n, s.k, o.a.data(), o.lda, o.b.data(), o.ldb, o.c.data(), s.n);
        benchmark::DoNotOptimize(o.c.data());
        benchmark::ClobberMemory();
    }
    ctnn::bench::set_gflops(state, 2.0 * s.m * s.n * s.k);
}

#ifdef CTNN_BENCH_HAVE_OPENBLAS
void run_openblas(benchmark::State& state, GemmShape s) {
    Operands o(s);
    const auto ta = s.ta == Trans::yes ? CblasTrans : CblasNoTrans, tb = s.tb == Trans::yes ? CblasTrans : CblasNoTrans;
    for (auto _ : state) {
        cblas_sgemm(CblasRowMajor, ta, tb, static_cast<int>(s.m), static_cast<int>(s.n), static_cast<int>(s.k), 1.0f,
                    o.a.data(), static_cast<int>(o.lda), o.b.data(), static_cast<int>(o.ldb), 0.0f, o.c.data(),
                    static_cast<int>(s.n));
        benchmark::DoNotOptimize(o.c.data());
        benchmark::ClobberMemory();
    }
    ctnn::bench::set_gflops(state, 2.0 * s.m * s.n * s.k);
}
#endif

const bool registered = [] {
    for (const auto& s : shapes) {
        benchmark::RegisterBenchmark(name_of("gemm", s).c_str(), run_ctnn, s);
#ifdef CTNN_BENCH_HAVE_OPENBLAS
        benchmark::RegisterBenchmark(name_of("openblas_sgemm", s).c_str(), run_openblas, s);
#endif
    }
    return true;
}();

}  // namespace
