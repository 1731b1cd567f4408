#pragma once
// A network's tensors under PyTorch's names and in PyTorch's layouts (a "state dict"): the seam through which
// safetensors files (io/safetensors.hpp) and ONNX graphs (io/onnx.hpp) reach a ctnn network.
//
// Names are those of an nn.Sequential that mirrors the network layer for layer: ctnn layer i (the index
// visit_parameters reports; Input is not a layer) is module i, so Sequential<Input<28,28,1>, Flatten,
// Dense<784,128>, ReLU, Dense<128,10>> holds "1.weight", "1.bias", "3.weight", "3.bias". A Residual<...> at index
// i is a PyTorch nn.Sequential subclass whose forward returns x + body(x): its inner layer j's tensors are
// "i.j.weight", and blocks nest further ("i.j.k.weight"). scripts/pytorch/models.py holds such mirrors.
//
// Layouts, per layer, each declared by a specialisation of io::torch_convention<Spec> (below):
//   Dense<In,Out>   weights [In, Out]           Linear.weight [out, in], bias [out]
//   Conv2D          weights [KH, KW, Cin, Cout]  Conv2d.weight [Cout, Cin, KH, KW], bias [Cout]
//   BatchNorm       gamma, beta, running_mean, running_var [C]  weight, bias, running_mean, running_var [C]
//   Residual        its inner layers', prefixed by their index in the block
// ctnn images are NHWC and PyTorch's NCHW, so a Flatten of an H x W x C image orders its features H, W, C in
// ctnn and C, H, W in PyTorch: the Dense (or rank-1 BatchNorm) reading them gets its input rows permuted. The
// walk below tracks that order through the layer types (a FeatureOrder, passed on through parameter-free layers
// of unchanged shape such as ReLU and Dropout) and hands it to each layer's convention.
//
// BatchNorm's epsilon and momentum are not in a state dict: a network meant to match PyTorch's defaults
// (eps 1e-5, momentum 0.1) uses ctnn::TorchBatchNorm; BatchNorm<> has Keras' (1e-3, 0.99).
//
// load_state_dict checks every tensor (present, no unexpected ones, shapes, value counts) before it writes any,
// so a failed load leaves the network's parameters and state as they were. PyTorch's BatchNorm buffer
// num_batches_tracked has no ctnn counterpart and is ignored; PyTorch 1.13 fills it in itself when a state dict
// without it is loaded (strict=True included).

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <ratio>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "ctnn/io/error.hpp"
#include "ctnn/layers/batch_norm.hpp"
#include "ctnn/layers/conv2d.hpp"
#include "ctnn/layers/dense.hpp"
#include "ctnn/layers/flatten.hpp"
#include "ctnn/layers/layer.hpp"
#include "ctnn/layers/permute.hpp"
#include "ctnn/layers/residual.hpp"
#include "ctnn/network/sequential.hpp"

namespace ctnn {

// BatchNorm with PyTorch's defaults: eps 1e-5, momentum 0.1 of the batch (0.9 of the running value in ctnn's,
// Keras', convention). The BatchNorm of a network that is to load PyTorch weights and compute what PyTorch does.
using TorchBatchNorm = BatchNorm<std::ratio<9, 10>, std::ratio<1, 100000>>;

}  // namespace ctnn

