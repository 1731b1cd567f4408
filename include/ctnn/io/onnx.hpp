#pragma once
// Importing a network's parameters from an ONNX file, checked node by node against the network type:
// io::load_onnx(net, "model.onnx"). Component ctnn::onnx (libonnx-dev + libprotobuf-dev).
//
// The rule: the graph is a chain. Its nodes, in file order, are matched to the network's layers, in order,
// each layer reading the nodes its onnx_convention describes, each node reading the output of the one before
// (the graph's single input for the first). The tensors feeding a node (initializers, Constant nodes) are that
// layer's tensors, named by the layer's position ("4.weight", "3.1.running_mean" for layer 1 of the Residual
// at 3: PyTorch's names for an nn.Sequential that mirrors the network), never by their names in the file, which
// torch.onnx.export may rename ("onnx::Conv_23"); io::load_state_dict converts them to ctnn's layouts.
//
//   ctnn layer           ONNX nodes (opset 9..17, default domain)
//   Conv2D<KH,KW,Cin,Cout,S,Pad>   Conv: weights [Cout,Cin,KH,KW], kernel KHxKW, strides SxS, dilations 1,
//                        group 1, pads (or auto_pad) giving ctnn's padding: the same top and left padding and
//                        the same output size. A Conv without bias (PyTorch bias=False) loads a zero bias:
//                        ctnn's Conv2D always has one.
//   Dense<In,Out>        Gemm (transA 0, transB 1, alpha 1, beta 1; weights [Out,In]), as nn.Linear exports;
//                        or MatMul (weights [In,Out]) and an optional Add of the bias. No bias: zeros.
//   BatchNorm<M,E>       BatchNormalization in inference form (epsilon within 1e-6 relative of E), or none:
//                        see the folded BatchNorm below.
//   ReLU                 Relu
//   MaxPool2D<K,S>       MaxPool, AvgPool2D<K,S> AveragePool: kernel KxK, strides SxS, no padding, dilations
//                        1, ceil_mode only where it gives the same output size.
//   GlobalAvgPool2D      GlobalAveragePool or ReduceMean over axes 2,3 (PyTorch's x.mean((2, 3))), then the
//                        Flatten, Reshape or Squeeze to [N,C] that ctnn's Shape<C> output already is.
//   Flatten              Flatten (axis 1) or Reshape to [N,-1] / [N,features]; on a flat input the node is
//                        optional.
//   Residual<L...>       the inner layers' nodes, the first reading the block's input, then an Add of the
//                        block's input and the last inner output (either order): the skip connection.
//   Softmax              Softmax over the features (axis 1 or -1).
//   Dropout<R>           Dropout with ratio R, or none (an eval-mode export drops it).
// Nodes that change nothing are passed over wherever they appear: Identity, and Pad with all-zero pads (PyTorch
// 1.13 writes one before some AveragePools).
//
// Folded BatchNorm: torch.onnx.export of an eval-mode model folds each BatchNorm into the Conv before it (the
// graph has no BatchNormalization node, and the Conv's weights and bias are the folded ones). Where the network
// has a BatchNorm directly after a Conv2D and the graph goes on from that Conv without a BatchNormalization,
// the Conv's tensors are loaded as they are and the BatchNorm is set to the identity: gamma 1, beta 0,
// running_mean 0 and a running_var v for which 1 / sqrt(v + epsilon) rounds to exactly 1 in float, so the layer
// gives back its input exactly (as floats: + beta turns -0 into +0); its epsilon cannot be checked, the graph no
// longer has it. The
// returned OnnxReport lists those layers, and the layers that got a zero bias. An export with
// training=torch.onnx.TrainingMode.PRESERVE keeps the BatchNormalization nodes (do_constant_folding=False
// alone does not, in 1.13).
//
// Refused, with an io::format_error naming the file and the field (the node, "graph", "graph input", an
// initializer): a file that is missing, a directory, empty, larger than protobuf parses (2 GiB), truncated,
// not a ModelProto, without a graph, without an opset of the default domain in 9..17; nodes of another
// domain; an op no layer reads ("node /4/LSTM: op LSTM has no ctnn counterpart"); the first node that differs
// from its layer ("node /fc1/Gemm: is 5408 -> 128 but layer 4 is Dense<784,128>"); a graph that branches,
// ends before the network or goes on after it; tensors that are not float32, stored outside the file, or whose
// dims disagree with their data (sizes are checked against the data before anything is allocated). Nothing
// reaches the network before every node has matched and load_state_dict has checked every tensor: a failed
// load leaves it exactly as it was.
//
// A new layer type adds one specialisation of onnx_convention<Spec> below (and its ops to onnx_ops_read).

#include <algorithm>
#include <bit>
#include <cerrno>
#include <climits>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <limits>
#include <map>
#include <ratio>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

#include <onnx/onnx_pb.h>

#include "ctnn/io/error.hpp"
#include "ctnn/io/state_dict.hpp"
#include "ctnn/layers/avg_pool2d.hpp"
#include "ctnn/layers/batch_norm.hpp"
#include "ctnn/layers/conv2d.hpp"
#include "ctnn/layers/dense.hpp"
#include "ctnn/layers/dropout.hpp"
#include "ctnn/layers/flatten.hpp"
#include "ctnn/layers/global_avg_pool2d.hpp"
#include "ctnn/layers/max_pool2d.hpp"
#include "ctnn/layers/relu.hpp"
#include "ctnn/layers/residual.hpp"
#include "ctnn/layers/softmax.hpp"
#include "ctnn/network/sequential.hpp"

