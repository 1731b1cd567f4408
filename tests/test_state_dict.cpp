// Tests for ctnn/io/state_dict.hpp: PyTorch's names and shapes against the network's own walk, in-memory round
// trips, the layouts against naive loops written in PyTorch's conventions (NCHW input, [out, in] and
// [Cout, Cin, KH, KW] weights, C,H,W flattening), every way a state dict can be refused with the network left as
// it was, renames, and a user's layer with its own convention.

#include <doctest/doctest.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "channel_scale.hpp"  // user::ChannelScale
#include "ctnn/ctnn.hpp"
#include "ctnn/io/state_dict.hpp"
#include "gradient_check.hpp"  // fill_uniform
#include "network_values.hpp"  // bits_of, parameter_values, state_values
#include "seed_networks.hpp"

namespace user {

// A trainable layer without a convention: networks containing it have no state dict (it would not compile).
struct Unmapped : ChannelScale {};

}  // namespace user

template <>
struct ctnn::io::torch_convention<user::ChannelScale> {
    template <class Layer, FeatureOrder Input>
    static std::vector<TorchTensorInfo> tensors() {
        return {{"scale", {std::int64_t{Layer::channels}}, "ChannelScale [C]"}};
    }
    template <class Layer, FeatureOrder Input>
    static void to_torch(const Layer& layer, std::span<const std::span<float>> torch) {
        std::copy(layer.scale.begin(), layer.scale.end(), torch[0].begin());
    }
    template <class Layer, FeatureOrder Input>
    static void from_torch(Layer& layer, std::span<const std::span<const float>> torch) {
        std::copy(torch[0].begin(), torch[0].end(), layer.scale.begin());
    }
};