namespace ctnn::io {

// One tensor in PyTorch's layout: shape as PyTorch reports it, values in C order.
struct TorchTensor {
    std::vector<std::int64_t> shape;
    std::vector<float> values;
};
// Tensor name ("3.weight") -> tensor.
using StateDict = std::map<std::string, TorchTensor, std::less<>>;

// A tensor a network expects, as PyTorch names and shapes it.
struct ExpectedTorchTensor {
    std::string name;                 // "4.weight", "1.running_mean", "2.0.weight" inside a Residual at index 2
    std::vector<std::int64_t> shape;  // PyTorch's: Linear [out, in], Conv2d [Cout, Cin, KH, KW], BatchNorm [C]
    std::size_t layer_index;          // the network's layer index, as visit_parameters reports it
    std::string layer_name;           // name() of the layer holding the tensor (the inner one, in a Residual)
    bool state;                       // running statistics (non-trainable)
};

struct StateDictOptions {
    std::map<std::string, std::string, std::less<>> rename;  // name in the file -> name this network expects
    bool allow_unexpected = false;                           // ignore tensors the network has no use for
};

// The order of a layer's flat input features relative to PyTorch's. Default (all zero): the same order. A
// flattened image: ctnn holds feature (h, w, c) at (h * width + w) * channels + c, PyTorch at
// c * height * width + h * width + w. Only images with several channels differ, so only those are recorded.
struct FeatureOrder {
    std::size_t height = 0, width = 0, channels = 0;

    constexpr bool is_flattened_image() const noexcept { return channels > 1; }
    // PyTorch's index of ctnn's feature k.
    constexpr std::size_t torch_index(std::size_t k) const noexcept {
        if (!is_flattened_image()) return k;
        return (k % channels) * height * width + k / channels;
    }
    friend constexpr bool operator==(const FeatureOrder&, const FeatureOrder&) = default;
};
inline constexpr FeatureOrder same_order{};

// One PyTorch tensor of a layer, as its convention declares it.
struct TorchTensorInfo {
    std::string name;                 // within the layer's module: "weight", "running_mean"
    std::vector<std::int64_t> shape;  // PyTorch's shape
    std::string layout;               // what PyTorch calls it, for messages: "Linear [out, in]"
    bool state = false;               // a buffer (running statistics), not a parameter
    std::string module = {};          // sub-module path within the layer ("0", "1.0" inside a Residual), or empty
    std::string layer_name = {};      // the layer holding it, when not the layer itself (a Residual's inner layers)
};

// io::torch_convention<Spec>: how layers made from Spec (Dense<784,128>, a user's layer) appear in PyTorch. The
// primary template serves layers without parameters or state (ReLU, pooling, Dropout, Softmax): no tensors, and
// their features keep PyTorch's relative order when their shape does not change. A layer with parameters or
// state must have a specialisation, else the network fails to compile with missing_torch_convention<Spec>. A
// specialisation provides, for the bound layer type Layer and the order Input of its input features:
//
//   template <class Layer, FeatureOrder Input> static std::vector<TorchTensorInfo> tensors();
//       its PyTorch tensors, in a fixed order;
//   template <class Layer, FeatureOrder Input>
//   static void to_torch(const Layer&, std::span<const std::span<float>> torch);
//       writes the layer's values into those tensors (torch[k] holds tensors()[k]'s elements, C order);
//   template <class Layer, FeatureOrder Input>
//   static void from_torch(Layer&, std::span<const std::span<const float>> torch);
//       the reverse; called only once every tensor has been checked, so it must not fail;
//   optional: template <class Layer, FeatureOrder Input> static constexpr FeatureOrder output_order();
//       the order of the layer's output features (default: same_order for a layer with tensors, Input for a
//       parameter-free one of unchanged shape, same_order otherwise).
//
// A user's layer specialises it next to the layer, in namespace ctnn::io (tests/test_state_dict.cpp has one).
template <class Spec>
struct torch_convention {};

// Named so that a layer with parameters but no convention prints itself:
// missing_torch_convention<user::ChannelScale>. Always false.
template <class Spec>
struct missing_torch_convention : std::false_type {};

namespace detail {

template <class Spec, class Layer, FeatureOrder Input>
concept HasTorchTensors = requires {
    torch_convention<Spec>::template tensors<Layer, Input>();
};

template <class Spec, class Layer, FeatureOrder Input>
std::vector<TorchTensorInfo> torch_tensors_of() {
    if constexpr (HasTorchTensors<Spec, Layer, Input>) {
        return torch_convention<Spec>::template tensors<Layer, Input>();
    } else {
        static_assert((Layer::parameter_count == 0 && Layer::state_count == 0) || missing_torch_convention<Spec>::value,
                      "this layer has parameters or state but no PyTorch convention: specialise "
                      "ctnn::io::torch_convention for its spec (see io/state_dict.hpp)");
        return {};
    }
}

template <class Spec, class Layer, FeatureOrder Input>
constexpr FeatureOrder torch_output_order() {
    using Convention = torch_convention<Spec>;
    if constexpr (requires { Convention::template output_order<Layer, Input>(); })
        return Convention::template output_order<Layer, Input>();
    else if constexpr (HasTorchTensors<Spec, Layer, Input>)
        return same_order;
    else if constexpr (std::is_same_v<typename Layer::input_shape, typename Layer::output_shape>)
        return Input;
    else
        return same_order;
}

// The PyTorch view of a LayerChain built from Specs..., its input features in order Input: tensors named
// "<layer>.<name>", and the conversions, layer by layer. Sequential and Residual are both walked with it.
template <class Chain, FeatureOrder Input, class... Specs>
struct TorchChain {
    static constexpr std::size_t layer_count = sizeof...(Specs);
    static_assert(layer_count == Chain::layer_count);
    template <std::size_t I>
    using spec = std::tuple_element_t<I, std::tuple<Specs...>>;
    template <std::size_t I>
    using layer = typename Chain::template layer_type<I>;