namespace ctnn::io {

static_assert(std::endian::native == std::endian::little,
              "ONNX raw tensor data is little-endian; this platform would need byte swapping");

// Opsets of the default domain whose operators above mean what this importer reads (9: BatchNormalization
// without `spatial`; 17: the newest libonnx 1.12 knows).
inline constexpr std::int64_t onnx_min_opset = 9;
inline constexpr std::int64_t onnx_max_opset = 17;
// protobuf parses messages of at most INT_MAX bytes.
inline constexpr std::uint64_t onnx_max_file_size = static_cast<std::uint64_t>(INT_MAX);
// Epsilons are float attributes in ONNX: a few float roundings apart is the same epsilon.
inline constexpr double onnx_epsilon_tolerance = 1e-6;

// The ops some convention reads (plus the pass-through ones): any other op "has no ctnn counterpart".
// clang-format off
inline constexpr std::string_view onnx_ops_read[] = {
    "Conv", "Gemm", "MatMul", "Add", "BatchNormalization", "Relu", "MaxPool", "AveragePool", "GlobalAveragePool",
    "ReduceMean", "Flatten", "Reshape", "Squeeze", "Softmax", "Dropout", "Identity", "Pad", "Constant"};
// clang-format on

// What load_onnx did besides copying tensors: layer positions ("1", "3.1").
struct OnnxReport {
    std::vector<std::string> folded_batch_norms;  // BatchNorms folded into their Conv by the exporter: identity
    std::vector<std::string> zero_biases;         // Conv2D / Dense layers whose node has no bias: zeros
};

// How a layer spec appears in an ONNX graph: a specialisation per layer type, with
//   template <class Bound> static void read(OnnxGraphReader& graph, const OnnxLayer& layer, OnnxTensors& out);
// which consumes the layer's nodes from `graph` (Bound: the spec bound to its input shape), checks them against
// the layer's compile-time parameters and adds the layer's tensors, PyTorch layout, to `out`.
class OnnxGraphReader;
struct OnnxLayer;
struct OnnxTensors;
template <class Spec>
struct no_onnx_convention : std::false_type {};
template <class Spec>
struct onnx_convention {
    static_assert(no_onnx_convention<Spec>::value,
                  "this layer has no ONNX convention: specialise ctnn::io::onnx_convention for it (io/onnx.hpp)");
    template <class Bound>
    static void read(OnnxGraphReader&, const OnnxLayer&, OnnxTensors&) {}  // only the assertion above speaks
};

namespace detail {

inline std::string join_ints(const std::vector<std::int64_t>& values, char separator) {
    std::string text;
    for (std::size_t i = 0; i < values.size(); ++i) {
        if (i != 0) text += separator;
        text += std::to_string(values[i]);
    }
    return text;
}

// 1e-05, 0.5: the shortest form that tells epsilons and rates apart.
inline std::string format_number(double value) {
    char text[32];
    std::snprintf(text, sizeof text, "%.7g", value);
    return text;
}

// ---- the file ------------------------------------------------------------------------------------------------

inline std::string model_field_name(std::uint64_t field) {
    switch (field) {
        case 7:
            return "graph";
        case 8:
            return "opset_import";
        default:
            return "field " + std::to_string(field);
    }
}

// Walks the top level of the protobuf wire format, so that a file cut short is reported as truncated, with the
// field and the offset, rather than as a generic parse failure. Nested messages are left to the parser.
inline void check_wire_format(const std::filesystem::path& file, const std::string& bytes) {
    const std::size_t size = bytes.size();
    std::size_t at = 0;
    const auto truncated = [&](const std::string& what, std::uint64_t needed, std::size_t offset) {
        throw format_error(file, what,
                           "truncated: needs " + std::to_string(needed) + " bytes at offset " + std::to_string(offset) +
                               ", the file has " + std::to_string(size));
    };
    const auto varint = [&](const std::string& what) {
        std::uint64_t value = 0;
        const std::size_t start = at;
        for (int shift = 0; shift < 64; shift += 7) {
            if (at >= size) truncated(what, at - start + 1, start);
            const auto byte = static_cast<unsigned char>(bytes[at++]);
            value |= static_cast<std::uint64_t>(byte & 0x7Fu) << shift;
            if ((byte & 0x80u) == 0) return value;
        }
        throw format_error(file, what, "not an ONNX model (a protobuf varint longer than 10 bytes)");
    };
    while (at < size) {
        const std::size_t tag_offset = at;
        const std::uint64_t tag = varint("model");
        const std::uint64_t field = tag >> 3;
        const std::string what = model_field_name(field);
        std::uint64_t length = 0;
        switch (tag & 7u) {
            case 0:
                (void)varint(what);
                continue;
            case 1:
                length = 8;
                break;
            case 2:
                length = varint(what);
                break;
            case 5:
                length = 4;
                break;
            default:
                throw format_error(file, "model",
                                   "not an ONNX model (protobuf wire type " + std::to_string(tag & 7u) + " at offset " +
                                       std::to_string(tag_offset) + ")");
        }
        if (field == 0)
            throw format_error(
                file, "model",
                "not an ONNX model (protobuf field number 0 at offset " + std::to_string(tag_offset) + ")");
        if (length > size - at) truncated(what, length, at);
        at += static_cast<std::size_t>(length);
    }
}

inline std::int64_t default_domain_opset(const std::filesystem::path& file, const ::onnx::ModelProto& model) {
    for (const auto& opset : model.opset_import())
        if (opset.domain().empty() || opset.domain() == "ai.onnx") {
            if (opset.version() < onnx_min_opset || opset.version() > onnx_max_opset)
                throw format_error(file, "opset_import",
                                   "opset " + std::to_string(opset.version()) + " of the default domain is outside " +
                                       std::to_string(onnx_min_opset) + ".." + std::to_string(onnx_max_opset) +
                                       ", the versions this importer reads");
            return opset.version();
        }
    std::string domains;
    for (const auto& opset : model.opset_import()) domains += (domains.empty() ? "" : ", ") + opset.domain();
    throw format_error(file, "opset_import",
                       model.opset_import_size() == 0
                           ? std::string("no opset at all (is the file truncated?)")
                           : "no opset of the default ONNX domain, only of unsupported domains (" + domains + ")");
}

// A parsed model with a graph and a supported opset, and the size of its file (the bound on every tensor).
struct OnnxModel {
    ::onnx::ModelProto proto;
    std::uint64_t file_size = 0;
    std::int64_t opset = 0;
};

inline OnnxModel read_onnx_model(const std::filesystem::path& file) {
    require_regular_file<format_error>(file);
    std::error_code ec;
    OnnxModel model;
    model.file_size = std::filesystem::file_size(file, ec);
    if (ec) throw format_error(file, "file", "cannot determine its size: " + ec.message());
    if (model.file_size == 0) throw format_error(file, "file", "is empty");
    if (model.file_size > onnx_max_file_size)
        throw format_error(file, "file",
                           std::to_string(model.file_size) + " bytes exceed the " + std::to_string(onnx_max_file_size) +
                               " that protobuf parses");

    std::string bytes(static_cast<std::size_t>(model.file_size), '\0');
    std::ifstream in(file, std::ios::binary);
    if (!in) throw format_error(file, "file", std::string("cannot open: ") + std::strerror(errno));
    in.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (in.gcount() != static_cast<std::streamsize>(bytes.size()))
        throw format_error(
            file, "file", "read " + std::to_string(in.gcount()) + " of its " + std::to_string(bytes.size()) + " bytes");
    check_wire_format(file, bytes);

    if (!model.proto.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())))
        throw format_error(file, "model", "not an ONNX model (protobuf cannot parse it as a ModelProto)");
    if (!model.proto.has_graph()) throw format_error(file, "graph", "the model holds no graph");
    model.opset = default_domain_opset(file, model.proto);
    return model;
}

// ---- tensors -------------------------------------------------------------------------------------------------

// The element count of `dims`, refusing negative dims and counts above `bound` (the file's size: no tensor
// embedded in it can hold more), so that nothing is allocated from a size the file merely claims.
inline std::uint64_t checked_count(const std::filesystem::path& file, const std::string& field,
                                   const google::protobuf::RepeatedField<std::int64_t>& dims, std::uint64_t bound) {
    std::uint64_t count = 1;
    for (const std::int64_t d : dims) {
        if (d < 0) throw format_error(file, field, "negative dimension " + std::to_string(d));
        const auto u = static_cast<std::uint64_t>(d);
        if (u != 0 && count > bound / u)
            throw format_error(file, field,
                               "dims " + join_ints({dims.begin(), dims.end()}, 'x') + " claim more values than the " +
                                   std::to_string(bound) + "-byte file holds");
        count *= u;
    }
    return count;
}

// Tensors are named as the graph refers to them: a Constant node's output, an initializer's name.
inline std::string tensor_field(const std::string& name) { return "initializer " + name; }

inline void check_embedded(const std::filesystem::path& file, const ::onnx::TensorProto& t, const std::string& field) {
    if (t.data_location() == ::onnx::TensorProto::EXTERNAL || t.external_data_size() > 0)
        throw format_error(file, field,
                           "its data is stored in an external file; ctnn reads tensors embedded in the model");
    if (t.has_segment()) throw format_error(file, field, "segmented tensors are not supported");
}