namespace {

using namespace ctnn;
using io::format_error;
using io::StateDict;
using io::TorchTensor;
using testing::bits_of;
using testing::parameter_and_state_bits;
using testing::parameter_values;
using testing::state_values;

using Block = Residual<Conv2D<3, 3, 4, 4, 1, Padding::same>, TorchBatchNorm, ReLU, Residual<Conv2D<1, 1, 4, 4>>>;
using ResidualNet = Sequential<Input<6, 5, 2>, Conv2D<3, 3, 2, 4, 1, Padding::same>, TorchBatchNorm, ReLU, Block, ReLU,
                               MaxPool2D<2>, GlobalAvgPool2D, Dense<4, 3>>;
using BnMlp = Sequential<Input<28, 28, 1>, Flatten, Dense<784, 128>, TorchBatchNorm, ReLU, Dense<128, 10>>;
using ScaledNet = Sequential<Input<4, 4, 3>, user::ChannelScale, Conv2D<3, 3, 3, 2>, Flatten, Dense<8, 2>>;

static_assert(!io::detail::HasTorchTensors<user::Unmapped, user::Unmapped::bind<Shape<4>>, io::same_order>);
static_assert(io::detail::HasTorchTensors<user::ChannelScale, user::ChannelScale::bind<Shape<4>>, io::same_order>);

// Random running statistics (positive variances), so that a load which dropped them would show.
template <class Net>
void randomise_state(Net& net, Rng& rng) {
    net.visit_state([&](std::size_t, const StateView& s) {
        const bool variance = s.name == "running_var";
        testing::fill_uniform(s.value, rng, variance ? 0.5f : -0.5f, variance ? 1.5f : 0.5f);
    });
}

// A state dict for Net with every value drawn at random (variances positive), in PyTorch's layout.
template <class Net>
StateDict random_state_dict(Rng& rng) {
    StateDict tensors;
    for (const io::ExpectedTorchTensor& e : io::expected_state_dict<Net>()) {
        TorchTensor& t = tensors[e.name];
        t.shape = e.shape;
        t.values.resize(io::detail::element_count(e.shape));
        const bool variance = e.name.ends_with("running_var");
        testing::fill_uniform(t.values, rng, variance ? 0.5f : -0.5f, variance ? 1.5f : 0.5f);
    }
    return tensors;
}

// The trainable tensors follow visit_parameters and the state tensors visit_state: same layers, same sizes.
template <class Net>
void check_against_visit_order() {
    auto net = std::make_unique<Net>(seed(1), 1);
    std::vector<std::pair<std::size_t, std::size_t>> parameters, state;  // (layer, element count)
    net->visit_parameters(
        [&](std::size_t layer, const ParameterView& p) { parameters.emplace_back(layer, p.value.size()); });
    net->visit_state([&](std::size_t layer, const StateView& s) { state.emplace_back(layer, s.value.size()); });
    std::vector<std::pair<std::size_t, std::size_t>> torch_parameters, torch_state;
    for (const io::ExpectedTorchTensor& e : io::expected_state_dict<Net>()) {
        (e.state ? torch_state : torch_parameters).emplace_back(e.layer_index, io::detail::element_count(e.shape));
        CHECK(e.name.starts_with(std::to_string(e.layer_index) + "."));
    }
    CHECK(torch_parameters == parameters);
    CHECK(torch_state == state);
}

template <class Net>
void check_round_trip(std::uint64_t seed_value) {
    auto net = std::make_unique<Net>(seed(seed_value), 2);
    Rng rng(seed_value);
    randomise_state(*net, rng);
    auto copy = std::make_unique<Net>(seed(seed_value + 100), 2);
    REQUIRE(parameter_and_state_bits(*copy) != parameter_and_state_bits(*net));
    const StateDict tensors = io::state_dict(*net);
    io::load_state_dict(*copy, tensors, "in memory");
    CHECK(parameter_and_state_bits(*copy) == parameter_and_state_bits(*net));
    // And back: the loaded network gives the same dictionary.
    const StateDict again = io::state_dict(*copy);
    REQUIRE(again.size() == tensors.size());
    for (const auto& [name, t] : tensors) {
        CHECK(again.at(name).shape == t.shape);
        CHECK(bits_of(again.at(name).values) == bits_of(t.values));
    }
}

// Expects load_state_dict to throw format_error for `field`, with the source and `problem` in the message, and
// the network's parameters and state untouched.
template <class Net>
void check_refused(Net& net, const StateDict& tensors, const std::string& field, const std::string& problem,
                   const io::StateDictOptions& options = {}) {
    const auto before = parameter_and_state_bits(net);
    try {
        io::load_state_dict(net, tensors, "weights.safetensors", options);
        FAIL("load_state_dict accepted a bad state dict (field " << field << ")");
    } catch (const format_error& e) {
        const std::string message = e.what();
        INFO(message);
        CHECK(e.file() == "weights.safetensors");
        CHECK(e.field() == field);
        CHECK(message.find("weights.safetensors: " + field + ": ") == 0);
        CHECK(message.find(problem) != std::string::npos);
    }
    CHECK(parameter_and_state_bits(net) == before);
}

}  // namespace

TEST_CASE("state dict: names and shapes are PyTorch's, in visit order") {
    // The article's CNN, as PyTorch's nn.Sequential(Conv2d, ReLU, MaxPool2d, Flatten, Linear, ReLU, Linear) names it.
    const auto cnn = io::expected_state_dict<testing::SeedCnn>();
    REQUIRE(cnn.size() == 6);
    CHECK(cnn[0].name == "0.weight");
    CHECK(cnn[0].shape == std::vector<std::int64_t>{32, 1, 3, 3});
    CHECK(cnn[2].name == "4.weight");
    CHECK(cnn[2].shape == std::vector<std::int64_t>{128, 5408});
    CHECK(cnn[2].layer_index == 4);
    CHECK(cnn[2].layer_name == "Dense<5408,128>");
    CHECK(cnn[5].name == "6.bias");
    // Inside a Residual at index 3: "3.j.", nested blocks "3.3.0."; BatchNorm's statistics are state.
    const auto residual = io::expected_state_dict<ResidualNet>();
    std::vector<std::string> names;
    for (const auto& e : residual) names.push_back(e.name);
    CHECK(names == std::vector<std::string>{"0.weight", "0.bias", "1.weight", "1.bias", "1.running_mean",
                                            "1.running_var", "3.0.weight", "3.0.bias", "3.1.weight", "3.1.bias",
                                            "3.1.running_mean", "3.1.running_var", "3.3.0.weight", "3.3.0.bias",
                                            "7.weight", "7.bias"});
    CHECK(residual[12].layer_index == 3);
    CHECK(residual[12].layer_name == "Conv2D<1,1,4,4>");
    CHECK(residual[12].shape == std::vector<std::int64_t>{4, 4, 1, 1});
    CHECK(residual[4].state);
    CHECK_FALSE(residual[3].state);

    check_against_visit_order<testing::SeedMlp>();
    check_against_visit_order<testing::SeedCnn>();
    check_against_visit_order<BnMlp>();
    check_against_visit_order<ResidualNet>();
    check_against_visit_order<ScaledNet>();
}

