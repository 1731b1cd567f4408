#include "ctnn/kernels/conv2d.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <cstddef>
#include <vector>

#include "ctnn/core/buffer.hpp"
#include "ctnn/core/parallel.hpp"
#include "reference_kernels.hpp"

using ctnn::kernels::ConvGeometry;

namespace {

ConvGeometry conv(std::size_t h, std::size_t w, std::size_t c, std::size_t k, std::size_t stride, bool same) {
    return ctnn::reference::conv_geometry(h, w, c, k, stride, same);
}

struct Case {
    ConvGeometry g;
    std::size_t cout, batch;
};

const Case cases[] = {
    {conv(28, 28, 1, 3, 1, false), 32, 3},  // MNIST conv1
    {conv(26, 26, 32, 3, 1, false), 64, 2}, // MNIST conv2 (after conv1, no pooling)
    {conv(13, 13, 32, 3, 1, false), 64, 2},
    {conv(7, 9, 3, 3, 1, true), 7, 3},
    {conv(8, 8, 5, 3, 2, true), 33, 2},
    {conv(9, 7, 33, 5, 2, false), 17, 2},
    {conv(11, 11, 1, 5, 1, true), 1, 5},
    {conv(5, 5, 7, 1, 1, false), 31, 1},
    {conv(9, 9, 2, 3, 2, true), 20, 2},    // direct path, stride 2 with padding
    {conv(10, 6, 3, 3, 1, true), 48, 1},   // direct path, three column panels
    {conv(9, 8, 16, 3, 2, true), 40, 2},   // kernel-row path, stride 2 with padding
};

// Relative to the sum of |terms| that each output adds up, grown with the number of terms.
void check_close(const std::vector<float>& got, const std::vector<float>& want, double terms) {
    double scale = 0.0;
    for (float v : want) scale = std::max(scale, static_cast<double>(std::abs(v)));
    const double tol = 4.0 * terms * 0x1.0p-24 * (scale + 1.0);
    std::size_t bad = 0;
    for (std::size_t i = 0; i < got.size(); ++i) bad += !(std::abs(static_cast<double>(got[i]) - want[i]) <= tol);
    CHECK(bad == 0);
}

}  // namespace

