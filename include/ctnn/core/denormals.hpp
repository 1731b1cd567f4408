#pragma once
// FlushDenormals: for its lifetime, the calling thread's floating-point unit treats subnormal inputs as zero
// and flushes subnormal results to zero (x86 MXCSR DAZ + FTZ; AArch64 FPCR.FZ); the previous mode is restored
// on destruction. Elsewhere it does nothing.
//
// Why: quantities that decay geometrically reach the subnormal range and stay there. Adam's first moment of a
// weight whose gradient is exactly zero (the weights of MNIST's blank border pixels) shrinks by beta1 = 0.9 per
// step and is subnormal after ~830 steps; on x86 each arithmetic operation on a subnormal costs ~100 cycles
// instead of 4, which made Adam half of a seed-CNN epoch (docs/performance.md, "subnormal Adam moments").
// Flushing changes only values below 1.2e-38, far below any weight's rounding step, so the trained weights are
// the same in practice and the same for every thread count (every thread that runs the guarded code sets it).

#include <cstdint>

#if defined(__SSE__) || defined(_M_X64)
#include <xmmintrin.h>
#endif

namespace ctnn {

class FlushDenormals {
public:
    FlushDenormals() noexcept {
#if defined(__SSE__) || defined(_M_X64)
        saved_ = _mm_getcsr();
        _mm_setcsr(saved_ | ftz_bit | daz_bit);
#elif defined(__aarch64__)
        std::uint64_t fpcr;
        __asm__ __volatile__("mrs %0, fpcr" : "=r"(fpcr));
        saved_ = fpcr;
        __asm__ __volatile__("msr fpcr, %0" : : "r"(fpcr | fz_bit));
#endif
    }
    ~FlushDenormals() {
#if defined(__SSE__) || defined(_M_X64)
        _mm_setcsr(static_cast<unsigned>(saved_));
#elif defined(__aarch64__)
        __asm__ __volatile__("msr fpcr, %0" : : "r"(saved_));
#endif
    }
    FlushDenormals(const FlushDenormals&) = delete;
    FlushDenormals& operator=(const FlushDenormals&) = delete;

private:
#if defined(__SSE__) || defined(_M_X64)
    static constexpr unsigned ftz_bit = 0x8000u;  // MXCSR bit 15: flush subnormal results to zero
    static constexpr unsigned daz_bit = 0x0040u;  // MXCSR bit 6: read subnormal inputs as zero
    unsigned saved_ = 0;
#elif defined(__aarch64__)
    static constexpr std::uint64_t fz_bit = std::uint64_t{1} << 24;  // FPCR.FZ: both directions
    std::uint64_t saved_ = 0;
#endif
};

}  // namespace ctnn
