// No include guard: included at the top of each kernel header, paired with warnings_pop.hpp at its end.
// Silences g++ 12 warnings that are false in our kernels (checked on each), and nothing else:
// - (maybe-)uninitialized inside g++'s own AVX-512 intrinsics (the _mm512_undefined_ps idiom) once xsimd's
//   shuffles, conversions and exp are inlined into a kernel;
// - aggressive-loop-optimizations on scalar tail loops once a size is a compile-time multiple of the vector
//   width (Dense<784,128>, Conv2D<3,3,1,32>): the tails never run past the data.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Waggressive-loop-optimizations"
#endif