TEST_CASE("conv2d_forward and conv2d_backward match direct convolution") {
    for (const Case& c : cases) {
        // Plain copies: clang 14 cannot capture structured bindings in the lambdas doctest's INFO makes.
        const ConvGeometry g = c.g;
        const std::size_t cout = c.cout, batch = c.batch;
        INFO("in " << g.in_height << "x" << g.in_width << "x" << g.channels << " k" << g.kernel_height << " s"
                   << g.stride << " pad" << g.pad_top << " cout " << cout << " batch " << batch);
        const std::size_t out_size = batch * g.patch_count() * cout;
        const auto x = ctnn::reference::random_vector(batch * g.image_size(), 1);
        const auto w = ctnn::reference::random_vector(g.patch_size() * cout, 2);
        const auto bias = ctnn::reference::random_vector(cout, 3);
        const auto dy = ctnn::reference::random_vector(out_size, 4);
        ctnn::Buffer ws(ctnn::kernels::conv2d_workspace_size(g, cout, batch, 2));

        std::vector<float> y(out_size, 9.0f), y_ref(out_size);
        ctnn::kernels::conv2d_forward(g, cout, x.data(), w.data(), bias.data(), y.data(), batch, ws.data());
        ctnn::reference::conv2d_forward(g, cout, x.data(), w.data(), bias.data(), y_ref.data(), batch);
        check_close(y, y_ref, static_cast<double>(g.patch_size()));

        auto dw = ctnn::reference::random_vector(w.size(), 5), db = ctnn::reference::random_vector(cout, 6);
        auto dw_ref = dw, db_ref = db;
        std::vector<float> dx(x.size(), 9.0f), dx_ref(x.size());
        // An aligned copy of dy lets a single-panel dy be used in place; the dx == nullptr call below reads the
        // vector, which need not be aligned, so both ways are compared bitwise.
        ctnn::Buffer dy_aligned(dy.begin(), dy.end());
        ctnn::kernels::conv2d_backward(g, cout, x.data(), w.data(), dy_aligned.data(), dw.data(), db.data(), dx.data(),
                                       batch, ws.data());
        ctnn::reference::conv2d_backward(g, cout, x.data(), w.data(), dy.data(), dw_ref.data(), db_ref.data(),
                                         dx_ref.data(), batch);
        const double pixels = static_cast<double>(batch * g.patch_count());
        check_close(dw, dw_ref, pixels);
        check_close(db, db_ref, pixels);
        check_close(dx, dx_ref, static_cast<double>(g.kernel_height * g.kernel_width * cout));

        // The path not chosen for this geometry (direct for small patches, im2col tiles otherwise) agrees too.
        {
            std::vector<float> y2(out_size), dx2(x.size());
            auto dw3 = ctnn::reference::random_vector(w.size(), 5), db3 = ctnn::reference::random_vector(cout, 6);
            ctnn::kernels::detail::conv_forward_impl(g, cout, x.data(), w.data(), bias.data(), y2.data(), batch,
                                                     ws.data(), 0, !ctnn::kernels::detail::conv_direct(g));
            ctnn::kernels::detail::conv_backward_impl(g, cout, x.data(), w.data(), dy.data(), dw3.data(), db3.data(),
                                                      dx2.data(), batch, ws.data(), 0,
                                                      !ctnn::kernels::detail::conv_direct_backward(g));
            check_close(y2, y_ref, static_cast<double>(g.patch_size()));
            check_close(dw3, dw_ref, pixels);
            check_close(dx2, dx_ref, static_cast<double>(g.kernel_height * g.kernel_width * cout));
        }

        // dx == nullptr skips the input gradient and leaves dw and db as before.
        auto dw2 = ctnn::reference::random_vector(w.size(), 5), db2 = ctnn::reference::random_vector(cout, 6);
        ctnn::kernels::conv2d_backward(g, cout, x.data(), w.data(), dy.data(), dw2.data(), db2.data(), nullptr,
                                       batch, ws.data());
        CHECK(dw2 == dw);
        CHECK(db2 == db);
    }
}

TEST_CASE("conv2d is deterministic for a thread count, and its forward pass does not depend on it") {
    const ConvGeometry g = conv(13, 13, 32, 3, 1, false);
    const std::size_t cout = 64, batch = 5;
    const auto x = ctnn::reference::random_vector(batch * g.image_size(), 1);
    const auto w = ctnn::reference::random_vector(g.patch_size() * cout, 2);
    const auto bias = ctnn::reference::random_vector(cout, 3);
    const auto dy = ctnn::reference::random_vector(batch * g.patch_count() * cout, 4);
    ctnn::Buffer ws(ctnn::kernels::conv2d_workspace_size(g, cout, batch, 2));
    auto run = [&](int threads) {
        ctnn::set_num_threads(threads);
        std::vector<float> y(batch * g.patch_count() * cout), dw(w.size(), 0.5f), db(cout, 0.5f), dx(x.size());
        ctnn::kernels::conv2d_forward(g, cout, x.data(), w.data(), bias.data(), y.data(), batch, ws.data());
        ctnn::kernels::conv2d_backward(g, cout, x.data(), w.data(), dy.data(), dw.data(), db.data(), dx.data(),
                                       batch, ws.data());
        ctnn::set_num_threads(0);
        return std::vector<std::vector<float>>{y, dw, db, dx};
    };
    const auto one = run(1), two = run(2), two_again = run(2);
    CHECK(two == two_again);
    CHECK(one[0] == two[0]);  // forward: images are independent
    CHECK(one[3] == two[3]);  // input gradient: likewise
    check_close(one[1], two[1], static_cast<double>(batch * g.patch_count()));
}