inline TorchTensor float_tensor(const std::filesystem::path& file, std::uint64_t file_size,
                                const ::onnx::TensorProto& t, const std::string& name) {
    const std::string field = tensor_field(name);
    check_embedded(file, t, field);
    if (t.data_type() != ::onnx::TensorProto::FLOAT)
        throw format_error(file, field,
                           "data type " + std::to_string(t.data_type()) + ", ctnn reads float32 (1) tensors");
    const std::uint64_t count = checked_count(file, field, t.dims(), file_size);
    const std::uint64_t stored = t.has_raw_data() ? t.raw_data().size() / sizeof(float)
                                                  : static_cast<std::uint64_t>(t.float_data_size());
    if ((t.has_raw_data() && t.raw_data().size() % sizeof(float) != 0) || stored != count)
        throw format_error(file, field,
                           "dims " + join_ints({t.dims().begin(), t.dims().end()}, 'x') + " hold " +
                               std::to_string(count) + " values, its data has " +
                               (t.has_raw_data() ? std::to_string(t.raw_data().size()) + " bytes"
                                                 : std::to_string(stored) + " floats"));
    TorchTensor out;
    out.shape.assign(t.dims().begin(), t.dims().end());
    out.values.resize(static_cast<std::size_t>(count));
    if (t.has_raw_data())
        std::memcpy(out.values.data(), t.raw_data().data(), out.values.size() * sizeof(float));
    else
        std::copy(t.float_data().begin(), t.float_data().end(), out.values.begin());
    return out;
}

inline std::vector<std::int64_t> integer_tensor(const std::filesystem::path& file, std::uint64_t file_size,
                                                const ::onnx::TensorProto& t, const std::string& name) {
    const std::string field = tensor_field(name);
    check_embedded(file, t, field);
    const std::uint64_t count = checked_count(file, field, t.dims(), file_size);
    std::vector<std::int64_t> out;
    if (t.data_type() == ::onnx::TensorProto::INT64) {
        if (t.has_raw_data() ? t.raw_data().size() != count * 8
                             : static_cast<std::uint64_t>(t.int64_data_size()) != count)
            throw format_error(file, field, "its dims and its data disagree");
        out.resize(static_cast<std::size_t>(count));
        if (t.has_raw_data())
            std::memcpy(out.data(), t.raw_data().data(), out.size() * sizeof(std::int64_t));
        else
            std::copy(t.int64_data().begin(), t.int64_data().end(), out.begin());
    } else if (t.data_type() == ::onnx::TensorProto::INT32) {
        if (t.has_raw_data() ? t.raw_data().size() != count * 4
                             : static_cast<std::uint64_t>(t.int32_data_size()) != count)
            throw format_error(file, field, "its dims and its data disagree");
        std::vector<std::int32_t> narrow(static_cast<std::size_t>(count));
        if (t.has_raw_data())
            std::memcpy(narrow.data(), t.raw_data().data(), narrow.size() * sizeof(std::int32_t));
        else
            std::copy(t.int32_data().begin(), t.int32_data().end(), narrow.begin());
        out.assign(narrow.begin(), narrow.end());
    } else {
        throw format_error(file, field,
                           "data type " + std::to_string(t.data_type()) + ", expected integers (int64 or int32)");
    }
    return out;
}

}  // namespace detail

// A layer as messages name it: its position ("4", "3.1") and its name() ("Dense<784,128>").
struct OnnxLayer {
    std::string path;
    std::string name;
    std::string is() const { return "layer " + path + " is " + name; }
    std::string named() const { return "layer " + path + " (" + name + ")"; }
};

// The tensors gathered for load_state_dict, keyed by layer position, and the report.
struct OnnxTensors {
    StateDict tensors;
    OnnxReport report;
    void add(const OnnxLayer& layer, std::string_view suffix, TorchTensor tensor) {
        tensors.insert_or_assign(layer.path + "." + std::string(suffix), std::move(tensor));
    }
};

// ---- the graph -----------------------------------------------------------------------------------------------

// The graph as a chain of data nodes and a table of constants, with a cursor: the next node to match, and the
// tensor the chain has reached (the output of the last node consumed).
class OnnxGraphReader {
public:
    OnnxGraphReader(const std::filesystem::path& file, std::uint64_t file_size, const ::onnx::GraphProto& graph,
                    std::int64_t opset)
        : file_(file), file_size_(file_size), opset_(opset), graph_(&graph) {
        for (const auto& t : graph.initializer()) constants_.insert_or_assign(t.name(), &t);
        for (const auto& node : graph.node()) {
            // Constant nodes and Identity nodes of a constant are more constants, not layers.
            if (node.op_type() == "Constant" && is_default_domain(node) && node.output_size() == 1) {
                const ::onnx::AttributeProto* value = find_attribute(node, "value");
                if (value == nullptr || value->type() != ::onnx::AttributeProto::TENSOR)
                    fail(node, "a Constant without a tensor `value` (sparse or scalar-list constants are not read)");
                constants_.insert_or_assign(node.output(0), &value->t());
                continue;
            }
            if (node.op_type() == "Identity" && node.input_size() == 1 && node.output_size() == 1 &&
                constants_.count(node.input(0)) != 0) {
                constants_.insert_or_assign(node.output(0), constants_.at(node.input(0)));
                continue;
            }
            nodes_.push_back(&node);
        }
        std::vector<std::string> inputs;
        for (const auto& input : graph.input())
            if (constants_.count(input.name()) == 0) inputs.push_back(input.name());
        if (inputs.size() != 1)
            throw format_error(file_, "graph input",
                               "the graph has " + std::to_string(inputs.size()) +
                                   " inputs that are not initializers; a ctnn network takes one");
        for (const auto& input : graph.input())
            if (input.name() == inputs[0]) input_ = &input;
        if (graph.output_size() != 1)
            throw format_error(
                file_, "graph output",
                "the graph has " + std::to_string(graph.output_size()) + " outputs; a ctnn network gives one");
        output_ = graph.output(0).name();
        current_ = input_->name();
    }

    const std::filesystem::path& file() const noexcept { return file_; }
    std::int64_t opset() const noexcept { return opset_; }
    const ::onnx::ValueInfoProto& input() const noexcept { return *input_; }
    const std::string& output() const noexcept { return output_; }
    // The tensor the chain has reached.
    const std::string& current() const noexcept { return current_; }
    // The op of the last node consumed since the chain entered the current block ("" if none).
    const std::string& previous_op() const noexcept { return previous_op_; }
    // A Residual block starts: no BatchNorm folds into a Conv across its edge.
    void enter_block() { previous_op_.clear(); }

    std::string label(const ::onnx::NodeProto& node) const {
        if (!node.name().empty()) return "node " + node.name();
        int index = 0;  // an unnamed node by its position in the file
        while (index < graph_->node_size() && &graph_->node(index) != &node) ++index;
        return "node " + std::to_string(index) + " (" + node.op_type() + ")";
    }
    // "node /0/Conv (Conv)", or the label when that already names the op.
    std::string label_with_op(const ::onnx::NodeProto& node) const {
        return node.name().empty() ? label(node) : label(node) + " (" + node.op_type() + ")";
    }
    [[noreturn]] void fail(const ::onnx::NodeProto& node, const std::string& problem) const {
        throw format_error(file_, label(node), problem);
    }
    [[noreturn]] void fail_graph(const std::string& problem) const { throw format_error(file_, "graph", problem); }