    // The order of layer I's input features (I == layer_count: the chain's output).
    template <std::size_t I>
    static constexpr FeatureOrder order_before() {
        if constexpr (I == 0)
            return Input;
        else
            return torch_output_order<spec<I - 1>, layer<I - 1>, order_before<I - 1>()>();
    }
    template <std::size_t I>
    static constexpr FeatureOrder order = order_before<I>();
    static constexpr FeatureOrder output_order = order<layer_count>;

    template <class F>
    static void for_each_layer(F&& f) {
        [&]<std::size_t... I>(std::index_sequence<I...>) { (f(std::integral_constant<std::size_t, I>{}), ...); }
        (std::make_index_sequence<layer_count>{});
    }

    // How many tensors each layer has, computed once: the conversions below need the counts while a load
    // commits, where nothing may fail (for_each_tensor, which every load runs first, computes them).
    static const std::array<std::size_t, layer_count>& tensor_counts() {
        static const std::array<std::size_t, layer_count> counts = [] {
            std::array<std::size_t, layer_count> c{};
            for_each_layer([&](auto i) {
                constexpr std::size_t I = decltype(i)::value;
                c[I] = torch_tensors_of<spec<I>, layer<I>, order<I>>().size();
            });
            return c;
        }();
        return counts;
    }

    // f(layer index, TorchTensorInfo) per tensor, in order, module paths starting with the layer index.
    template <class F>
    static void for_each_tensor(F&& f) {
        (void)tensor_counts();
        for_each_layer([&](auto i) {
            constexpr std::size_t I = decltype(i)::value;
            for (TorchTensorInfo& t : torch_tensors_of<spec<I>, layer<I>, order<I>>()) {
                t.module = t.module.empty() ? std::to_string(I) : std::to_string(I) + "." + t.module;
                if (t.layer_name.empty()) t.layer_name = layer<I>::name();
                f(I, std::move(t));
            }
        });
    }

