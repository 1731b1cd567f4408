// Quickstart: the two networks of the seed article, checked by the compiler and summarised like Keras.
//
// A layer template such as Dense<784, 128> is a *spec*. Sequential binds every spec to the shape the layer
// before it produces, so a network that does not fit together is a compile error, and everything the
// article counts by hand is a constant the compiler can check.

#include <cstdio>
#include <memory>

#include <ctnn/ctnn.hpp>

using namespace ctnn;

// A multilayer perceptron sees a flat vector of 784 pixels...
using Mlp = Sequential<Input<28, 28, 1>, Flatten, Dense<784, 128>, ReLU, Dense<128, 10>>;
// ...a convolutional network sees 3x3 neighbourhoods and shares its 320 weights across the whole image.
using Cnn = Sequential<Input<28, 28, 1>, Conv2D<3, 3, 1, 32>, ReLU, MaxPool2D<2>, Flatten,
                       Dense<13 * 13 * 32, 128>, ReLU, Dense<128, 10>>;

// The article's numbers, proven at compile time (PyTorch and Keras report the same counts).
static_assert(Dense<784, 128>::parameter_count == 100'480);
static_assert(Conv2D<3, 3, 1, 32>::parameter_count == 320);
static_assert(Dense<784, 128>::parameter_count / Conv2D<3, 3, 1, 32>::parameter_count == 314);  // "314x fewer"
static_assert(Mlp::parameter_count == 101'770);
static_assert(Cnn::parameter_count == 693'962);
static_assert(std::is_same_v<Cnn::layer_type<2>::output_shape, Shape<13, 13, 32>>);

// The experiment's pixel shuffle is one fixed permutation, computed by the compiler and proven invertible.
constexpr auto shuffle = make_permutation<784>(/*seed=*/42);
static_assert(is_bijection(shuffle) && compose(inverse(shuffle), shuffle) == identity<784>());
// A Permute layer in front makes the shuffle part of the model; it costs no parameters.
using ShuffledMlp = Sequential<Input<28, 28, 1>, Permute<shuffle>, Flatten, Dense<784, 128>, ReLU, Dense<128, 10>>;
static_assert(ShuffledMlp::parameter_count == Mlp::parameter_count);

int main() {
    std::printf("%s\n%s\n%s\n", Mlp::summary("mlp").c_str(), Cnn::summary("cnn").c_str(),
                ShuffledMlp::summary("shuffled_mlp").c_str());

    // Parameters live on the heap (the CNN's Dense<5408,128> is 2.8 MB); buffers for up to 256 images are
    // allocated once, here.
    auto cnn = std::make_unique<Cnn>(seed(1));
    std::vector<float> blank(28 * 28, 0.0f);
    const auto guess = predict(*cnn, blank);
    std::printf("An untrained CNN guesses %zu for a blank image (p = %.3f).\n", guess.label,
                static_cast<double>(guess.probabilities[guess.label]));
    std::printf("Dense<784,128> has %zu parameters, Conv2D<3,3,1,32> %zu: %zux fewer.\n",
                Dense<784, 128>::parameter_count, Conv2D<3, 3, 1, 32>::parameter_count,
                Dense<784, 128>::parameter_count / Conv2D<3, 3, 1, 32>::parameter_count);
}
