#include "ctnn/kernels/im2col.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <cstddef>
#include <vector>

#include "reference_kernels.hpp"

using ctnn::kernels::ConvGeometry;

namespace {

ConvGeometry conv(std::size_t h, std::size_t w, std::size_t c, std::size_t k, std::size_t stride, bool same) {
    return ctnn::reference::conv_geometry(h, w, c, k, stride, same);
}

const ConvGeometry geometries[] = {conv(28, 28, 1, 3, 1, false), conv(26, 26, 32, 3, 1, false),
                                   conv(7, 9, 3, 3, 1, true),    conv(8, 8, 5, 3, 2, true),
                                   conv(9, 7, 33, 5, 2, false),  conv(11, 11, 17, 5, 1, true),
                                   conv(1, 1, 7, 1, 1, false),   conv(6, 6, 31, 2, 2, false)};

}  // namespace

TEST_CASE("im2col matches the reference (valid and same padding, stride 1 and 2)") {
    for (const auto& g : geometries) {
        const auto img = ctnn::reference::random_vector(g.image_size(), g.channels + g.in_width);
        std::vector<float> got(g.patch_count() * g.patch_size(), 7.0f), want(got.size());
        ctnn::kernels::im2col(g, img.data(), got.data());
        ctnn::reference::im2col(g, img.data(), want.data());
        CHECK(got == want);
    }
}

TEST_CASE("col2im is the adjoint of im2col: <im2col(x), p> == <x, col2im(p)>") {
    for (const auto& g : geometries) {
        const auto x = ctnn::reference::random_vector(g.image_size(), 3);
        const auto p = ctnn::reference::random_vector(g.patch_count() * g.patch_size(), 4);
        std::vector<float> cols(p.size()), back(x.size(), 9.0f);
        ctnn::kernels::im2col(g, x.data(), cols.data());
        ctnn::kernels::col2im(g, p.data(), back.data());
        double lhs = 0.0, rhs = 0.0, scale = 0.0;
        for (std::size_t i = 0; i < p.size(); ++i) {
            lhs += static_cast<double>(cols[i]) * p[i];
            scale += std::abs(static_cast<double>(cols[i]) * p[i]);
        }
        for (std::size_t i = 0; i < x.size(); ++i) rhs += static_cast<double>(x[i]) * back[i];
        CHECK(std::abs(lhs - rhs) <= 1e-6 * scale);
    }
}

TEST_CASE("im2col_rows with a wider leading dimension leaves the gap alone") {
    const ConvGeometry g = conv(7, 9, 3, 3, 1, true);
    const auto img = ctnn::reference::random_vector(g.image_size(), 5);
    std::vector<float> full(g.patch_count() * g.patch_size());
    ctnn::kernels::im2col(g, img.data(), full.data());
    const std::size_t ld = g.patch_size() + 5, first = 10, count = 20;
    std::vector<float> part(count * ld, -1.0f);
    ctnn::kernels::im2col_rows(g, img.data(), first, count, part.data(), ld);
    for (std::size_t r = 0; r < count; ++r)
        for (std::size_t c = 0; c < ld; ++c)
            CHECK(part[r * ld + c] == (c < g.patch_size() ? full[(first + r) * g.patch_size() + c] : -1.0f));
}
