// ctnn_dense_split_bench: how to share one training step of the seed CNN's Dense<5408,128> (forward, weight and
// input gradients, Adam) between threads. Measures the two ways side by side, for a batch of 32:
//   batch split  each thread takes half of the samples against the whole weight matrix (what train_step did
//                before the row split; it still does for networks without one dominant Dense layer),
//                then the halves' weight gradients are summed and Adam updates its half of the parameters;
//   row split    each thread owns half of the 5408 input rows of W, their gradient and their Adam state, for
//                the whole batch; only the two 32x128 partial outputs are summed (train_step's way now:
//                include/ctnn/train/row_split_step.hpp).
// The layer below (the convolution) is stood in for by each thread writing its own samples' inputs. Not a
// model of the whole step: a test of where the data lives.
//   ctnn_dense_split_bench [--threads 1,2] [--steps 1500]      (ctnn_dense_split_bench --help: what they accept)

#include <chrono>
#include <cstdio>
#include <vector>

#include <ctnn/ctnn.hpp>

#include "command_line.hpp"
#include "support/run_program.hpp"

#ifdef _OPENMP
#include <omp.h>
#endif

namespace {

using namespace ctnn;
using kernels::Trans;

constexpr std::size_t batch = 32, in = 5408, out = 128;

struct Step {
    Buffer x = Buffer(batch * in), w = Buffer(in * out), m = Buffer(in * out, 0.0f), v = Buffer(in * out, 0.0f);
    Buffer grad = Buffer(in * out), other_grad = Buffer(in * out);  // part 0's (or the only) and part 1's
    Buffer y = Buffer(batch * out), other_y = Buffer(batch * out), dy = Buffer(batch * out), dx = Buffer(batch * in);
    Step() {
        Rng rng(1);
        for (float& value : w) value = rng.uniform(-0.03f, 0.03f);
    }
};

// The layer below writes samples [first, last): a cheap, step-dependent pattern.
void write_inputs(Step& s, std::size_t first, std::size_t last, std::size_t step) {
    for (std::size_t i = first * in; i < last * in; ++i) s.x[i] = static_cast<float>((i + 7 * step) & 1023) * 1e-3f;
}

void adam(Step& s, std::size_t begin, std::size_t end) {
    kernels::adam_update(s.w.data() + begin, s.grad.data() + begin, s.m.data() + begin, s.v.data() + begin,
                         end - begin, 1e-3f, 0.9f, 0.999f, 1e-7f);
}

// Thread `t` of `threads`: its samples [r0, r1) and its rows of W [i0, i1).
void batch_split(Step& s, std::size_t t, std::size_t threads, std::size_t step) {
    const std::size_t r0 = batch * t / threads, r1 = batch * (t + 1) / threads;
    const std::size_t i0 = in * t / threads, i1 = in * (t + 1) / threads;
    write_inputs(s, r0, r1, step);
    float* grad = t == 0 ? s.grad.data() : s.other_grad.data();
    const std::size_t n = r1 - r0;
    kernels::gemm(Trans::no, Trans::no, n, out, in, s.x.data() + r0 * in, in, s.w.data(), out, s.y.data() + r0 * out, out);
    for (std::size_t i = r0 * out; i < r1 * out; ++i) s.dy[i] = 1e-2f * s.y[i];  // stands in for the layers above
    kernels::gemm(Trans::yes, Trans::no, in, out, n, s.x.data() + r0 * in, in, s.dy.data() + r0 * out, out, grad, out);
    kernels::gemm(Trans::no, Trans::yes, n, in, out, s.dy.data() + r0 * out, out, s.w.data(), out,
                  s.dx.data() + r0 * in, in);
#ifdef _OPENMP
#pragma omp barrier
#endif
    if (threads > 1)
        for (std::size_t e = i0 * out; e < i1 * out; ++e) s.grad[e] += s.other_grad[e];
    adam(s, i0 * out, i1 * out);
}

void row_split(Step& s, std::size_t t, std::size_t threads, std::size_t step) {
    const std::size_t r0 = batch * t / threads, r1 = batch * (t + 1) / threads;
    const std::size_t i0 = in * t / threads, i1 = in * (t + 1) / threads, rows = i1 - i0;
    write_inputs(s, r0, r1, step);
#ifdef _OPENMP
#pragma omp barrier
#endif
    float* partial = t == 0 ? s.y.data() : s.other_y.data();
    kernels::gemm(Trans::no, Trans::no, batch, out, rows, s.x.data() + i0, in, s.w.data() + i0 * out, out, partial,
                  out);
#ifdef _OPENMP
#pragma omp barrier
#endif
    for (std::size_t i = r0 * out; i < r1 * out; ++i) s.dy[i] = 1e-2f * (threads > 1 ? s.y[i] + s.other_y[i] : s.y[i]);
#ifdef _OPENMP
#pragma omp barrier
#endif
    kernels::gemm(Trans::yes, Trans::no, rows, out, batch, s.x.data() + i0, in, s.dy.data(), out,
                  s.grad.data() + i0 * out, out);
    kernels::gemm(Trans::no, Trans::yes, batch, rows, out, s.dy.data(), out, s.w.data() + i0 * out, out,
                  s.dx.data() + i0, in);
    adam(s, i0 * out, i1 * out);
}

template <class StepFn>
double milliseconds_per_step(Step& s, int threads, std::size_t steps, StepFn&& one_step) {
    const auto start = std::chrono::steady_clock::now();
    for (std::size_t step = 0; step < steps; ++step) {
#ifdef _OPENMP
#pragma omp parallel num_threads(threads)
        one_step(s, static_cast<std::size_t>(omp_get_thread_num()), static_cast<std::size_t>(omp_get_num_threads()),
                 step);
#else
        (void)threads;
        one_step(s, 0, 1, step);
#endif
    }
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() * 1e3 /
           static_cast<double>(steps);
}

struct Options {
    std::vector<int> threads{1, 2};
    std::size_t steps = 1500;
};

Options parse(int argc, char** argv) {
    Options o;
    examples::CommandLine cli("ctnn_dense_split_bench",
                              "Times one training step of Dense<5408,128> (batch 32) split across threads by "
                              "samples and by weight rows, side by side.");
    bench::add_thread_counts(cli, o.threads);
    cli.integer("--steps", o.steps, "training steps timed per way and thread count", std::size_t{1});
    cli.parse(argc, argv);
    return o;
}

int run(const Options& o) {
    std::printf("Dense<5408,128>, batch 32: forward, both gradients, Adam; ms per step\n\n");
    std::printf("| threads | batch split | row split |\n|---:|---:|---:|\n");
    for (int threads : o.threads) {
        Step batch_state, row_state;
        const double by_batch = milliseconds_per_step(batch_state, threads, o.steps, batch_split);
        const double by_rows = milliseconds_per_step(row_state, threads, o.steps, row_split);
        std::printf("| %d | %.3f | %.3f |\n", threads, by_batch, by_rows);
    }
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    return examples::run_program("ctnn_dense_split_bench", [&] { return run(parse(argc, argv)); });
}
