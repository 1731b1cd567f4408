#include "ctnn/kernels/transpose.hpp"

#include <doctest/doctest.h>

#include <cstddef>
#include <vector>

#include "reference_kernels.hpp"

// Shapes around the 16 x 16 and 8 x 8 tiles, with leading dimensions wider than the block; what lies outside the
// destination block must stay untouched.
TEST_CASE("transpose matches the definition on awkward shapes and leading dimensions") {
    const std::size_t sizes[] = {1, 7, 8, 15, 16, 17, 33, 64};
    for (std::size_t rows : sizes)
        for (std::size_t cols : sizes) {
            INFO(rows << " x " << cols);
            const std::size_t ld_src = cols + 3, ld_dst = rows + 5;
            const auto src = ctnn::reference::random_vector(rows * ld_src, rows * 100 + cols);
            std::vector<float> dst(cols * ld_dst, -7.0f);
            ctnn::kernels::transpose(src.data(), rows, cols, ld_src, dst.data(), ld_dst);
            bool same = true;
            for (std::size_t j = 0; j < cols; ++j)
                for (std::size_t i = 0; i < ld_dst; ++i)
                    same = same && dst[j * ld_dst + i] == (i < rows ? src[i * ld_src + j] : -7.0f);
            CHECK(same);
        }
}