    // The next data node, past the nodes that change nothing (Identity, an all-zero Pad) on the chain's
    // tensor; null at the end of the graph.
    const ::onnx::NodeProto* peek() {
        while (next_ < nodes_.size()) {
            const ::onnx::NodeProto& node = *nodes_[next_];
            if (!passes_through(node)) return &node;
            current_ = node.output_size() > 0 ? node.output(0) : current_;
            last_ = &node;
            ++next_;
        }
        return nullptr;
    }

    // The next node, which a layer needs: `wanted` ("a Relu node") says what for when the graph has ended.
    const ::onnx::NodeProto& next(const OnnxLayer& layer, std::string_view wanted) {
        const ::onnx::NodeProto* node = peek();
        if (node == nullptr) {
            if (last_ == nullptr)
                fail_graph("the graph has no nodes, but the network has " + layer.named() + ", which expects " +
                           std::string(wanted));
            fail_graph("the graph ends after " + label_with_op(*last_) + ", but the network has " + layer.named() +
                       ", which expects " + std::string(wanted));
        }
        if (!is_default_domain(*node))
            fail(*node, "op " + node->op_type() + " of domain '" + node->domain() +
                            "': ctnn reads the default ONNX domain only");
        return *node;
    }

    // The next node, which must be one of `ops` and read the chain's tensor.
    const ::onnx::NodeProto& expect(const OnnxLayer& layer, std::initializer_list<std::string_view> ops,
                                    std::string_view wanted) {
        const ::onnx::NodeProto& node = next(layer, wanted);
        if (std::find(ops.begin(), ops.end(), node.op_type()) == ops.end()) {
            if (std::find(std::begin(onnx_ops_read), std::end(onnx_ops_read), node.op_type()) ==
                std::end(onnx_ops_read))
                fail(node,
                     "op " + node.op_type() + " has no ctnn counterpart (the network has " + layer.named() + " here)");
            fail(node, "op " + node.op_type() + " is where " + layer.named() + " expects " + std::string(wanted));
        }
        check_reads_current(node);
        return node;
    }

    // Whether the next node is one of `ops` reading the chain's tensor: for layers whose node is optional.
    bool next_is(std::initializer_list<std::string_view> ops) {
        const ::onnx::NodeProto* node = peek();
        return node != nullptr && is_default_domain(*node) && node->input_size() > 0 && node->input(0) == current_ &&
               std::find(ops.begin(), ops.end(), node->op_type()) != ops.end();
    }

    // The next node when it is an Add of the chain's tensor and a constant (a MatMul's bias), else null.
    const ::onnx::NodeProto* next_add_of_constant() {
        const ::onnx::NodeProto* node = peek();
        if (node == nullptr || !is_default_domain(*node) || node->op_type() != "Add" || node->input_size() != 2)
            return nullptr;
        const int other = node->input(0) == current_ ? 1 : node->input(1) == current_ ? 0 : -1;
        return other >= 0 && constant_or_null(*node, other) != nullptr ? node : nullptr;
    }

    // Moves past `node` (the one peek() returned): the chain's tensor is now its first output.
    void consume(const ::onnx::NodeProto& node) {
        if (node.output_size() < 1 || node.output(0).empty()) fail(node, "has no output");
        current_ = node.output(0);
        previous_op_ = node.op_type();
        last_ = &node;
        ++next_;
    }

    // After the last layer: no node left, and the chain's tensor is the graph's output.
    void finish(const OnnxLayer& last_layer) {
        if (const ::onnx::NodeProto* node = peek())
            fail(*node, "op " + node->op_type() + " follows the network's last layer, " + last_layer.named() +
                            ": the graph has more layers than the network");
        if (current_ != output_)
            fail_graph("the graph's output '" + output_ + "' is not the output of its last node ('" + current_ + "')");
    }

    void check_reads_current(const ::onnx::NodeProto& node) const {
        if (node.input_size() == 0 || node.input(0) != current_)
            fail(node, "reads '" + (node.input_size() == 0 ? std::string() : node.input(0)) + "', not '" + current_ +
                           "' (the output of " + (last_ != nullptr ? label_with_op(*last_) : "the graph input") +
                           "): ctnn reads a chain of layers, whose only join is a residual block's Add");
    }

    // ---- a node's inputs and attributes ----

    bool has_input(const ::onnx::NodeProto& node, int index) const {
        return node.input_size() > index && !node.input(index).empty();
    }
    const ::onnx::TensorProto& constant(const ::onnx::NodeProto& node, int index, std::string_view role) const {
        if (!has_input(node, index))
            fail(node, "has no " + std::string(role) + " (input " + std::to_string(index) + ")");
        const auto found = constants_.find(node.input(index));
        if (found == constants_.end())
            fail(node, "its " + std::string(role) + " '" + node.input(index) +
                           "' is not an initializer or a constant: ctnn reads a layer's tensors from the file");
        return *found->second;
    }
    TorchTensor float_input(const ::onnx::NodeProto& node, int index, std::string_view role) const {
        return detail::float_tensor(file_, file_size_, constant(node, index, role), node.input(index));
    }
    std::vector<std::int64_t> integer_input(const ::onnx::NodeProto& node, int index, std::string_view role) const {
        return detail::integer_tensor(file_, file_size_, constant(node, index, role), node.input(index));
    }
    // The input at `index` when it is a constant (null when absent or computed).
    const ::onnx::TensorProto* constant_or_null(const ::onnx::NodeProto& node, int index) const {
        if (!has_input(node, index)) return nullptr;
        const auto found = constants_.find(node.input(index));
        return found == constants_.end() ? nullptr : found->second;
    }
    std::uint64_t file_size() const noexcept { return file_size_; }

    static const ::onnx::AttributeProto* find_attribute(const ::onnx::NodeProto& node, std::string_view name) {
        for (const auto& a : node.attribute())
            if (a.name() == name) return &a;
        return nullptr;
    }
    std::int64_t int_attribute(const ::onnx::NodeProto& node, std::string_view name, std::int64_t fallback) const {
        const ::onnx::AttributeProto* a = find_attribute(node, name);
        if (a == nullptr) return fallback;
        if (a->type() != ::onnx::AttributeProto::INT)
            fail(node, "attribute " + std::string(name) + " is not an integer");
        return a->i();
    }
    float float_attribute(const ::onnx::NodeProto& node, std::string_view name, float fallback) const {
        const ::onnx::AttributeProto* a = find_attribute(node, name);
        if (a == nullptr) return fallback;
        if (a->type() != ::onnx::AttributeProto::FLOAT)
            fail(node, "attribute " + std::string(name) + " is not a float");
        return a->f();
    }
    std::string string_attribute(const ::onnx::NodeProto& node, std::string_view name, std::string fallback) const {
        const ::onnx::AttributeProto* a = find_attribute(node, name);
        if (a == nullptr) return fallback;
        if (a->type() != ::onnx::AttributeProto::STRING)
            fail(node, "attribute " + std::string(name) + " is not a string");
        return a->s();
    }
    std::vector<std::int64_t> ints_attribute(const ::onnx::NodeProto& node, std::string_view name,
                                             std::vector<std::int64_t> fallback) const {
        const ::onnx::AttributeProto* a = find_attribute(node, name);
        if (a == nullptr) return fallback;
        if (a->type() != ::onnx::AttributeProto::INTS)
            fail(node, "attribute " + std::string(name) + " is not a list of integers");
        return {a->ints().begin(), a->ints().end()};
    }
    // A list attribute of exactly `size` entries (strides, pads, ...).
    std::vector<std::int64_t> ints_attribute(const ::onnx::NodeProto& node, std::string_view name,
                                             std::vector<std::int64_t> fallback, std::size_t size) const {
        auto values = ints_attribute(node, name, std::move(fallback));
        if (values.size() != size)
            fail(node, "attribute " + std::string(name) + " has " + std::to_string(values.size()) + " entries, a 2-D " +
                           node.op_type() + " has " + std::to_string(size));
        return values;
    }

private:
    static bool is_default_domain(const ::onnx::NodeProto& node) {
        return node.domain().empty() || node.domain() == "ai.onnx";
    }
    // Identity, and a Pad by zero on every side, of the chain's tensor.
    bool passes_through(const ::onnx::NodeProto& node) const {
        if (!is_default_domain(node) || node.input_size() == 0 || node.input(0) != current_) return false;
        if (node.op_type() == "Identity") return true;
        if (node.op_type() != "Pad") return false;
        std::vector<std::int64_t> pads;
        if (const ::onnx::AttributeProto* a = find_attribute(node, "pads"))  // opset < 11
            pads.assign(a->ints().begin(), a->ints().end());
        else if (const ::onnx::TensorProto* t = constant_or_null(node, 1))
            pads = detail::integer_tensor(file_, file_size_, *t, node.input(1));
        else
            return false;
        return !pads.empty() && std::all_of(pads.begin(), pads.end(), [](std::int64_t p) { return p == 0; });
    }

