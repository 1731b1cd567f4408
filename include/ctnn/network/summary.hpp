#pragma once
// A network's summary: one row per layer (kind, output shape, parameters, state, FLOPs), available at compile
// time, and printed the way Keras' model.summary() prints it.

#include <array>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace ctnn {

struct LayerSummary {
    std::string_view kind;                     // "Conv2D"
    std::array<std::size_t, 4> output_dims{};  // first output_rank entries are used
    std::size_t output_rank = 0;
    std::size_t parameters = 0;     // trainable
    std::size_t state = 0;          // non-trainable
    std::size_t flops = 0;          // of one sample's forward pass
    std::size_t multiply_adds = 0;  // of one sample's forward pass, for layers made of products
    std::size_t output_bytes = 0;   // one sample's output, as float32
};

// 693962 -> "693,962", as the summary prints counts.
inline std::string with_thousands(std::size_t value) {
    std::string digits = std::to_string(value), text;
    for (std::size_t i = 0; i < digits.size(); ++i) {
        if (i != 0 && (digits.size() - i) % 3 == 0) text += ',';
        text += digits[i];
    }
    return text;
}

namespace detail {

inline std::string pad_right(std::string text, std::size_t width) {
    if (text.size() < width) text.append(width - text.size(), ' ');
    return text + ' ';
}

// rows: (layer name, summary row). input: the Input shape. "Param #" counts trainable and non-trainable floats
// together, as Keras does.
inline std::string format_summary(std::string_view model_name, const std::vector<std::string>& names,
                                  const std::vector<LayerSummary>& rows, const LayerSummary& input) {
    constexpr std::size_t name_width = 32, shape_width = 24, param_width = 12;
    const std::string rule(84, '_'), double_rule(84, '=');
    auto shape_text = [](const LayerSummary& row) {
        std::string text = "(None";
        for (std::size_t i = 0; i < row.output_rank; ++i) text += ", " + std::to_string(row.output_dims[i]);
        return text + ")";
    };
    std::string out = "Model: \"" + std::string(model_name) + "\"\n" + rule + "\n";
    out += pad_right(" Layer (type)", name_width) + pad_right("Output Shape", shape_width) +
           pad_right("Param #", param_width) + "FLOPs\n";
    out += double_rule + "\n";
    out += pad_right(" input (Input)", name_width) + pad_right(shape_text(input), shape_width) +
           pad_right("0", param_width) + "0\n";
    // A name too long for its column (a Residual block lists its inner layers) is cut, as Keras cuts its own.
    auto name_text = [&](const std::string& name) {
        const std::string text = " " + name;
        return text.size() < name_width ? text : text.substr(0, name_width - 4) + "...";
    };
    std::size_t trainable = 0, state = 0, flops = 0;
    for (std::size_t i = 0; i < rows.size(); ++i) {
        out += pad_right(name_text(names[i]), name_width) + pad_right(shape_text(rows[i]), shape_width) +
               pad_right(with_thousands(rows[i].parameters + rows[i].state), param_width) +
               with_thousands(rows[i].flops) + "\n";
        trainable += rows[i].parameters;
        state += rows[i].state;
        flops += rows[i].flops;
    }
    out += double_rule + "\n";
    out += "Total params: " + with_thousands(trainable + state) + "\n";
    out += "Trainable params: " + with_thousands(trainable) + "\n";
    out += "Non-trainable params: " + with_thousands(state) + "\n";
    out += "FLOPs per sample (forward): " + with_thousands(flops) + "\n" + rule + "\n";
    return out;
}

}  // namespace detail
}  // namespace ctnn