TEST_CASE("state dict: FeatureOrder maps ctnn's H,W,C flattening onto PyTorch's C,H,W") {
    constexpr io::FeatureOrder order{3, 4, 5};
    std::vector<bool> hit(60, false);
    for (std::size_t h = 0; h < 3; ++h)
        for (std::size_t w = 0; w < 4; ++w)
            for (std::size_t c = 0; c < 5; ++c) {
                const std::size_t torch = order.torch_index((h * 4 + w) * 5 + c);
                CHECK(torch == c * 12 + h * 4 + w);
                hit[torch] = true;
            }
    CHECK(std::find(hit.begin(), hit.end(), false) == hit.end());
    // One channel: the orders agree, and nothing is recorded.
    using Flat =
        io::detail::TorchChain<testing::SeedMlp::chain, io::same_order, Flatten, Dense<784, 128>, ReLU, Dense<128, 10>>;
    static_assert(Flat::order<1> == io::same_order);
    using Cnn = io::detail::TorchChain<testing::SeedCnn::chain, io::same_order, Conv2D<3, 3, 1, 32>, ReLU, MaxPool2D<2>,
                                       Flatten, Dense<5408, 128>, ReLU, Dense<128, 10>>;
    static_assert(Cnn::order<4> == io::FeatureOrder{13, 13, 32});  // the Dense after Flatten
    static_assert(Cnn::order<5> == io::same_order);                // after the Dense
}

TEST_CASE("state dict: round trips are bit-exact (MLP, CNN, BatchNorm, residual, a user's layer)") {
    check_round_trip<testing::SeedMlp>(1);
    check_round_trip<testing::SeedCnn>(2);
    check_round_trip<BnMlp>(3);
    check_round_trip<ResidualNet>(4);
    check_round_trip<ScaledNet>(5);
}