    // layer_at(integral_constant<I>) gives layer I; torch holds the chain's tensors in for_each_tensor order.
    template <class LayerAt>
    static void to_torch(LayerAt&& layer_at, std::span<const std::span<float>> torch) {
        std::size_t next = 0;
        for_each_layer([&](auto i) {
            constexpr std::size_t I = decltype(i)::value;
            if constexpr (HasTorchTensors<spec<I>, layer<I>, order<I>>) {
                const std::size_t count = tensor_counts()[I];
                torch_convention<spec<I>>::template to_torch<layer<I>, order<I>>(layer_at(i),
                                                                                 torch.subspan(next, count));
                next += count;
            }
        });
    }
    template <class LayerAt>
    static void from_torch(LayerAt&& layer_at, std::span<const std::span<const float>> torch) {
        std::size_t next = 0;
        for_each_layer([&](auto i) {
            constexpr std::size_t I = decltype(i)::value;
            if constexpr (HasTorchTensors<spec<I>, layer<I>, order<I>>) {
                const std::size_t count = tensor_counts()[I];
                torch_convention<spec<I>>::template from_torch<layer<I>, order<I>>(layer_at(i),
                                                                                   torch.subspan(next, count));
                next += count;
            }
        });
    }
};

template <class Net>
struct TorchNetwork;
template <class InputSpec, class... Specs>
struct TorchNetwork<Sequential<InputSpec, Specs...>> {
    using chain = TorchChain<typename Sequential<InputSpec, Specs...>::chain, same_order, Specs...>;
};

// What load_state_dict checks a tensor against, with what its messages say about it.
struct ExpectedSlot {
    ExpectedTorchTensor tensor;
    std::string layout;
    std::string module;
};

template <class Net>
std::vector<ExpectedSlot> expected_slots() {
    std::vector<ExpectedSlot> slots;
    TorchNetwork<Net>::chain::for_each_tensor([&](std::size_t layer_index, TorchTensorInfo t) {
        ExpectedTorchTensor tensor{t.module + "." + t.name, std::move(t.shape), layer_index, std::move(t.layer_name),
                                   t.state};
        slots.push_back({std::move(tensor), std::move(t.layout), std::move(t.module)});
    });
    return slots;
}

inline std::string describe_shape(std::span<const std::int64_t> shape) {
    if (shape.empty()) return "scalar";
    std::string text;
    for (std::size_t k = 0; k < shape.size(); ++k) {
        if (k != 0) text += 'x';
        text += std::to_string(shape[k]);
    }
    return text;
}

// "PyTorch Linear [out, in] of layer 4 Dense<5408,128>"
inline std::string describe_slot(const ExpectedSlot& slot) {
    return "PyTorch " + slot.layout + " of layer " + slot.module + " " + slot.tensor.layer_name;
}

// "1.weight, 1.bias, ..." cut short for large dictionaries.
template <class Names>
std::string list_names(const Names& names) {
    constexpr std::size_t shown = 12;
    std::string text;
    std::size_t count = 0;
    for (const auto& name : names) {
        if (count < shown) text += (count ? ", " : "") + std::string(name);
        ++count;
    }
    if (count == 0) return "no tensors";
    if (count > shown) text += ", ... (" + std::to_string(count - shown) + " more)";
    return text;
}

// PyTorch's BatchNorm counter, which ctnn has no use for.
inline bool ignored_torch_tensor(std::string_view name) noexcept {
    constexpr std::string_view counter = "num_batches_tracked";
    return name == counter ||
           (name.size() > counter.size() && name.ends_with(counter) && name[name.size() - counter.size() - 1] == '.');
}

// The product of a shape's dimensions; 0 for a negative dimension (a hand-made TorchTensor: rejected anyway).
inline std::size_t element_count(std::span<const std::int64_t> shape) noexcept {
    std::size_t count = 1;
    for (std::int64_t d : shape) count *= d < 0 ? 0 : static_cast<std::size_t>(d);
    return count;
}

}  // namespace detail

// ---- the conventions of ctnn's layers ----

template <std::size_t In, std::size_t Out>
struct torch_convention<Dense<In, Out>> {
    // PyTorch's Linear.weight is W transposed; the rows of ctnn's W follow the input order.
    template <class Layer, FeatureOrder Input>
    static std::vector<TorchTensorInfo> tensors() {
        return {{"weight", {std::int64_t{Out}, std::int64_t{In}}, "Linear [out, in]"},
                {"bias", {std::int64_t{Out}}, "Linear [out]"}};
    }
    template <class Layer, FeatureOrder Input>
    static void to_torch(const Layer& layer, std::span<const std::span<float>> torch) {
        const float* w = layer.weights.data();
        float* t = torch[0].data();
        for (std::size_t i = 0; i < In; ++i) {
            const std::size_t j = Input.torch_index(i);
            for (std::size_t o = 0; o < Out; ++o) t[o * In + j] = w[i * Out + o];
        }
        std::copy_n(layer.bias.data(), Out, torch[1].data());
    }
    template <class Layer, FeatureOrder Input>
    static void from_torch(Layer& layer, std::span<const std::span<const float>> torch) {
        float* w = layer.weights.data();
        const float* t = torch[0].data();
        for (std::size_t i = 0; i < In; ++i) {
            const std::size_t j = Input.torch_index(i);
            for (std::size_t o = 0; o < Out; ++o) w[i * Out + o] = t[o * In + j];
        }
        std::copy_n(torch[1].data(), Out, layer.bias.data());
    }
};

template <std::size_t KH, std::size_t KW, std::size_t Cin, std::size_t Cout, std::size_t Stride, Padding Pad>
struct torch_convention<Conv2D<KH, KW, Cin, Cout, Stride, Pad>> {
    // ctnn's weights are HWIO ([KH, KW, Cin, Cout], conv2d.hpp), PyTorch's OIHW.
    template <class Layer, FeatureOrder Input>
    static std::vector<TorchTensorInfo> tensors() {
        return {{"weight",
                 {std::int64_t{Cout}, std::int64_t{Cin}, std::int64_t{KH}, std::int64_t{KW}},
                 "Conv2d [Cout, Cin, KH, KW]"},
                {"bias", {std::int64_t{Cout}}, "Conv2d [Cout]"}};
    }
    template <class Layer, FeatureOrder Input>
    static void to_torch(const Layer& layer, std::span<const std::span<float>> torch) {
        const float* w = layer.weights.data();
        float* t = torch[0].data();
        for (std::size_t kh = 0; kh < KH; ++kh)
            for (std::size_t kw = 0; kw < KW; ++kw)
                for (std::size_t ci = 0; ci < Cin; ++ci)
                    for (std::size_t co = 0; co < Cout; ++co)
                        t[((co * Cin + ci) * KH + kh) * KW + kw] = w[((kh * KW + kw) * Cin + ci) * Cout + co];
        std::copy_n(layer.bias.data(), Cout, torch[1].data());
    }
    template <class Layer, FeatureOrder Input>
    static void from_torch(Layer& layer, std::span<const std::span<const float>> torch) {
        float* w = layer.weights.data();
        const float* t = torch[0].data();
        for (std::size_t kh = 0; kh < KH; ++kh)
            for (std::size_t kw = 0; kw < KW; ++kw)
                for (std::size_t ci = 0; ci < Cin; ++ci)
                    for (std::size_t co = 0; co < Cout; ++co)
                        w[((kh * KW + kw) * Cin + ci) * Cout + co] = t[((co * Cin + ci) * KH + kh) * KW + kw];
        std::copy_n(torch[1].data(), Cout, layer.bias.data());
    }
};

template <class Momentum, class Epsilon>
struct torch_convention<BatchNorm<Momentum, Epsilon>> {
    // One value per channel; over flattened image features (BatchNorm1d after a Flatten) in the input's order.
    template <class Layer, FeatureOrder Input>
    static std::vector<TorchTensorInfo> tensors() {
        const std::vector<std::int64_t> shape{std::int64_t{Layer::channels}};
        return {{"weight", shape, "BatchNorm weight [C]"},
                {"bias", shape, "BatchNorm bias [C]"},
                {"running_mean", shape, "BatchNorm running_mean [C]", true},
                {"running_var", shape, "BatchNorm running_var [C]", true}};
    }
    template <class Layer, FeatureOrder Input>
    static void to_torch(const Layer& layer, std::span<const std::span<float>> torch) {
        const float* ours[] = {layer.gamma.data(), layer.beta.data(), layer.running_mean.data(),
                               layer.running_var.data()};
        for (std::size_t k = 0; k < 4; ++k)
            for (std::size_t c = 0; c < Layer::channels; ++c) torch[k][Input.torch_index(c)] = ours[k][c];
    }
    template <class Layer, FeatureOrder Input>
    static void from_torch(Layer& layer, std::span<const std::span<const float>> torch) {
        float* ours[] = {layer.gamma.data(), layer.beta.data(), layer.running_mean.data(), layer.running_var.data()};
        for (std::size_t k = 0; k < 4; ++k)
            for (std::size_t c = 0; c < Layer::channels; ++c) ours[k][c] = torch[k][Input.torch_index(c)];
    }
    // Per feature: the order passes through.
    template <class Layer, FeatureOrder Input>
    static constexpr FeatureOrder output_order() {
        return Input;
    }
};

template <class... Layers>
struct torch_convention<Residual<Layers...>> {
    template <class Layer, FeatureOrder Input>
    using inner = detail::TorchChain<typename Layer::inner, Input, Layers...>;