    std::filesystem::path file_;
    std::uint64_t file_size_;
    std::int64_t opset_;
    const ::onnx::GraphProto* graph_;
    std::unordered_map<std::string, const ::onnx::TensorProto*> constants_;
    std::vector<const ::onnx::NodeProto*> nodes_;
    const ::onnx::ValueInfoProto* input_ = nullptr;
    std::string output_;
    std::size_t next_ = 0;
    std::string current_;
    std::string previous_op_;
    const ::onnx::NodeProto* last_ = nullptr;
};

namespace detail {

// Reads the layers of a chain (a Sequential's, or a Residual's inner one) in order; positions prefix + index.
template <class Chain, class... Specs>
void read_onnx_chain(OnnxGraphReader& graph, const std::string& prefix, OnnxTensors& out) {
    [&]<std::size_t... I>(std::index_sequence<I...>) {
        (onnx_convention<Specs>::template read<typename Chain::template layer_type<I>>(
             graph, OnnxLayer{prefix + std::to_string(I), Chain::template layer_type<I>::name()}, out),
         ...);
    }
    (std::index_sequence_for<Specs...>{});
}

// The graph input against the network's Input: [N, C, H, W] for an image (PyTorch's layout), [N, F...]
// otherwise. Dims the file leaves symbolic are not checked.
template <ShapeType InputShape>
void check_onnx_input(const OnnxGraphReader& graph) {
    const ::onnx::ValueInfoProto& input = graph.input();
    const std::string field = "graph input '" + input.name() + "'";
    if (!input.type().has_tensor_type()) return;
    const auto& tensor = input.type().tensor_type();
    if (tensor.elem_type() != ::onnx::TensorProto::UNDEFINED && tensor.elem_type() != ::onnx::TensorProto::FLOAT)
        throw format_error(graph.file(), field,
                           "element type " + std::to_string(tensor.elem_type()) + ", ctnn networks take float32");
    if (!tensor.has_shape()) return;
    std::vector<std::size_t> expected(InputShape::dims.begin(), InputShape::dims.end());
    if (InputShape::rank == 3) expected = {InputShape::dims[2], InputShape::dims[0], InputShape::dims[1]};
    const auto& dims = tensor.shape().dim();
    bool agrees = static_cast<std::size_t>(dims.size()) == expected.size() + 1;
    std::string found;
    for (int i = 0; i < dims.size(); ++i) {
        if (i != 0) found += 'x';  // appended separately: g++ 12 -O3 warns falsely (-Wrestrict) on "x" + str
        found += dims[i].has_dim_value() ? std::to_string(dims[i].dim_value()) : std::string("?");
        if (agrees && i > 0 && dims[i].has_dim_value() &&
            dims[i].dim_value() != static_cast<std::int64_t>(expected[static_cast<std::size_t>(i - 1)]))
            agrees = false;
    }
    if (!agrees)
        throw format_error(graph.file(), field,
                           "is " + found + (InputShape::rank == 3 ? " (N x C x H x W)" : "") +
                               " but the network's Input is " + InputShape::name() +
                               (InputShape::rank == 3 ? " (H x W x C)" : ""));
}

// A Flatten, or a Reshape to [N,-1] or [N,features], of the chain's tensor: `node` already matched by op.
inline void check_flattens(const OnnxGraphReader& graph, const ::onnx::NodeProto& node, const OnnxLayer& layer,
                           std::size_t features) {
    if (node.op_type() == "Flatten") {
        const std::int64_t axis = graph.int_attribute(node, "axis", 1);
        if (axis != 1)
            graph.fail(node, "flattens from axis " + std::to_string(axis) + " but " + layer.is() +
                                 ", which keeps the batch axis only (axis 1)");
        return;
    }
    if (node.op_type() == "Squeeze") {
        std::vector<std::int64_t> axes = graph.ints_attribute(node, "axes", {});  // opset < 13
        if (graph.has_input(node, 1)) axes = graph.integer_input(node, 1, "axes");
        std::sort(axes.begin(), axes.end());
        if (axes != std::vector<std::int64_t>{2, 3} && axes != std::vector<std::int64_t>{-2, -1})
            graph.fail(node, "squeezes axes " + join_ints(axes, ',') + " but " + layer.is() +
                                 ", whose output is [N, features] (axes 2,3 squeezed)");
        return;
    }
    const std::vector<std::int64_t> shape = graph.integer_input(node, 1, "target shape");
    const auto f = static_cast<std::int64_t>(features);
    const bool flat = shape.size() == 2 && (shape[1] == f || (shape[1] == -1 && shape[0] != -1));
    if (!flat)
        graph.fail(node, "reshapes to [" + join_ints(shape, ',') + "] but " + layer.is() + ", whose output is [N, " +
                             std::to_string(features) + "]");
}

// The common part of MaxPool and AveragePool: window, strides, no padding, the same output size.
template <class Bound, std::size_t K, std::size_t Stride>
void check_pool(const OnnxGraphReader& graph, const ::onnx::NodeProto& node, const OnnxLayer& layer) {
    const auto k = static_cast<std::int64_t>(K);
    const auto s = static_cast<std::int64_t>(Stride);
    const auto kernel = graph.ints_attribute(node, "kernel_shape", {}, 2);
    if (kernel != std::vector<std::int64_t>{k, k})
        graph.fail(node, "has window " + join_ints(kernel, 'x') + " but " + layer.is() + " (window " +
                             std::to_string(K) + "x" + std::to_string(K) + ")");
    const auto strides = graph.ints_attribute(node, "strides", {1, 1}, 2);
    if (strides != std::vector<std::int64_t>{s, s})
        graph.fail(node, "has strides " + join_ints(strides, 'x') + " but " + layer.is() + " (stride " +
                             std::to_string(Stride) + ")");
    const auto dilations = graph.ints_attribute(node, "dilations", {1, 1}, 2);
    if (dilations != std::vector<std::int64_t>{1, 1})
        graph.fail(node, "has dilations " + join_ints(dilations, 'x') + " but " + layer.is() + ", which has none");
    const std::string auto_pad = graph.string_attribute(node, "auto_pad", "NOTSET");
    const auto pads = graph.ints_attribute(node, "pads", {0, 0, 0, 0}, 4);
    if ((auto_pad != "NOTSET" && auto_pad != "VALID") ||
        std::any_of(pads.begin(), pads.end(), [](std::int64_t p) { return p != 0; }))
        graph.fail(node, "pads " + (auto_pad != "NOTSET" ? auto_pad : join_ints(pads, ',')) + " but " + layer.is() +
                             ", which does not pad");
    if (graph.int_attribute(node, "ceil_mode", 0) != 0) {
        // Rounding the output size up adds a window only where (size - K) is not a multiple of the stride.
        const auto rounds_up = [&](std::size_t in) { return in >= K && (in - K) % Stride != 0; };
        if (rounds_up(Bound::input_shape::dims[0]) || rounds_up(Bound::input_shape::dims[1]))
            graph.fail(node, "rounds its output size up (ceil_mode 1) but " + layer.is() + ", which rounds down (" +
                                 Bound::output_shape::name() + ")");
    }
}

// The running variance v for which BatchNorm's inference scale 1 / sqrt(v + epsilon) (computed in double,
// rounded to float) is exactly 1: v = 1 - epsilon rounded to float is within half an ulp of it, which the square
// root halves; its neighbours are tried in case the rounding lands on the wrong side.
inline float identity_running_var(double epsilon) {
    const float guess = static_cast<float>(1.0 - epsilon);
    for (const float v : {guess, std::nextafter(guess, 2.0f), std::nextafter(guess, 0.0f)})
        if (static_cast<float>(1.0 / std::sqrt(static_cast<double>(v) + epsilon)) == 1.0f) return v;
    return guess;  // not reached for any epsilon below 1; the tests check the identity numerically
}

inline bool epsilons_agree(double found, double expected) {
    return std::abs(found - expected) <= onnx_epsilon_tolerance * expected;
}

}  // namespace detail