// Naive loops in PyTorch's conventions, from PyTorch-layout tensors, on an NCHW input.
namespace {

constexpr std::size_t H = 4, W = 5, C = 3;  // the input image
constexpr std::size_t Cout = 4;

// y[n][o][oh][ow] = b[o] + sum W[o][i][kh][kw] x[n][i][oh + kh][ow + kw] (valid, stride 1).
std::vector<double> torch_conv(const std::vector<double>& x, std::size_t n, std::size_t h, std::size_t w,
                               std::size_t cin, const TorchTensor& weight, const TorchTensor& bias) {
    const auto cout = static_cast<std::size_t>(weight.shape[0]);
    const auto kh = static_cast<std::size_t>(weight.shape[2]), kw = static_cast<std::size_t>(weight.shape[3]);
    const std::size_t oh = h - kh + 1, ow = w - kw + 1;
    std::vector<double> y(n * cout * oh * ow);
    for (std::size_t b = 0; b < n; ++b)
        for (std::size_t o = 0; o < cout; ++o)
            for (std::size_t r = 0; r < oh; ++r)
                for (std::size_t s = 0; s < ow; ++s) {
                    double sum = bias.values[o];
                    for (std::size_t i = 0; i < cin; ++i)
                        for (std::size_t p = 0; p < kh; ++p)
                            for (std::size_t q = 0; q < kw; ++q)
                                sum += static_cast<double>(weight.values[((o * cin + i) * kh + p) * kw + q]) *
                                       x[((b * cin + i) * h + r + p) * w + s + q];
                    y[((b * cout + o) * oh + r) * ow + s] = sum;
                }
    return y;
}

// y[n][o] = b[o] + sum_j W[o][j] x[n][j].
std::vector<double> torch_linear(const std::vector<double>& x, std::size_t n, const TorchTensor& weight,
                                 const TorchTensor& bias) {
    const auto out = static_cast<std::size_t>(weight.shape[0]), in = static_cast<std::size_t>(weight.shape[1]);
    std::vector<double> y(n * out);
    for (std::size_t b = 0; b < n; ++b)
        for (std::size_t o = 0; o < out; ++o) {
            double sum = bias.values[o];
            for (std::size_t j = 0; j < in; ++j) sum += static_cast<double>(weight.values[o * in + j]) * x[b * in + j];
            y[b * out + o] = sum;
        }
    return y;
}

void relu(std::vector<double>& v) {
    for (double& x : v) x = std::max(x, 0.0);
}

// ctnn's NHWC input from PyTorch's NCHW one.
std::vector<float> to_nhwc(const std::vector<double>& nchw, std::size_t n) {
    std::vector<float> out(n * H * W * C);
    for (std::size_t b = 0; b < n; ++b)
        for (std::size_t c = 0; c < C; ++c)
            for (std::size_t h = 0; h < H; ++h)
                for (std::size_t w = 0; w < W; ++w)
                    out[((b * H + h) * W + w) * C + c] = static_cast<float>(nchw[((b * C + c) * H + h) * W + w]);
    return out;
}

template <class Net>
void check_against_torch(const std::vector<double>& expected, Net& net, const std::vector<float>& x, std::size_t n) {
    const std::span<const float> y = net.forward(x.data(), n);
    REQUIRE(y.size() == expected.size());
    double largest = 0.0;
    for (double v : expected) largest = std::max(largest, std::abs(v));
    REQUIRE(largest > 0.1);
    for (std::size_t i = 0; i < y.size(); ++i) CHECK(y[i] == doctest::Approx(expected[i]).epsilon(1e-5).scale(largest));
}

}  // namespace

TEST_CASE("state dict: a Dense after Flatten of a multi-channel image reads PyTorch's C,H,W order") {
    // Conv -> ReLU -> Flatten -> Dropout -> ReLU -> Dense: parameter-free layers between the Flatten and the Dense.
    using Net =
        Sequential<Input<H, W, C>, Conv2D<3, 3, C, Cout>, ReLU, Flatten, Dropout<>, ReLU, Dense<2 * 3 * Cout, 5>>;
    constexpr std::size_t n = 3;
    Rng rng(11);
    const StateDict tensors = random_state_dict<Net>(rng);
    auto net = std::make_unique<Net>(seed(1), n);
    io::load_state_dict(*net, tensors, "in memory");

    std::vector<double> x(n * C * H * W);
    for (double& v : x) v = rng.uniform(-1.0f, 1.0f);
    std::vector<double> conv = torch_conv(x, n, H, W, C, tensors.at("0.weight"), tensors.at("0.bias"));
    relu(conv);  // then Flatten: conv is already [n, Cout * 2 * 3] in C,H,W order
    const std::vector<double> expected = torch_linear(conv, n, tensors.at("5.weight"), tensors.at("5.bias"));
    check_against_torch(expected, *net, to_nhwc(x, n), n);

    // The same weights without the permutation (a Dense fed C,H,W rows in H,W,C order) would compute another
    // function: the check above can fail.
    auto unpermuted = std::make_unique<Net>(seed(1), n);
    io::load_state_dict(*unpermuted, tensors, "in memory");
    auto& dense = unpermuted->layer<5>();
    const TorchTensor& weight = tensors.at("5.weight");
    for (std::size_t j = 0; j < 2 * 3 * Cout; ++j)
        for (std::size_t o = 0; o < 5; ++o) dense.weights(j, o) = weight.values[o * 2 * 3 * Cout + j];
    const std::vector<float> nhwc = to_nhwc(x, n);
    const std::span<const float> wrong = unpermuted->forward(nhwc.data(), n);
    double largest_difference = 0.0;
    for (std::size_t i = 0; i < wrong.size(); ++i)
        largest_difference = std::max(largest_difference, std::abs(wrong[i] - expected[i]));
    CHECK(largest_difference > 1e-2);
}

