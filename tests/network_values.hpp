#pragma once
// Every parameter (or parameter gradient) of a network, flattened in visit_parameters order, for comparing
// networks in tests.

#include <cstddef>
#include <span>
#include <vector>

#include "ctnn/layers/layer.hpp"

namespace ctnn::testing {

// field: &ParameterView::value or &ParameterView::gradient. push_back, not insert: g++ 12 warns falsely about
// inserting a span (-Wstringop-overflow).
template <class Net>
std::vector<float> flattened(Net& net, std::span<float> ParameterView::*field) {
    std::vector<float> v;
    net.visit_parameters([&](std::size_t, const ParameterView& p) {
        for (float value : p.*field) v.push_back(value);
    });
    return v;
}
template <class Net>
std::vector<float> parameter_values(Net& net) {
    return flattened(net, &ParameterView::value);
}
template <class Net>
std::vector<float> gradient_values(Net& net) {
    return flattened(net, &ParameterView::gradient);
}

}  // namespace ctnn::testing