// ---- one convention per layer type ---------------------------------------------------------------------------

template <std::size_t KH, std::size_t KW, std::size_t Cin, std::size_t Cout, std::size_t Stride, Padding Pad>
struct onnx_convention<Conv2D<KH, KW, Cin, Cout, Stride, Pad>> {
    template <class Bound>
    static void read(OnnxGraphReader& graph, const OnnxLayer& layer, OnnxTensors& out) {
        const ::onnx::NodeProto& node = graph.expect(layer, {"Conv"}, "a Conv node");
        TorchTensor weight = graph.float_input(node, 1, "weights");
        if (weight.shape.size() != 4)
            graph.fail(node, "has weights of rank " + std::to_string(weight.shape.size()) + " but " + layer.is() +
                                 " (a 2-D convolution: [Cout, Cin, KH, KW])");
        const std::vector<std::int64_t> kernel{weight.shape[2], weight.shape[3]};
        if (graph.ints_attribute(node, "kernel_shape", kernel, 2) != kernel)
            graph.fail(node, "has kernel_shape " +
                                 detail::join_ints(graph.ints_attribute(node, "kernel_shape", {}), 'x') +
                                 " and weights " + detail::join_ints(weight.shape, 'x') + ", which disagree");
        if (kernel != std::vector<std::int64_t>{KH, KW})
            graph.fail(node, "has kernel " + detail::join_ints(kernel, 'x') + " but " + layer.is() + " (kernel " +
                                 std::to_string(KH) + "x" + std::to_string(KW) + ")");
        const std::int64_t group = graph.int_attribute(node, "group", 1);
        if (group != 1)
            graph.fail(node,
                       "has group " + std::to_string(group) + " but " + layer.is() + ", a full convolution (group 1)");
        if (weight.shape[0] != static_cast<std::int64_t>(Cout) || weight.shape[1] != static_cast<std::int64_t>(Cin))
            graph.fail(node, "maps " + std::to_string(weight.shape[1]) + " -> " + std::to_string(weight.shape[0]) +
                                 " channels but " + layer.is() + " (" + std::to_string(Cin) + " -> " +
                                 std::to_string(Cout) + " channels)");
        const auto s = static_cast<std::int64_t>(Stride);
        const auto strides = graph.ints_attribute(node, "strides", {1, 1}, 2);
        if (strides != std::vector<std::int64_t>{s, s})
            graph.fail(node, "has strides " + detail::join_ints(strides, 'x') + " but " + layer.is() + " (stride " +
                                 std::to_string(Stride) + ")");
        const auto dilations = graph.ints_attribute(node, "dilations", {1, 1}, 2);
        if (dilations != std::vector<std::int64_t>{1, 1})
            graph.fail(node, "has dilations " + detail::join_ints(dilations, 'x') + " but " + layer.is() +
                                 ", which has none (dilation 1)");
        check_padding<Bound>(graph, node, layer);

        TorchTensor bias;
        if (graph.has_input(node, 2)) {
            bias = graph.float_input(node, 2, "bias");
            if (bias.shape != std::vector<std::int64_t>{Cout})
                graph.fail(node, "has a bias of " + detail::join_ints(bias.shape, 'x') + " values but " + layer.is() +
                                     " (" + std::to_string(Cout) + ")");
        } else {
            bias = {{Cout}, std::vector<float>(Cout, 0.0f)};
            out.report.zero_biases.push_back(layer.path);
        }
        out.add(layer, "weight", std::move(weight));
        out.add(layer, "bias", std::move(bias));
        graph.consume(node);
    }

private:
    // ONNX pads (top, left, bottom, right) or auto_pad against ctnn's geometry: the same top and left padding
    // and the same output size compute the same thing (padding beyond the last window is never read).
    template <class Bound>
    static void check_padding(const OnnxGraphReader& graph, const ::onnx::NodeProto& node, const OnnxLayer& layer) {
        const std::int64_t in[2] = {static_cast<std::int64_t>(Bound::input_shape::dims[0]),
                                    static_cast<std::int64_t>(Bound::input_shape::dims[1])};
        const std::int64_t k[2] = {KH, KW};
        const auto s = static_cast<std::int64_t>(Stride);
        std::vector<std::int64_t> pads = graph.ints_attribute(node, "pads", {0, 0, 0, 0}, 4);
        const std::string auto_pad = graph.string_attribute(node, "auto_pad", "NOTSET");
        std::string described = "pads " + detail::join_ints(pads, ',');
        if (auto_pad == "VALID") {
            pads = {0, 0, 0, 0};
            described = "auto_pad VALID";
        } else if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
            for (int axis = 0; axis < 2; ++axis) {
                const std::int64_t total = std::max<std::int64_t>(
                    0, ((in[axis] + s - 1) / s - 1) * s + k[axis] - in[axis]);
                const std::int64_t before = auto_pad == "SAME_UPPER" ? total / 2 : total - total / 2;
                pads[static_cast<std::size_t>(axis)] = before;
                pads[static_cast<std::size_t>(axis) + 2] = total - before;
            }
            described = "auto_pad " + auto_pad;
        } else if (auto_pad != "NOTSET") {
            graph.fail(node, "has auto_pad " + auto_pad + ", which ONNX does not define");
        }
        if (std::any_of(pads.begin(), pads.end(), [](std::int64_t p) { return p < 0; }))
            graph.fail(node, "has negative pads " + detail::join_ints(pads, ','));
        std::int64_t onnx_out[2];
        for (int axis = 0; axis < 2; ++axis) {
            const std::int64_t padded = in[axis] + pads[static_cast<std::size_t>(axis)] +
                                        pads[static_cast<std::size_t>(axis) + 2];
            onnx_out[axis] = padded >= k[axis] ? (padded - k[axis]) / s + 1 : 0;
        }
        const bool same = pads[0] == static_cast<std::int64_t>(Bound::geometry.pad_top) &&
                          pads[1] == static_cast<std::int64_t>(Bound::geometry.pad_left) &&
                          onnx_out[0] == static_cast<std::int64_t>(Bound::out_height) &&
                          onnx_out[1] == static_cast<std::int64_t>(Bound::out_width);
        if (!same)
            graph.fail(node, "has " + described + " (top, left, bottom, right), giving " + std::to_string(onnx_out[0]) +
                                 "x" + std::to_string(onnx_out[1]) + " outputs, but " + layer.is() + " (" +
                                 (Pad == Padding::same ? "same" : "valid") + " padding: top " +
                                 std::to_string(Bound::geometry.pad_top) + ", left " +
                                 std::to_string(Bound::geometry.pad_left) + ", " + std::to_string(Bound::out_height) +
                                 "x" + std::to_string(Bound::out_width) + " outputs)");
    }
};