TEST_CASE("state dict: a BatchNorm1d over flattened multi-channel features is permuted as well") {
    using Net =
        Sequential<Input<H, W, C>, Conv2D<2, 2, C, Cout>, Flatten, TorchBatchNorm, ReLU, Dense<3 * 4 * Cout, 5>>;
    constexpr std::size_t n = 2, features = 3 * 4 * Cout;
    Rng rng(12);
    const StateDict tensors = random_state_dict<Net>(rng);
    auto net = std::make_unique<Net>(seed(1), n);
    io::load_state_dict(*net, tensors, "in memory");

    std::vector<double> x(n * C * H * W);
    for (double& v : x) v = rng.uniform(-1.0f, 1.0f);
    std::vector<double> f = torch_conv(x, n, H, W, C, tensors.at("0.weight"), tensors.at("0.bias"));
    for (std::size_t b = 0; b < n; ++b)
        for (std::size_t j = 0; j < features; ++j) {
            const auto at = [&](const char* name) { return static_cast<double>(tensors.at(name).values[j]); };
            double& v = f[b * features + j];
            v = (v - at("2.running_mean")) / std::sqrt(at("2.running_var") + 1e-5) * at("2.weight") + at("2.bias");
        }
    relu(f);
    const std::vector<double> expected = torch_linear(f, n, tensors.at("4.weight"), tensors.at("4.bias"));
    check_against_torch(expected, *net, to_nhwc(x, n), n);
}

TEST_CASE("state dict: a Permute before a one-channel Flatten keeps PyTorch's names and order") {
    static constexpr auto shuffle = make_permutation<784>(3);
    using Shuffled = Sequential<Input<28, 28, 1>, Permute<shuffle>, Flatten, Dense<784, 128>, ReLU, Dense<128, 10>>;
    const auto expected = io::expected_state_dict<Shuffled>();
    REQUIRE(expected.size() == 4);
    CHECK(expected[0].name == "2.weight");
    check_round_trip<Shuffled>(6);
}

TEST_CASE("state dict: missing, unexpected, misshapen and short tensors are refused, the network unchanged") {
    auto net = std::make_unique<BnMlp>(seed(1), 1);
    Rng rng(5);
    randomise_state(*net, rng);
    const StateDict good = random_state_dict<BnMlp>(rng);

    SUBCASE("missing") {
        StateDict tensors = good;
        tensors.erase("4.bias");  // the last one: a load that wrote as it went would have changed the rest
        check_refused(*net, tensors, "4.bias", "missing: expected 10 (PyTorch Linear [out] of layer 4 Dense<128,10>)");
    }
    SUBCASE("missing state") {
        StateDict tensors = good;
        tensors.erase("2.running_var");
        check_refused(*net, tensors, "2.running_var", "missing: expected 128 (PyTorch BatchNorm running_var [C]");
    }
    SUBCASE("unexpected") {
        StateDict tensors = good;
        tensors["7.weight"] = {{2}, {1.0f, 2.0f}};
        check_refused(*net, tensors, "7.weight", "unexpected: this network has no such tensor");
    }
    SUBCASE("shape") {
        StateDict tensors = good;
        tensors["4.weight"] = {{128, 10}, std::vector<float>(1280, 0.5f)};  // ctnn's [In, Out], not PyTorch's
        check_refused(*net, tensors, "4.weight",
                      "expected 10x128 (PyTorch Linear [out, in] of layer 4 Dense<128,10>), found 128x10");
    }
    SUBCASE("rank") {
        StateDict tensors = good;
        tensors["2.weight"].shape = {128, 1};
        check_refused(*net, tensors, "2.weight", "expected 128 (PyTorch BatchNorm weight [C] of layer 2");
    }
    SUBCASE("values that do not fill the shape") {
        StateDict tensors = good;
        tensors["4.bias"].values.pop_back();
        check_refused(*net, tensors, "4.bias", "holds 9 values, its shape 10 needs 10");
    }
    SUBCASE("a rename whose source is not there") {
        io::StateDictOptions options;
        options.rename["fc.weight"] = "1.weight";
        check_refused(*net, good, "fc.weight", "to be renamed \"1.weight\", but there is no tensor of that name",
                      options);
    }
    SUBCASE("a rename onto a name already taken") {
        StateDict tensors = good;
        tensors["fc.bias"] = tensors.at("1.bias");
        io::StateDictOptions options;
        options.rename["fc.bias"] = "1.bias";
        check_refused(*net, tensors, "fc.bias", "renamed \"1.bias\", the name tensor \"1.bias\" also goes by", options);
    }
}

