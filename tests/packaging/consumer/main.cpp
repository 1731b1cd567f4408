// The smallest program a user of ctnn writes: the packaging tests build it against an installed ctnn
// (find_package) and against ctnn's source (add_subdirectory), with no -march flag.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <type_traits>
#include <vector>

#include <ctnn/ctnn.hpp>

using namespace ctnn;

using Mlp = Sequential<Input<28, 28, 1>, Flatten, Dense<784, 128>, ReLU, Dense<128, 10>>;
using Cnn = Sequential<Input<28, 28, 1>, Conv2D<3, 3, 1, 32>, ReLU, MaxPool2D<2>, Flatten, Dense<13 * 13 * 32, 128>,
                       ReLU, Dense<128, 10>>;

static_assert(Dense<784, 128>::parameter_count == 100'480);
static_assert(Conv2D<3, 3, 1, 32>::parameter_count == 320);
static_assert(Mlp::parameter_count == 101'770);
static_assert(Cnn::parameter_count == 693'962);
static_assert(std::is_same_v<Cnn::output_shape, Shape<10>>);

constexpr auto shuffle = make_permutation<784>(/*seed=*/42);
static_assert(is_bijection(shuffle) && compose(inverse(shuffle), shuffle) == identity<784>());

int main() {
    Mlp net{seed(1)};
    const std::vector<float> image(Mlp::input_shape::size, 0.0f);

    const auto scores = net.forward(image.data(), 1);
    if (scores.size() != Mlp::output_shape::size ||
        !std::all_of(scores.begin(), scores.end(), [](float s) { return std::isfinite(s); })) {
        std::printf("ctnn consumer: bad forward pass (%zu scores)\n", scores.size());
        return 1;
    }

    const auto prediction = predict(net, image);
    float total = 0.0f;
    for (float p : prediction.probabilities) total += p;
    if (prediction.label >= Mlp::output_shape::size || std::abs(total - 1.0f) > 1e-4f) {
        std::printf("ctnn consumer: bad prediction (label %zu, probabilities sum to %g)\n", prediction.label, total);
        return 1;
    }
    std::printf("ctnn consumer: ok (Mlp output shape %s, %zu parameters, zero image -> class %zu)\n",
                Mlp::output_shape::name().c_str(), Mlp::parameter_count, prediction.label);
    return 0;
}
