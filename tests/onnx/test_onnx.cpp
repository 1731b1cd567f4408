// io::load_onnx: the fixtures written by scripts/pytorch/make_onnx_fixtures.py load into the matching ctnn types
// and reproduce PyTorch's outputs; every way a graph can differ from the network is refused with a message that
// names the node and the layer, the network left as it was; malformed files are refused naming the file.

#include <doctest/doctest.h>

#include <unistd.h>
#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "ctnn/ctnn.hpp"
#include "ctnn/io/onnx.hpp"
#include "network_values.hpp"

namespace {

using namespace ctnn;
namespace fs = std::filesystem;

// The ctnn types the fixtures mirror, layer for layer (TorchBatchNorm: PyTorch's momentum 0.1 and eps 1e-5).
using Mlp = Sequential<Input<6, 6, 2>, Flatten, Dense<72, 16>, ReLU, Dropout<>, Dense<16, 5>, Softmax>;
using Cnn = Sequential<Input<12, 12, 3>, Conv2D<3, 3, 3, 8>, ReLU, MaxPool2D<2>, Conv2D<3, 3, 8, 16, 2, Padding::same>,
                       ReLU, Flatten, Dense<144, 10>>;
using ResidualNet = Sequential<Input<8, 8, 3>, Conv2D<3, 3, 3, 8, 1, Padding::same>, TorchBatchNorm, ReLU,
                               Residual<Conv2D<3, 3, 8, 8, 1, Padding::same>, TorchBatchNorm, ReLU,
                                        Conv2D<3, 3, 8, 8, 1, Padding::same>, TorchBatchNorm>,
                               ReLU, MaxPool2D<2>, Flatten, Dense<128, 10>>;
// models.fixture_residual and models.fixture_bn_features (scripts/pytorch/models.py).
using NestedResidual =
    Sequential<Input<8, 7, 2>, Conv2D<3, 3, 2, 4, 1, Padding::same>, TorchBatchNorm, ReLU,
               Residual<Conv2D<3, 3, 4, 4, 1, Padding::same>, TorchBatchNorm, ReLU, Residual<Conv2D<1, 1, 4, 4>>>, ReLU,
               MaxPool2D<2>, Residual<Conv2D<3, 3, 4, 4, 1, Padding::same>, TorchBatchNorm>, GlobalAvgPool2D,
               Dense<4, 5>>;
using BnFeatures = Sequential<Input<4, 3, 3>, Conv2D<2, 2, 3, 5>, Flatten, TorchBatchNorm, ReLU, Dense<30, 6>, Softmax>;
using PoolingNet = Sequential<Input<9, 9, 4>, Conv2D<3, 3, 4, 8, 1, Padding::same>, ReLU, AvgPool2D<3, 2>,
                              Conv2D<3, 3, 8, 8, 1, Padding::same>, ReLU, GlobalAvgPool2D, Dense<8, 5>>;

fs::path fixture(const std::string& name) { return fs::path(CTNN_ONNX_FIXTURES) / name; }

// A float32 .npy file as numpy.save writes it (format 1.0 or 2.0, little-endian, C order).
struct Array {
    std::vector<std::size_t> shape;
    std::vector<float> values;
};
Array read_npy(const fs::path& file) {
    std::ifstream in(file, std::ios::binary);
    REQUIRE_MESSAGE(in, "cannot open " << file);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    REQUIRE(bytes.size() > 10);
    REQUIRE(bytes.compare(0, 6, "\x93NUMPY") == 0);
    const int major = bytes[6];
    std::size_t header_length = 0, header_start = 0;
    if (major == 1) {
        header_length = static_cast<unsigned char>(bytes[8]) | static_cast<unsigned char>(bytes[9]) << 8;
        header_start = 10;
    } else {
        for (int i = 0; i < 4; ++i) header_length |= std::size_t{static_cast<unsigned char>(bytes[8 + i])} << (8 * i);
        header_start = 12;
    }
    const std::string header = bytes.substr(header_start, header_length);
    REQUIRE_MESSAGE(header.find("'descr': '<f4'") != std::string::npos, header);
    REQUIRE_MESSAGE(header.find("'fortran_order': False") != std::string::npos, header);
    Array a;
    const std::size_t open = header.find('(', header.find("'shape'"));
    const std::size_t close = header.find(')', open);
    std::string dims = header.substr(open + 1, close - open - 1);
    std::size_t count = 1;
    for (std::size_t at = 0; at < dims.size();) {
        const std::size_t comma = std::min(dims.find(',', at), dims.size());
        const std::string dim = dims.substr(at, comma - at);
        if (dim.find_first_not_of(' ') != std::string::npos) {
            a.shape.push_back(std::stoul(dim));
            count *= a.shape.back();
        }
        at = comma + 1;
    }
    const std::size_t data = header_start + header_length;
    REQUIRE(bytes.size() == data + count * sizeof(float));
    a.values.resize(count);
    std::memcpy(a.values.data(), bytes.data() + data, count * sizeof(float));
    return a;
}

// PyTorch's NCHW batch to ctnn's NHWC.
std::vector<float> nchw_to_nhwc(const Array& a) {
    REQUIRE(a.shape.size() == 4);
    const std::size_t n = a.shape[0], c = a.shape[1], h = a.shape[2], w = a.shape[3];
    std::vector<float> out(a.values.size());
    for (std::size_t b = 0; b < n; ++b)
        for (std::size_t ch = 0; ch < c; ++ch)
            for (std::size_t y = 0; y < h; ++y)
                for (std::size_t x = 0; x < w; ++x)
                    out[((b * h + y) * w + x) * c + ch] = a.values[((b * c + ch) * h + y) * w + x];
    return out;
}

// max |ctnn - PyTorch| / max |PyTorch| over the batch: relative to the output's scale, so that outputs near zero
// do not turn rounding into large ratios.
template <class Net>
double relative_difference(Net& net, const std::string& name) {
    const Array x = read_npy(fixture(name + ".input.npy"));
    const Array y = read_npy(fixture(name + ".output.npy"));
    const std::vector<float> input = nchw_to_nhwc(x);
    REQUIRE(x.values.size() == x.shape[0] * Net::input_shape::size);
    const auto out = net.forward(input.data(), x.shape[0]);
    REQUIRE(out.size() == y.values.size());
    double worst = 0.0, scale = 0.0;
    for (std::size_t i = 0; i < out.size(); ++i) {
        worst = std::max(worst, std::abs(static_cast<double>(out[i]) - static_cast<double>(y.values[i])));
        scale = std::max(scale, std::abs(static_cast<double>(y.values[i])));
    }
    REQUIRE(scale > 0.0);
    return worst / scale;
}

// Loads `name`.onnx into a fresh Net and compares with PyTorch's output; a fresh network must not already agree.
template <class Net>
io::OnnxReport check_against_pytorch(Net& net, const std::string& name) {
    CHECK(relative_difference(net, name) > 1e-2);  // the comparison can fail: initial weights do not match
    const io::OnnxReport report = io::load_onnx(net, fixture(name + ".onnx"));
    const double difference = relative_difference(net, name);
    MESSAGE(name << ": max |ctnn - PyTorch| / max |PyTorch| = " << difference);
    CHECK(difference <= 1e-5);
    return report;
}

// ---- editing fixtures ----

onnx::ModelProto read_model(const fs::path& file) {
    onnx::ModelProto model;
    std::ifstream in(file, std::ios::binary);
    REQUIRE(model.ParseFromIstream(&in));
    return model;
}

class TempDir {
public:
    TempDir() : path_(fs::temp_directory_path() / ("ctnn_onnx_tests_" + std::to_string(::getpid()))) {
        fs::create_directories(path_);
    }
    ~TempDir() {
        std::error_code ignored;
        fs::remove_all(path_, ignored);
    }
    const fs::path& path() const { return path_; }

private:
    fs::path path_;
};
const TempDir& temp_dir() {
    static const TempDir dir;
    return dir;
}

fs::path write_bytes(const std::string& name, const std::string& bytes) {
    const fs::path file = temp_dir().path() / name;
    std::ofstream out(file, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    REQUIRE(out.good());
    return file;
}
fs::path write_model(const std::string& name, const onnx::ModelProto& model) {
    std::string bytes;
    REQUIRE(model.SerializeToString(&bytes));
    return write_bytes(name, bytes);
}

// The fixture `name`.onnx edited by `edit`, written to the temporary directory.
fs::path edited(const std::string& name, const std::function<void(onnx::ModelProto&)>& edit) {
    onnx::ModelProto model = read_model(fixture(name + ".onnx"));
    edit(model);
    static int counter = 0;
    return write_model(name + "_edited_" + std::to_string(counter++) + ".onnx", model);
}

onnx::NodeProto& node_named(onnx::ModelProto& model, const std::string& name) {
    for (auto& node : *model.mutable_graph()->mutable_node())
        if (node.name() == name) return node;
    FAIL("no node " << name);
    throw;
}
onnx::AttributeProto& attribute(onnx::NodeProto& node, const std::string& name) {
    for (auto& a : *node.mutable_attribute())
        if (a.name() == name) return a;
    FAIL("no attribute " << name);
    throw;
}
void set_ints(onnx::NodeProto& node, const std::string& name, std::initializer_list<std::int64_t> values) {
    auto& a = attribute(node, name);
    a.clear_ints();
    for (auto v : values) a.add_ints(v);
}
onnx::TensorProto& initializer(onnx::ModelProto& model, const std::string& name) {
    for (auto& t : *model.mutable_graph()->mutable_initializer())
        if (t.name() == name) return t;
    FAIL("no initializer " << name);
    throw;
}
void remove_node(onnx::ModelProto& model, const std::string& name) {
    auto* nodes = model.mutable_graph()->mutable_node();
    const auto at = std::find_if(nodes->begin(), nodes->end(), [&](const auto& n) { return n.name() == name; });
    REQUIRE(at != nodes->end());
    nodes->erase(at);
}
// Inserts `node` before the node named `before`.
void insert_node(onnx::ModelProto& model, const onnx::NodeProto& node, const std::string& before) {
    auto* nodes = model.mutable_graph()->mutable_node();
    *nodes->Add() = node;
    auto at = std::find_if(nodes->begin(), nodes->end(), [&](const auto& n) { return n.name() == before; });
    REQUIRE(at != nodes->end());
    std::rotate(at, nodes->end() - 1, nodes->end());
}
onnx::NodeProto make_node(const std::string& name, const std::string& op, std::initializer_list<std::string> inputs,
                          const std::string& output) {
    onnx::NodeProto node;
    node.set_name(name);
    node.set_op_type(op);
    for (const auto& i : inputs) node.add_input(i);
    node.add_output(output);
    return node;
}
void add_float_initializer(onnx::ModelProto& model, const std::string& name, std::vector<std::int64_t> dims,
                           const std::vector<float>& values) {
    auto* t = model.mutable_graph()->add_initializer();
    t->set_name(name);
    t->set_data_type(onnx::TensorProto::FLOAT);
    for (auto d : dims) t->add_dims(d);
    for (float v : values) t->add_float_data(v);
}
std::vector<float> float_values(const onnx::TensorProto& t) {
    std::vector<float> v(t.raw_data().size() / sizeof(float));
    std::memcpy(v.data(), t.raw_data().data(), v.size() * sizeof(float));
    return v;
}

// Loading `file` must fail with a format_error naming the file, and leave the network as it was.
template <class Net>
io::format_error failed_load(Net& net, const fs::path& file) {
    const auto before = testing::parameter_and_state_bits(net);
    try {
        io::load_onnx(net, file);
    } catch (const io::format_error& e) {
        CHECK(e.file() == file);
        CHECK(testing::parameter_and_state_bits(net) == before);
        MESSAGE(std::string(e.what()));
        return e;
    }
    FAIL("loading " << file << " did not fail");
    throw;
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// A network loaded from its fixture (so that an unchanged network is not merely a fresh one).
template <class Net>
Net loaded(const std::string& name) {
    Net net(seed{3});
    io::load_onnx(net, fixture(name + ".onnx"));
    return net;
}

}  // namespace

TEST_SUITE("onnx") {
    TEST_CASE("a Dense network with Flatten, Dropout and Softmax matches PyTorch") {
        Mlp net(seed{1});
        const io::OnnxReport report = check_against_pytorch(net, "mlp");
        CHECK(report.folded_batch_norms.empty());
        CHECK(report.zero_biases.empty());
    }

    TEST_CASE("a CNN with valid and same-padded, strided convolutions matches PyTorch") {
        Cnn net(seed{1});
        check_against_pytorch(net, "cnn");
    }

    TEST_CASE("AvgPool2D (after PyTorch's zero Pad) and GlobalAvgPool2D match PyTorch") {
        PoolingNet net(seed{1});
        check_against_pytorch(net, "pooling");
    }

    TEST_CASE("a residual block with BatchNorm kept as BatchNormalization nodes matches PyTorch") {
        ResidualNet net(seed{1});
        const io::OnnxReport report = check_against_pytorch(net, "residual_kept");
        CHECK(report.folded_batch_norms.empty());
        CHECK(report.zero_biases == std::vector<std::string>{"3.0", "3.3"});  // PyTorch's bias=False convolutions
        // The running statistics are the file's.
        onnx::ModelProto model = read_model(fixture("residual_kept.onnx"));
        const auto var = float_values(initializer(model, "3.4.running_var"));
        const auto& layer = std::get<4>(net.layer<3>().layers);
        CHECK(testing::bits_of(var) == testing::bits_of(flat(layer.running_var)));
    }

    TEST_CASE("a residual block whose BatchNorms PyTorch folded into the convolutions matches PyTorch") {
        ResidualNet net(seed{1});
        const io::OnnxReport report = check_against_pytorch(net, "residual_folded");
        CHECK(report.folded_batch_norms == std::vector<std::string>{"1", "3.1", "3.4"});
        CHECK(report.zero_biases.empty());  // folding gives every convolution a bias

        // A folded BatchNorm passes its input through bit for bit.
        std::mt19937 rng(5);
        std::normal_distribution<float> normal(0.0f, 3.0f);
        using Bn = ResidualNet::layer_type<1>;
        std::vector<float> x(4 * Bn::input_shape::size), y(x.size());
        for (float& v : x) v = normal(rng);
        typename Bn::workspace ws(4);
        net.layer<1>().forward(x.data(), y.data(), 4, ws, Pass::inference);
        CHECK(testing::bits_of(y) == testing::bits_of(x));
        const auto& inner = std::get<1>(net.layer<3>().layers);
        typename std::remove_cvref_t<decltype(inner)>::workspace inner_ws(4);
        inner.forward(x.data(), y.data(), 4, inner_ws, Pass::inference);
        CHECK(testing::bits_of(y) == testing::bits_of(x));
    }

    TEST_CASE("nested residual blocks, a BatchNorm folded inside a block and ReduceMean match PyTorch") {
        NestedResidual net(seed{1});
        const io::OnnxReport report = check_against_pytorch(net, "nested_residual");
        CHECK(report.folded_batch_norms == std::vector<std::string>{"1", "3.1", "6.1"});
    }

    TEST_CASE("a BatchNorm over features flattened from a multi-channel image matches PyTorch") {
        BnFeatures net(seed{1});
        const io::OnnxReport report = check_against_pytorch(net, "bn_features");
        CHECK(report.folded_batch_norms.empty());  // a Flatten stands between it and the Conv
    }

    TEST_CASE("the identity running variance makes BatchNorm the identity in float for epsilons from 1e-6 to 1/3") {
        std::mt19937 rng(7);
        std::uniform_real_distribution<float> uniform(-1e4f, 1e4f);
        std::vector<float> x(64 * 5), y(x.size());
        for (float& v : x) v = uniform(rng);
        x[0] = 0.0f;
        x[1] = -0.0f;
        x[2] = 1e-30f;
        const auto check = [&]<class Epsilon>(Epsilon) {
            using Bn = typename BatchNorm<std::ratio<9, 10>, Epsilon>::template bind<Shape<5>>;
            Bn bn;
            Rng unused(0);
            bn.initialize(unused, Initializer::glorot_uniform);
            const double epsilon = BatchNorm<std::ratio<9, 10>, Epsilon>::epsilon;
            bn.running_var.fill(io::detail::identity_running_var(epsilon));
            typename Bn::workspace ws(64);
            bn.forward(x.data(), y.data(), 64, ws, Pass::inference);
            CAPTURE(epsilon);
            CHECK(y == x);  // equal as floats: x + beta turns -0 into +0, as any BatchNorm with beta 0 does
        };
        check(std::ratio<1, 1000>{});
        check(std::ratio<1, 100000>{});
        check(std::ratio<1, 10000>{});
        check(std::ratio<1, 1000000>{});
        check(std::ratio<1, 3>{});
        check(std::ratio<1, 10>{});
        check(std::ratio<7, 1000>{});
    }

    TEST_CASE("MatMul + Add, a Gemm without bias, Identity and Dropout nodes are read as PyTorch means them") {
        SUBCASE("MatMul with [In, Out] weights and an Add of the bias (bias first) give the Gemm's network") {
            const fs::path file = edited("mlp", [](onnx::ModelProto& m) {
                const onnx::TensorProto& w = initializer(m, "1.weight");
                const auto values = float_values(w);
                std::vector<float> transposed(values.size());
                for (std::size_t o = 0; o < 16; ++o)
                    for (std::size_t i = 0; i < 72; ++i) transposed[i * 16 + o] = values[o * 72 + i];
                add_float_initializer(m, "matmul_weight", {72, 16}, transposed);
                auto& gemm = node_named(m, "/1/Gemm");
                gemm.set_op_type("MatMul");
                gemm.set_name("/1/MatMul");
                gemm.clear_attribute();
                gemm.set_input(1, "matmul_weight");
                gemm.mutable_input()->RemoveLast();
                gemm.set_output(0, "matmul_out");
                insert_node(m, make_node("/1/Add", "Add", {"1.bias", "matmul_out"}, "/1/Gemm_output_0"), "/2/Relu");
            });
            Mlp reference(seed{1}), net(seed{2});
            io::load_onnx(reference, fixture("mlp.onnx"));
            const io::OnnxReport report = io::load_onnx(net, file);
            CHECK(report.zero_biases.empty());
            CHECK(testing::parameter_and_state_bits(net) == testing::parameter_and_state_bits(reference));
        }
        SUBCASE("a Gemm without bias loads a zero bias and says so") {
            const fs::path file = edited(
                "mlp", [](onnx::ModelProto& m) { node_named(m, "/4/Gemm").mutable_input()->RemoveLast(); });
            Mlp net(seed{2});
            const io::OnnxReport report = io::load_onnx(net, file);
            CHECK(report.zero_biases == std::vector<std::string>{"4"});
            CHECK(testing::bits_of(flat(net.layer<4>().bias)) == testing::bits_of(std::vector<float>(5, 0.0f)));
        }
        SUBCASE("Identity nodes and a Dropout node of the layer's rate") {
            const fs::path file = edited("mlp", [](onnx::ModelProto& m) {
                add_float_initializer(m, "ratio", {}, {0.5f});
                node_named(m, "/4/Gemm").set_input(0, "dropped");
                insert_node(m, make_node("/3/Dropout", "Dropout", {"relu_copy", "ratio"}, "dropped"), "/4/Gemm");
                insert_node(m, make_node("/x/Identity", "Identity", {"/2/Relu_output_0"}, "relu_copy"), "/3/Dropout");
            });
            Mlp reference(seed{1}), net(seed{2});
            io::load_onnx(reference, fixture("mlp.onnx"));
            io::load_onnx(net, file);
            CHECK(testing::parameter_and_state_bits(net) == testing::parameter_and_state_bits(reference));
        }
    }

    TEST_CASE("a graph that differs from the network is refused at the first difference, naming node and layer") {
        SUBCASE("wrong Dense size") {
            using Wide = Sequential<Input<6, 6, 2>, Flatten, Dense<72, 20>, ReLU, Dropout<>, Dense<20, 5>, Softmax>;
            Wide net(seed{1});
            const auto e = failed_load(net, fixture("mlp.onnx"));
            CHECK(e.field() == "node /1/Gemm");
            CHECK(contains(e.what(), "is 72 -> 16 but layer 1 is Dense<72,20>"));
        }
        SUBCASE("wrong stride, in the graph") {
            Cnn net = loaded<Cnn>("cnn");
            const auto e = failed_load(net, edited("cnn", [](onnx::ModelProto& m) {
                                           set_ints(node_named(m, "/0/Conv"), "strides", {2, 2});
                                       }));
            CHECK(e.field() == "node /0/Conv");
            CHECK(contains(e.what(), "has strides 2x2 but layer 0 is Conv2D<3,3,3,8> (stride 1)"));
        }
        SUBCASE("wrong stride, in the network") {
            using Stride1 = Sequential<Input<12, 12, 3>, Conv2D<3, 3, 3, 8>, ReLU, MaxPool2D<2>,
                                       Conv2D<3, 3, 8, 16, 1, Padding::same>, ReLU, Flatten, Dense<400, 10>>;
            Stride1 net(seed{1});
            const auto e = failed_load(net, fixture("cnn.onnx"));
            CHECK(e.field() == "node /3/Conv");
            CHECK(contains(e.what(), "has strides 2x2 but layer 3 is Conv2D<3,3,8,16,1,same> (stride 1)"));
        }
        SUBCASE("wrong kernel") {
            using Kernel5 = Sequential<Input<12, 12, 3>, Conv2D<5, 5, 3, 8>, ReLU, MaxPool2D<2>,
                                       Conv2D<3, 3, 8, 16, 2, Padding::same>, ReLU, Flatten, Dense<64, 10>>;
            Kernel5 net(seed{1});
            const auto e = failed_load(net, fixture("cnn.onnx"));
            CHECK(e.field() == "node /0/Conv");
            CHECK(contains(e.what(), "has kernel 3x3 but layer 0 is Conv2D<5,5,3,8> (kernel 5x5)"));
        }
        SUBCASE("wrong padding") {
            Cnn net = loaded<Cnn>("cnn");
            const auto e = failed_load(net, edited("cnn", [](onnx::ModelProto& m) {
                                           set_ints(node_named(m, "/0/Conv"), "pads", {1, 1, 1, 1});
                                       }));
            CHECK(e.field() == "node /0/Conv");
            CHECK(contains(e.what(),
                           "has pads 1,1,1,1 (top, left, bottom, right), giving 12x12 outputs, but layer 0 is "
                           "Conv2D<3,3,3,8> (valid padding: top 0, left 0, 10x10 outputs)"));
        }
        SUBCASE("wrong channel count") {
            Cnn net = loaded<Cnn>("cnn");
            const auto e = failed_load(net, edited("cnn", [](onnx::ModelProto& m) {
                                           initializer(m, "3.weight").set_dims(0, 8);
                                           initializer(m, "3.weight").set_dims(1, 16);
                                       }));
            CHECK(e.field() == "node /3/Conv");
            CHECK(
                contains(e.what(), "maps 16 -> 8 channels but layer 3 is Conv2D<3,3,8,16,2,same> (8 -> 16 channels)"));
        }
        SUBCASE("wrong pooling window") {
            Cnn net = loaded<Cnn>("cnn");
            const auto e = failed_load(net, edited("cnn", [](onnx::ModelProto& m) {
                                           set_ints(node_named(m, "/2/MaxPool"), "kernel_shape", {3, 3});
                                       }));
            CHECK(e.field() == "node /2/MaxPool");
            CHECK(contains(e.what(), "has window 3x3 but layer 2 is MaxPool2D<2> (window 2x2)"));
        }
        SUBCASE("wrong epsilon") {
            using KerasBatchNorm = Sequential<Input<8, 8, 3>, Conv2D<3, 3, 3, 8, 1, Padding::same>, BatchNorm<>, ReLU,
                                              Residual<Conv2D<3, 3, 8, 8, 1, Padding::same>, TorchBatchNorm, ReLU,
                                                       Conv2D<3, 3, 8, 8, 1, Padding::same>, TorchBatchNorm>,
                                              ReLU, MaxPool2D<2>, Flatten, Dense<128, 10>>;
            KerasBatchNorm net(seed{1});
            const auto e = failed_load(net, fixture("residual_kept.onnx"));
            CHECK(e.field() == "node /1/BatchNormalization");
            CHECK(contains(e.what(), "has epsilon 1e-05 but layer 1 is BatchNorm<99,100,1,1000> (epsilon 0.001)"));
        }
        SUBCASE("a ReduceMean over other axes") {
            NestedResidual net = loaded<NestedResidual>("nested_residual");
            const auto e = failed_load(net, edited("nested_residual", [](onnx::ModelProto& m) {
                                           set_ints(node_named(m, "/7/ReduceMean"), "axes", {1});
                                       }));
            CHECK(e.field() == "node /7/ReduceMean");
            CHECK(contains(e.what(), "averages over axes 1 but layer 7 is GlobalAvgPool2D"));
        }
        SUBCASE("extra node after the last layer") {
            Mlp net = loaded<Mlp>("mlp");
            const auto e = failed_load(net, edited("mlp", [](onnx::ModelProto& m) {
                                           *m.mutable_graph()->add_node() = make_node("/6/Relu", "Relu", {"output"},
                                                                                      "more");
                                           m.mutable_graph()->mutable_output(0)->set_name("more");
                                       }));
            CHECK(e.field() == "node /6/Relu");
            CHECK(contains(e.what(), "op Relu follows the network's last layer, layer 5 (Softmax)"));
        }
        SUBCASE("missing node inside the graph") {
            Mlp net = loaded<Mlp>("mlp");
            const auto e = failed_load(net, edited("mlp", [](onnx::ModelProto& m) {
                                           remove_node(m, "/2/Relu");
                                           node_named(m, "/4/Gemm").set_input(0, "/1/Gemm_output_0");
                                       }));
            CHECK(e.field() == "node /4/Gemm");
            CHECK(contains(e.what(), "op Gemm is where layer 2 (ReLU) expects a Relu node"));
        }
        SUBCASE("missing node at the end") {
            Mlp net = loaded<Mlp>("mlp");
            const auto e = failed_load(net, edited("mlp", [](onnx::ModelProto& m) {
                                           remove_node(m, "/5/Softmax");
                                           m.mutable_graph()->mutable_output(0)->set_name("/4/Gemm_output_0");
                                       }));
            CHECK(e.field() == "graph");
            CHECK(contains(e.what(),
                           "the graph ends after node /4/Gemm (Gemm), but the network has layer 5 (Softmax), "
                           "which expects a Softmax node"));
        }
        SUBCASE("unsupported op") {
            Mlp net = loaded<Mlp>("mlp");
            const auto e = failed_load(net, edited("mlp", [](onnx::ModelProto& m) {
                                           auto& relu = node_named(m, "/2/Relu");
                                           relu.set_op_type("LSTM");
                                           relu.set_name("/2/LSTM");
                                       }));
            CHECK(e.field() == "node /2/LSTM");
            CHECK(contains(e.what(), "op LSTM has no ctnn counterpart (the network has layer 2 (ReLU) here)"));
        }
        SUBCASE("Gemm with transB 0") {
            Mlp net = loaded<Mlp>("mlp");
            const auto e = failed_load(net, edited("mlp", [](onnx::ModelProto& m) {
                                           attribute(node_named(m, "/1/Gemm"), "transB").set_i(0);
                                       }));
            CHECK(e.field() == "node /1/Gemm");
            CHECK(contains(e.what(), "has transA 0, transB 0, alpha 1, beta 1 but layer 1 is Dense<72,16>"));
        }
        SUBCASE("Dropout of another rate") {
            Mlp net = loaded<Mlp>("mlp");
            const auto e = failed_load(
                net, edited("mlp", [](onnx::ModelProto& m) {
                    add_float_initializer(m, "ratio", {}, {0.25f});
                    node_named(m, "/4/Gemm").set_input(0, "dropped");
                    insert_node(m, make_node("/3/Dropout", "Dropout", {"/2/Relu_output_0", "ratio"}, "dropped"),
                                "/4/Gemm");
                }));
            CHECK(e.field() == "node /3/Dropout");
            CHECK(contains(e.what(), "has ratio 0.25 but layer 3 is Dropout<1,2> (rate 0.5)"));
        }
        SUBCASE("a BatchNorm that does not follow a Conv cannot have been folded") {
            using BatchNormAfterReLU =
                Sequential<Input<8, 8, 3>, Conv2D<3, 3, 3, 8, 1, Padding::same>, ReLU, TorchBatchNorm,
                           Residual<Conv2D<3, 3, 8, 8, 1, Padding::same>, TorchBatchNorm, ReLU,
                                    Conv2D<3, 3, 8, 8, 1, Padding::same>, TorchBatchNorm>,
                           ReLU, MaxPool2D<2>, Flatten, Dense<128, 10>>;
            BatchNormAfterReLU net(seed{1});
            const auto e = failed_load(net, fixture("residual_folded.onnx"));
            CHECK(e.field() == "node /3/3.0/Conv");
            CHECK(contains(e.what(),
                           "op Conv is where layer 2 (BatchNorm<9,10,1,100000>) expects a BatchNormalization node"));
        }
        SUBCASE("a residual Add that is not the skip connection") {
            ResidualNet net = loaded<ResidualNet>("residual_folded");
            const auto e = failed_load(net, edited("residual_folded", [](onnx::ModelProto& m) {
                                           node_named(m, "/3/Add").set_input(0, "/0/Conv_output_0");
                                       }));
            CHECK(e.field() == "node /3/Add");
            CHECK(contains(e.what(),
                           "op Add of '/0/Conv_output_0' and '/3/3.3/Conv_output_0' is where layer 3 (Residual<"));
            CHECK(contains(e.what(),
                           "expects the Add of the block's input '/2/Relu_output_0' and its last output "
                           "'/3/3.3/Conv_output_0'"));
        }
        SUBCASE("a residual block without its Add") {
            ResidualNet net = loaded<ResidualNet>("residual_kept");
            const auto e = failed_load(net, edited("residual_kept", [](onnx::ModelProto& m) {
                                           remove_node(m, "/3/Add");
                                           node_named(m, "/4/Relu").set_input(0, "/3/3.4/BatchNormalization_output_0");
                                       }));
            CHECK(e.field() == "node /4/Relu");
            CHECK(contains(e.what(), "op Relu is where layer 3 (Residual<"));
        }
        SUBCASE("a graph that branches") {
            Mlp net = loaded<Mlp>("mlp");
            const auto e = failed_load(net, edited("mlp", [](onnx::ModelProto& m) {
                                           node_named(m, "/2/Relu").set_input(0, "/0/Flatten_output_0");
                                       }));
            CHECK(e.field() == "node /2/Relu");
            CHECK(contains(e.what(),
                           "reads '/0/Flatten_output_0', not '/1/Gemm_output_0' (the output of node /1/Gemm "
                           "(Gemm))"));
        }
        SUBCASE("another input shape") {
            using Transposed =
                Sequential<Input<6, 2, 6>, Flatten, Dense<72, 16>, ReLU, Dropout<>, Dense<16, 5>, Softmax>;
            Transposed net(seed{1});
            const auto e = failed_load(net, fixture("mlp.onnx"));
            CHECK(e.field() == "graph input 'input'");
            CHECK(contains(e.what(), "is 3x2x6x6 (N x C x H x W) but the network's Input is 6x2x6 (H x W x C)"));
        }
        SUBCASE("a node of another domain") {
            Mlp net = loaded<Mlp>("mlp");
            const auto e = failed_load(
                net, edited("mlp", [](onnx::ModelProto& m) { node_named(m, "/2/Relu").set_domain("com.microsoft"); }));
            CHECK(e.field() == "node /2/Relu");
            CHECK(contains(e.what(), "of domain 'com.microsoft'"));
        }
        SUBCASE("an initializer whose dims disagree with its data") {
            Mlp net = loaded<Mlp>("mlp");
            const auto e = failed_load(
                net, edited("mlp", [](onnx::ModelProto& m) { initializer(m, "1.weight").set_dims(1, 73); }));
            CHECK(e.field() == "initializer 1.weight");
            CHECK(contains(e.what(), "dims 16x73 hold 1168 values, its data has 4608 bytes"));
        }
        SUBCASE("an initializer that claims more values than the file holds is refused before allocating") {
            Mlp net = loaded<Mlp>("mlp");
            const auto e = failed_load(net, edited("mlp", [](onnx::ModelProto& m) {
                                           initializer(m, "1.weight").set_dims(1, std::int64_t{1} << 40);
                                       }));
            CHECK(e.field() == "initializer 1.weight");
            CHECK(contains(e.what(), "claim more values than the"));
        }
        SUBCASE("a tensor that is not float32") {
            Mlp net = loaded<Mlp>("mlp");
            const auto e = failed_load(net, edited("mlp", [](onnx::ModelProto& m) {
                                           initializer(m, "4.bias").set_data_type(onnx::TensorProto::DOUBLE);
                                       }));
            CHECK(e.field() == "initializer 4.bias");
            CHECK(contains(e.what(), "data type 11, ctnn reads float32"));
        }
        SUBCASE("a tensor stored outside the file") {
            Mlp net = loaded<Mlp>("mlp");
            const auto e = failed_load(net, edited("mlp", [](onnx::ModelProto& m) {
                                           initializer(m, "4.bias").set_data_location(onnx::TensorProto::EXTERNAL);
                                       }));
            CHECK(e.field() == "initializer 4.bias");
            CHECK(contains(e.what(), "external file"));
        }
    }

    TEST_CASE("malformed files are refused with a format_error naming the file") {
        Mlp net = loaded<Mlp>("mlp");
        std::ifstream in(fixture("mlp.onnx"), std::ios::binary);
        const std::string good((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        REQUIRE(good.size() > 1000);

        SUBCASE("missing, a directory, empty") {
            CHECK(failed_load(net, temp_dir().path() / "no_such.onnx").field() == "file");
            CHECK(contains(failed_load(net, temp_dir().path()).what(), "is a directory"));
            CHECK(contains(failed_load(net, write_bytes("empty.onnx", "")).what(), "is empty"));
        }
        SUBCASE("garbage bytes") {
            std::mt19937 rng(11);
            for (int trial = 0; trial < 20; ++trial) {
                std::string bytes(1 + rng() % 4000, '\0');
                for (char& c : bytes) c = static_cast<char>(rng());
                CAPTURE(trial);
                failed_load(net, write_bytes("garbage.onnx", bytes));
            }
            failed_load(net, write_bytes("text.onnx", "this is not an ONNX model\n"));
        }
        SUBCASE("truncated") {
            for (const std::size_t keep : {std::size_t{1}, std::size_t{10}, std::size_t{100}, good.size() / 3,
                                           good.size() / 2, good.size() - 100, good.size() - 1}) {
                CAPTURE(keep);
                failed_load(net, write_bytes("truncated.onnx", good.substr(0, keep)));
            }
            const auto e = failed_load(net, write_bytes("truncated.onnx", good.substr(0, good.size() / 2)));
            CHECK(e.field() == "graph");
            CHECK(contains(e.what(), "truncated"));
        }
        SUBCASE("well-formed at the top level, garbage inside the graph") {
            const std::string bytes = std::string("\x3a\x04\xff\xff\xff\xff", 6);  // field 7, 4 bytes of nonsense
            CHECK(contains(failed_load(net, write_bytes("bad_graph.onnx", bytes)).what(), "protobuf cannot parse"));
        }
        SUBCASE("no graph") {
            onnx::ModelProto model = read_model(fixture("mlp.onnx"));
            model.clear_graph();
            const auto e = failed_load(net, write_model("no_graph.onnx", model));
            CHECK(e.field() == "graph");
            CHECK(contains(e.what(), "holds no graph"));
        }
        SUBCASE("unsupported opsets") {
            const auto newer = failed_load(
                net, edited("mlp", [](onnx::ModelProto& m) { m.mutable_opset_import(0)->set_version(99); }));
            CHECK(newer.field() == "opset_import");
            CHECK(contains(newer.what(), "opset 99 of the default domain is outside 9..17"));
            const auto other = failed_load(net, edited("mlp", [](onnx::ModelProto& m) {
                                               m.mutable_opset_import(0)->set_domain("com.microsoft");
                                           }));
            CHECK(contains(other.what(), "only of unsupported domains (com.microsoft)"));
            const auto none = failed_load(net, edited("mlp", [](onnx::ModelProto& m) { m.clear_opset_import(); }));
            CHECK(contains(none.what(), "no opset at all"));
        }
    }

}  // TEST_SUITE