TEST_CASE("state dict: the shape message names PyTorch's layout, the layer and both shapes") {
    // The article's CNN given the MLP's first layer under the CNN's name.
    auto cnn = std::make_unique<testing::SeedCnn>(seed(1), 1);
    StateDict tensors = io::state_dict(*cnn);
    tensors["4.weight"] = {{128, 784}, std::vector<float>(128 * 784, 0.1f)};
    check_refused(*cnn, tensors, "4.weight",
                  "expected 128x5408 (PyTorch Linear [out, in] of layer 4 Dense<5408,128>), found 128x784");
}

TEST_CASE("state dict: unexpected tensors may be allowed; num_batches_tracked is ignored; renames apply") {
    Rng rng(8);
    StateDict tensors = random_state_dict<BnMlp>(rng);
    auto reference = std::make_unique<BnMlp>(seed(1), 1);
    io::load_state_dict(*reference, tensors, "in memory");

    tensors["2.num_batches_tracked"] = {{}, {7.0f}};
    auto with_counter = std::make_unique<BnMlp>(seed(2), 1);
    io::load_state_dict(*with_counter, tensors, "in memory");
    CHECK(parameter_and_state_bits(*with_counter) == parameter_and_state_bits(*reference));

    tensors["head.weight"] = {{3}, {1.0f, 2.0f, 3.0f}};
    auto allowed = std::make_unique<BnMlp>(seed(3), 1);
    CHECK_THROWS_AS(io::load_state_dict(*allowed, tensors, "in memory"), format_error);
    io::load_state_dict(*allowed, tensors, "in memory", {.rename = {}, .allow_unexpected = true});
    CHECK(parameter_and_state_bits(*allowed) == parameter_and_state_bits(*reference));

    // A file whose names come from another model: "fc1.weight" is this network's "1.weight", and so on.
    StateDict foreign;
    const std::map<std::string, std::string> ours_of = {{"fc1.weight", "1.weight"},
                                                        {"fc1.bias", "1.bias"},
                                                        {"bn.weight", "2.weight"},
                                                        {"bn.bias", "2.bias"},
                                                        {"bn.running_mean", "2.running_mean"},
                                                        {"bn.running_var", "2.running_var"},
                                                        {"fc2.weight", "4.weight"},
                                                        {"fc2.bias", "4.bias"}};
    io::StateDictOptions options;
    for (const auto& [theirs, ours] : ours_of) {
        foreign[theirs] = tensors.at(ours);
        options.rename[theirs] = ours;
    }
    auto renamed = std::make_unique<BnMlp>(seed(4), 1);
    io::load_state_dict(*renamed, foreign, "in memory", options);
    CHECK(parameter_and_state_bits(*renamed) == parameter_and_state_bits(*reference));
    // A renamed tensor's messages give both names.
    foreign["fc2.bias"].shape = {11};
    foreign["fc2.bias"].values.push_back(0.0f);
    check_refused(*renamed, foreign, "fc2.bias (renamed 4.bias)", "expected 10 (PyTorch Linear [out]", options);
}
