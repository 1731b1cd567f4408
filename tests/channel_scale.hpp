#pragma once
// A layer written outside the library against the documented contract (layers/layer.hpp) only, shared by the
// tests that need a user's trainable layer (test_custom_layer.cpp, test_state_dict.cpp): one definition, since
// both are in one test binary.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "ctnn/ctnn.hpp"

namespace user {

// A learned per-channel scale: y[..., c] = s[c] * x[..., c]. Trainable, no state, no workspace.
struct ChannelScale {
    template <ctnn::ShapeType In>
    struct bind : ctnn::Stateless {
        static constexpr std::size_t channels = In::dims[In::rank - 1];
        using input_shape = In;
        using output_shape = In;
        using workspace = ctnn::NoWorkspace;
        static constexpr std::size_t parameter_count = channels;
        static constexpr std::string_view kind = "ChannelScale";
        static constexpr std::uint64_t fingerprint = ctnn::layer_fingerprint<channels>(kind);
        static std::string name() { return ctnn::layer_name<channels>(kind); }

        std::vector<float> scale = std::vector<float>(channels, 1.0f), scale_gradient = std::vector<float>(channels);

        void initialize(ctnn::Rng& rng, ctnn::Initializer) {
            for (float& s : scale) s = rng.uniform(0.5f, 1.5f);
            std::fill(scale_gradient.begin(), scale_gradient.end(), 0.0f);
        }
        void forward(const float* x, float* y, std::size_t n, workspace&, ctnn::Pass) const {
            for (std::size_t i = 0; i < n * In::size; ++i) y[i] = scale[i % channels] * x[i];
        }
        void backward(const float* x, const float*, const float* dy, float* dx, std::size_t n, workspace&,
                      ctnn::GradientTarget target = {}) {
            float* ds = target.at(0, scale_gradient.data());
            if (!target.accumulates()) std::fill_n(ds, channels, 0.0f);
            for (std::size_t i = 0; i < n * In::size; ++i) {
                ds[i % channels] += dy[i] * x[i];
                if (dx != nullptr) dx[i] = scale[i % channels] * dy[i];
            }
        }
        template <class F>
        void visit_parameters(F&& visit) {
            static constexpr std::size_t shape[] = {channels};
            visit(ctnn::ParameterView{"scale", scale, scale_gradient, shape});
        }
    };
};

}  // namespace user
