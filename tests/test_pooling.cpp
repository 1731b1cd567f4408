#include "ctnn/kernels/pooling.hpp"

#include <doctest/doctest.h>

#include <cstddef>
#include <cstdint>
#include <vector>

#include "reference_kernels.hpp"

using ctnn::kernels::PoolGeometry;

namespace {
PoolGeometry pool(std::size_t h, std::size_t w, std::size_t c, std::size_t window, std::size_t stride) {
    return {h, w, c, window, stride, (h - window) / stride + 1, (w - window) / stride + 1};
}
}  // namespace

TEST_CASE("max_pool2d and its backward match the reference") {
    const PoolGeometry geometries[] = {pool(26, 26, 32, 2, 2), pool(7, 7, 1, 2, 2),   pool(9, 8, 33, 3, 3),
                                       pool(8, 8, 17, 3, 2),   pool(5, 5, 7, 2, 1),   pool(11, 10, 64, 2, 2),
                                       pool(6, 6, 31, 3, 3)};
    for (const auto& g : geometries) {
        const std::size_t batch = 3;
        // Coarse values make ties common: the first element of a window must win them.
        auto x = ctnn::reference::random_vector(batch * g.in_size(), g.channels);
        for (auto& v : x) v = static_cast<float>(static_cast<int>(v * 4.0f));
        std::vector<float> y(batch * g.out_size()), y_ref(y.size());
        std::vector<std::uint32_t> arg(y.size()), arg_ref(y.size());
        ctnn::kernels::max_pool2d(g, x.data(), y.data(), arg.data(), batch);
        ctnn::reference::max_pool2d(g, x.data(), y_ref.data(), arg_ref.data(), batch);
        CHECK(y == y_ref);
        CHECK(arg == arg_ref);

        const auto dy = ctnn::reference::random_vector(y.size(), 9);
        std::vector<float> dx(batch * g.in_size(), 5.0f), dx_ref(dx.size(), 0.0f);
        ctnn::kernels::max_pool2d_backward(g, dy.data(), arg.data(), dx.data(), batch);
        for (std::size_t b = 0; b < batch; ++b)
            for (std::size_t o = 0; o < g.out_size(); ++o)
                dx_ref[b * g.in_size() + arg_ref[b * g.out_size() + o]] += dy[b * g.out_size() + o];
        CHECK(dx == dx_ref);
    }
}