    template <class Layer, FeatureOrder Input>
    static std::vector<TorchTensorInfo> tensors() {
        // The shortcut adds x to f(x) feature by feature: both would have to be permuted alike, inside and out.
        static_assert(!Input.is_flattened_image(),
                      "a Residual over features flattened from a multi-channel image has no PyTorch mapping here: "
                      "PyTorch orders those features (C, H, W), ctnn (H, W, C)");
        std::vector<TorchTensorInfo> tensors;
        inner<Layer, Input>::for_each_tensor([&](std::size_t, TorchTensorInfo t) { tensors.push_back(std::move(t)); });
        return tensors;
    }
    template <class Layer, FeatureOrder Input>
    static void to_torch(const Layer& layer, std::span<const std::span<float>> torch) {
        inner<Layer, Input>::to_torch(
            [&](auto i) -> const auto& { return std::get<decltype(i)::value>(layer.layers); }, torch);
    }
    template <class Layer, FeatureOrder Input>
    static void from_torch(Layer& layer, std::span<const std::span<const float>> torch) {
        inner<Layer, Input>::from_torch(
            [&](auto i) -> auto& { return std::get<decltype(i)::value>(layer.layers); }, torch);
    }
};

template <>
struct torch_convention<Flatten> {
    // Where the order starts to differ: PyTorch flattens an NCHW image C, H, W; ctnn its NHWC image H, W, C.
    template <class Layer, FeatureOrder Input>
    static constexpr FeatureOrder output_order() {
        using In = typename Layer::input_shape;
        if constexpr (In::rank == 3) {
            constexpr FeatureOrder image{In::dims[0], In::dims[1], In::dims[2]};
            return image.is_flattened_image() ? image : same_order;
        } else if constexpr (In::rank == 1) {
            return Input;
        } else {
            return same_order;
        }
    }
};

template <const auto& Perm>
struct torch_convention<Permute<Perm>> {
    template <class Layer, FeatureOrder Input>
    static constexpr FeatureOrder output_order() {
        static_assert(!Input.is_flattened_image(),
                      "Permute reorders features flattened from a multi-channel image, which PyTorch orders (C, H, W) "
                      "and ctnn (H, W, C): no PyTorch module mirrors it; permute before the Flatten");
        return same_order;
    }
};

// ---- the state dict of a network ----

// The tensors a Net expects, in visit order, under PyTorch's names and shapes.
template <class Net>
std::vector<ExpectedTorchTensor> expected_state_dict() {
    std::vector<ExpectedTorchTensor> tensors;
    for (detail::ExpectedSlot& slot : detail::expected_slots<Net>()) tensors.push_back(std::move(slot.tensor));
    return tensors;
}

// net's parameters and state in PyTorch's layout and names.
template <class Net>
StateDict state_dict(const Net& net) {
    StateDict out;
    std::vector<std::span<float>> values;
    for (detail::ExpectedSlot& slot : detail::expected_slots<Net>()) {
        TorchTensor& t = out[slot.tensor.name];
        t.values.resize(detail::element_count(slot.tensor.shape));
        t.shape = std::move(slot.tensor.shape);
        values.push_back(t.values);
    }
    detail::TorchNetwork<Net>::chain::to_torch(
        [&](auto i) -> const auto& { return net.template layer<decltype(i)::value>(); }, values);
    return out;
}

// Replaces net's parameters and state with `tensors` (PyTorch's names and layouts), after checking them all.
// Throws format_error(source, tensor name, problem) naming the layer and what differs; net is then unchanged.
template <class Net>
void load_state_dict(Net& net, const StateDict& tensors, const std::filesystem::path& source,
                     const StateDictOptions& options = {}) {
    const std::vector<detail::ExpectedSlot> slots = detail::expected_slots<Net>();

    // The name each tensor goes by once renamed.
    for (const auto& [from, to] : options.rename)
        if (!tensors.contains(from))
            throw format_error(source, from, "to be renamed \"" + to + "\", but there is no tensor of that name");
    std::map<std::string_view, std::string_view> file_name_of;  // name this network sees -> name in the file
    for (const auto& entry : tensors) {
        const std::string& name = entry.first;
        const auto renamed = options.rename.find(name);
        const std::string_view seen = renamed == options.rename.end() ? std::string_view(name) : renamed->second;
        const auto [where, inserted] = file_name_of.emplace(seen, name);
        if (!inserted)
            throw format_error(source, name,
                               "renamed \"" + std::string(seen) + "\", the name tensor \"" +
                                   std::string(where->second) + "\" also goes by");
    }
    const auto as_found = [&](std::string_view seen) {
        const std::string_view file_name = file_name_of.at(seen);
        return file_name == seen ? std::string(file_name)
                                 : std::string(file_name) + " (renamed " + std::string(seen) + ")";
    };

    std::vector<std::string_view> present;  // for messages
    for (const auto& entry : tensors) present.push_back(entry.first);
    std::vector<std::span<const float>> values;
    values.reserve(slots.size());
    for (const detail::ExpectedSlot& slot : slots) {
        const ExpectedTorchTensor& e = slot.tensor;
        const auto found = file_name_of.find(e.name);
        if (found == file_name_of.end())
            throw format_error(source, e.name,
                               "missing: expected " + detail::describe_shape(e.shape) + " (" +
                                   detail::describe_slot(slot) + "); present: " + detail::list_names(present));
        const TorchTensor& t = tensors.find(found->second)->second;
        if (t.shape != e.shape)
            throw format_error(source, as_found(e.name),
                               "expected " + detail::describe_shape(e.shape) + " (" + detail::describe_slot(slot) +
                                   "), found " + detail::describe_shape(t.shape));
        if (t.values.size() != detail::element_count(e.shape))
            throw format_error(source, as_found(e.name),
                               "holds " + std::to_string(t.values.size()) + " values, its shape " +
                                   detail::describe_shape(t.shape) + " needs " +
                                   std::to_string(detail::element_count(e.shape)));
        values.push_back(t.values);
    }
    if (!options.allow_unexpected) {
        std::vector<std::string_view> expected_names;
        for (const detail::ExpectedSlot& slot : slots) expected_names.push_back(slot.tensor.name);
        const std::set<std::string_view> expected(expected_names.begin(), expected_names.end());
        for (const auto& [seen, file_name] : file_name_of) {
            if (!detail::ignored_torch_tensor(seen) && !expected.contains(seen))
                throw format_error(source, as_found(seen),
                                   "unexpected: this network has no such tensor (it has " +
                                       detail::list_names(expected_names) +
                                       "); StateDictOptions::allow_unexpected ignores such tensors");
        }
    }

    // Every tensor checked: from here on nothing fails.
    detail::TorchNetwork<Net>::chain::from_torch(
        [&](auto i) -> auto& { return net.template layer<decltype(i)::value>(); }, values);
}

}  // namespace ctnn::io