template <std::size_t In, std::size_t Out>
struct onnx_convention<Dense<In, Out>> {
    template <class Bound>
    static void read(OnnxGraphReader& graph, const OnnxLayer& layer, OnnxTensors& out) {
        const ::onnx::NodeProto& node = graph.expect(layer, {"Gemm", "MatMul"}, "a Gemm or MatMul node");
        TorchTensor weight = graph.float_input(node, 1, "weights");
        if (weight.shape.size() != 2)
            graph.fail(node, "has weights of rank " + std::to_string(weight.shape.size()) + " but " + layer.is() +
                                 " (weights of rank 2)");
        const bool gemm = node.op_type() == "Gemm";
        if (gemm) {
            const std::int64_t trans_a = graph.int_attribute(node, "transA", 0);
            const std::int64_t trans_b = graph.int_attribute(node, "transB", 0);
            const float alpha = graph.float_attribute(node, "alpha", 1.0f);
            const float beta = graph.float_attribute(node, "beta", 1.0f);
            if (trans_a != 0 || trans_b != 1 || alpha != 1.0f || beta != 1.0f)
                graph.fail(node, "has transA " + std::to_string(trans_a) + ", transB " + std::to_string(trans_b) +
                                     ", alpha " + detail::format_number(alpha) + ", beta " +
                                     detail::format_number(beta) + " but " + layer.is() +
                                     ", read as nn.Linear exports it: transA 0, transB 1, alpha 1, beta 1");
        } else {
            weight = transposed(weight);  // MatMul's [In, Out] to nn.Linear's [Out, In]
        }
        if (weight.shape != std::vector<std::int64_t>{Out, In})
            graph.fail(node, "is " + std::to_string(weight.shape[1]) + " -> " + std::to_string(weight.shape[0]) +
                                 " but " + layer.is());
        graph.consume(node);

        TorchTensor bias;
        bool has_bias = false;
        if (gemm && graph.has_input(node, 2)) {
            bias = graph.float_input(node, 2, "bias");
            has_bias = true;
            check_bias(graph, node, layer, bias);
        } else if (const ::onnx::NodeProto* add = gemm ? nullptr : graph.next_add_of_constant()) {
            bias = graph.float_input(*add, add->input(0) == graph.current() ? 1 : 0, "bias");
            has_bias = true;
            check_bias(graph, *add, layer, bias);
            graph.consume(*add);
        }
        if (!has_bias) {
            bias = {{Out}, std::vector<float>(Out, 0.0f)};
            out.report.zero_biases.push_back(layer.path);
        }
        out.add(layer, "weight", std::move(weight));
        out.add(layer, "bias", std::move(bias));
    }

private:
    static TorchTensor transposed(const TorchTensor& t) {
        const auto rows = static_cast<std::size_t>(t.shape[0]);
        const auto columns = static_cast<std::size_t>(t.shape[1]);
        TorchTensor out{{t.shape[1], t.shape[0]}, std::vector<float>(t.values.size())};
        for (std::size_t r = 0; r < rows; ++r)
            for (std::size_t c = 0; c < columns; ++c) out.values[c * rows + r] = t.values[r * columns + c];
        return out;
    }
    // [Out] or the broadcastable [1, Out], stored as [Out].
    static void check_bias(const OnnxGraphReader& graph, const ::onnx::NodeProto& node, const OnnxLayer& layer,
                           TorchTensor& bias) {
        if (bias.shape == std::vector<std::int64_t>{1, static_cast<std::int64_t>(Out)}) bias.shape = {Out};
        if (bias.shape != std::vector<std::int64_t>{Out})
            graph.fail(node, "has a bias of " + detail::join_ints(bias.shape, 'x') + " values but " + layer.is() +
                                 " (" + std::to_string(Out) + ")");
    }
};

template <class Momentum, class Epsilon>
struct onnx_convention<BatchNorm<Momentum, Epsilon>> {
    template <class Bound>
    static void read(OnnxGraphReader& graph, const OnnxLayer& layer, OnnxTensors& out) {
        constexpr std::size_t channels = Bound::channels;
        const double epsilon = BatchNorm<Momentum, Epsilon>::epsilon;
        const ::onnx::NodeProto* next = graph.peek();
        const bool folded = graph.previous_op() == "Conv" &&
                            (next == nullptr || next->op_type() != "BatchNormalization");
        if (folded) {
            out.add(layer, "weight", {{channels}, std::vector<float>(channels, 1.0f)});
            out.add(layer, "bias", {{channels}, std::vector<float>(channels, 0.0f)});
            out.add(layer, "running_mean", {{channels}, std::vector<float>(channels, 0.0f)});
            out.add(layer, "running_var",
                    {{channels}, std::vector<float>(channels, detail::identity_running_var(epsilon))});
            out.report.folded_batch_norms.push_back(layer.path);
            return;
        }
        const ::onnx::NodeProto& node = graph.expect(
            layer, {"BatchNormalization"},
            "a BatchNormalization node (PyTorch folds a BatchNorm only into a Conv directly before it)");
        if (graph.int_attribute(node, "training_mode", 0) != 0 ||
            (node.output_size() > 1 && std::any_of(node.output().begin() + 1, node.output().end(),
                                                    [](const std::string& o) { return !o.empty(); })))
            graph.fail(node, "normalises with batch statistics (training mode) but " + layer.is() +
                                 ", read for inference with its running statistics");
        const float found = graph.float_attribute(node, "epsilon", 1e-5f);
        if (!detail::epsilons_agree(found, epsilon))
            graph.fail(node, "has epsilon " + detail::format_number(found) + " but " + layer.is() + " (epsilon " +
                                 detail::format_number(epsilon) + ")");
        const char* const names[] = {"weight", "bias", "running_mean", "running_var"};
        const char* const roles[] = {"scale", "bias", "mean", "variance"};
        for (int i = 0; i < 4; ++i) {
            TorchTensor t = graph.float_input(node, i + 1, roles[i]);
            if (t.shape != std::vector<std::int64_t>{channels})
                graph.fail(node, "has a " + std::string(roles[i]) + " of " + detail::join_ints(t.shape, 'x') +
                                     " values but " + layer.is() + " over " + std::to_string(channels) + " channels");
            out.add(layer, names[i], std::move(t));
        }
        graph.consume(node);
    }
};

