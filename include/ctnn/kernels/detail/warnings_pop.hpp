// No include guard: closes warnings_push.hpp at the end of each kernel header.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