template <>
struct onnx_convention<ReLU> {
    template <class Bound>
    static void read(OnnxGraphReader& graph, const OnnxLayer& layer, OnnxTensors&) {
        graph.consume(graph.expect(layer, {"Relu"}, "a Relu node"));
    }
};

template <std::size_t K, std::size_t Stride>
struct onnx_convention<MaxPool2D<K, Stride>> {
    template <class Bound>
    static void read(OnnxGraphReader& graph, const OnnxLayer& layer, OnnxTensors&) {
        const ::onnx::NodeProto& node = graph.expect(layer, {"MaxPool"}, "a MaxPool node");
        detail::check_pool<Bound, K, Stride>(graph, node, layer);
        if (graph.int_attribute(node, "storage_order", 0) != 0 && node.output_size() > 1)
            graph.fail(node, "has storage_order 1 for its indices, which ctnn does not produce");
        graph.consume(node);
    }
};

template <std::size_t K, std::size_t Stride>
struct onnx_convention<AvgPool2D<K, Stride>> {
    template <class Bound>
    static void read(OnnxGraphReader& graph, const OnnxLayer& layer, OnnxTensors&) {
        const ::onnx::NodeProto& node = graph.expect(layer, {"AveragePool"}, "an AveragePool node");
        detail::check_pool<Bound, K, Stride>(graph, node, layer);  // no padding: count_include_pad cannot matter
        graph.consume(node);
    }
};

template <>
struct onnx_convention<GlobalAvgPool2D> {
    template <class Bound>
    static void read(OnnxGraphReader& graph, const OnnxLayer& layer, OnnxTensors&) {
        const ::onnx::NodeProto& node = graph.expect(layer, {"GlobalAveragePool", "ReduceMean"},
                                                     "a GlobalAveragePool node (or a ReduceMean over axes 2,3)");
        if (node.op_type() == "ReduceMean") {  // x.mean((2, 3)) in PyTorch
            std::vector<std::int64_t> axes = graph.ints_attribute(node, "axes", {});
            std::sort(axes.begin(), axes.end());
            if (axes != std::vector<std::int64_t>{2, 3} && axes != std::vector<std::int64_t>{-2, -1})
                graph.fail(node, "averages over axes " + detail::join_ints(axes, ',') + " but " + layer.is() +
                                     ", the mean over height and width (axes 2,3)");
        }
        graph.consume(node);
        // ONNX keeps [N, C, 1, 1] (unless keepdims is 0); ctnn's output is already Shape<C>.
        if (graph.next_is({"Flatten", "Reshape", "Squeeze"})) {
            const ::onnx::NodeProto& flatten = *graph.peek();
            detail::check_flattens(graph, flatten, layer, Bound::channels);
            graph.consume(flatten);
        }
    }
};

template <>
struct onnx_convention<Flatten> {
    template <class Bound>
    static void read(OnnxGraphReader& graph, const OnnxLayer& layer, OnnxTensors&) {
        // A flat input is flat already: the node is optional.
        if (Bound::input_shape::rank == 1 && !graph.next_is({"Flatten", "Reshape"})) return;
        const ::onnx::NodeProto& node = graph.expect(layer, {"Flatten", "Reshape"},
                                                     "a Flatten node (or a Reshape to [N, features])");
        detail::check_flattens(graph, node, layer, Bound::output_shape::size);
        graph.consume(node);
    }
};

template <>
struct onnx_convention<Softmax> {
    template <class Bound>
    static void read(OnnxGraphReader& graph, const OnnxLayer& layer, OnnxTensors&) {
        const ::onnx::NodeProto& node = graph.expect(layer, {"Softmax"}, "a Softmax node");
        const std::int64_t axis = graph.int_attribute(node, "axis", graph.opset() >= 13 ? -1 : 1);
        if (axis != 1 && axis != -1)
            graph.fail(node, "takes the softmax over axis " + std::to_string(axis) + " but " + layer.is() +
                                 ", over the features (axis 1)");
        graph.consume(node);
    }
};

template <class Rate>
struct onnx_convention<Dropout<Rate>> {
    template <class Bound>
    static void read(OnnxGraphReader& graph, const OnnxLayer& layer, OnnxTensors&) {
        if (!graph.next_is({"Dropout"})) return;  // an eval-mode export leaves it out
        const ::onnx::NodeProto& node = *graph.peek();
        float ratio = graph.float_attribute(node, "ratio", 0.5f);  // opset < 12
        if (graph.constant_or_null(node, 1) != nullptr) {
            const TorchTensor r = graph.float_input(node, 1, "ratio");
            if (r.values.size() != 1) graph.fail(node, "has a ratio of " + std::to_string(r.values.size()) + " values");
            ratio = r.values[0];
        }
        if (std::abs(ratio - Dropout<Rate>::rate) > 1e-6f)
            graph.fail(node, "has ratio " + detail::format_number(ratio) + " but " + layer.is() + " (rate " +
                                 detail::format_number(Dropout<Rate>::rate) + ")");
        graph.consume(node);
    }
};

template <class... Layers>
struct onnx_convention<Residual<Layers...>> {
    template <class Bound>
    static void read(OnnxGraphReader& graph, const OnnxLayer& layer, OnnxTensors& out) {
        const std::string block_input = graph.current();
        graph.enter_block();
        detail::read_onnx_chain<typename Bound::inner, Layers...>(graph, layer.path + ".", out);
        const std::string wanted = "the Add of the block's input '" + block_input + "' and its last output '" +
                                   graph.current() + "'";
        const ::onnx::NodeProto& add = graph.next(layer, wanted);
        const bool closes = add.op_type() == "Add" && add.input_size() == 2 &&
                            ((add.input(0) == block_input && add.input(1) == graph.current()) ||
                             (add.input(1) == block_input && add.input(0) == graph.current()));
        if (!closes) {
            std::string found = "op " + add.op_type();
            if (add.op_type() == "Add")
                for (int i = 0; i < add.input_size(); ++i) found += (i == 0 ? " of '" : "' and '") + add.input(i);
            if (add.op_type() == "Add" && add.input_size() > 0) found += "'";
            graph.fail(add, found + " is where " + layer.named() + " expects " + wanted);
        }
        graph.consume(add);
        graph.enter_block();
    }
};

// Replaces net's parameters and state with those of the ONNX graph in `file`, after checking every node against
// the network's layers (see the top of this header). Throws format_error naming the file and the field, the
// network then unchanged. The report says which BatchNorms were folded into their Conv and which biases were
// absent.
template <class InputSpec, class... Specs>
OnnxReport load_onnx(Sequential<InputSpec, Specs...>& net, const std::filesystem::path& file) {
    using Net = Sequential<InputSpec, Specs...>;
    const detail::OnnxModel model = detail::read_onnx_model(file);
    OnnxGraphReader graph(file, model.file_size, model.proto.graph(), model.opset);
    detail::check_onnx_input<typename Net::input_shape>(graph);

    OnnxTensors out;
    detail::read_onnx_chain<typename Net::chain, Specs...>(graph, "", out);
    using Last = typename Net::template layer_type<Net::layer_count - 1>;
    graph.finish(OnnxLayer{std::to_string(Net::layer_count - 1), Last::name()});

    load_state_dict(net, out.tensors, file);
    return out.report;
}

}  // namespace ctnn::io
