#include <doctest/doctest.h>

#include "seed_networks.hpp"

using namespace ctnn;

TEST_CASE("summary() prints like Keras' model.summary()") {
    const std::string text = testing::SeedCnn::summary("cnn");
    CHECK(text.find("Model: \"cnn\"") != std::string::npos);
    CHECK(text.find("Conv2D<3,3,1,32>") != std::string::npos);
    CHECK(text.find("(None, 26, 26, 32)") != std::string::npos);
    CHECK(text.find("(None, 13, 13, 32)") != std::string::npos);
    CHECK(text.find("Dense<5408,128>") != std::string::npos);
    CHECK(text.find("692,352") != std::string::npos);
    CHECK(text.find("Total params: 693,962") != std::string::npos);
    CHECK(testing::SeedMlp::summary().find("Total params: 101,770") != std::string::npos);
}

TEST_CASE("layer names carry the template arguments, with stride and padding when not the defaults") {
    using Net = Sequential<Input<8, 8, 3>, Conv2D<3, 3, 3, 4, 2, Padding::same>, MaxPool2D<2>, MaxPool2D<1, 1>>;
    const auto names = Net::layer_names();
    CHECK(names[0] == "Conv2D<3,3,3,4,2,same>");
    CHECK(names[1] == "MaxPool2D<2>");
    CHECK(names[2] == "MaxPool2D<1>");
    CHECK(with_thousands(1234567) == "1,234,567");
    CHECK(with_thousands(12) == "12");
}

TEST_CASE("summary() counts trainable and non-trainable parameters apart, and FLOPs per layer, as constants") {
    using Net = Sequential<Input<28, 28, 1>, Flatten, Dense<784, 128>, BatchNorm<>, ReLU, Dense<128, 10>>;
    // Keras' model.summary() for the same layers: 102,282 total, 102,026 trainable, 256 non-trainable.
    static_assert(Net::summary_rows[2].parameters == 256 && Net::summary_rows[2].state == 256);
    static_assert(Net::summary_rows[1].flops == 2 * 784 * 128);
    static_assert(Net::summary_rows[0].flops == 0);  // Flatten only reshapes
    const std::string text = Net::summary();
    CHECK(text.find("Total params: 102,282") != std::string::npos);
    CHECK(text.find("Trainable params: 102,026") != std::string::npos);
    CHECK(text.find("Non-trainable params: 256") != std::string::npos);
    CHECK(text.find("200,704") != std::string::npos);  // Dense<784,128>'s FLOPs per sample
    CHECK(testing::SeedCnn::summary().find("Non-trainable params: 0") != std::string::npos);
}

TEST_CASE("summary() cuts a name too long for its column") {
    using Block = Residual<Conv2D<3, 3, 4, 4, 1, Padding::same>, ReLU, Conv2D<3, 3, 4, 4, 1, Padding::same>>;
    using Net = Sequential<Input<6, 6, 4>, Block, Flatten, Dense<144, 2>>;
    const std::string text = Net::summary();
    CHECK(text.find(" Residual<Conv2D<3,3,4,4,1,s...") != std::string::npos);
    CHECK(text.find("(None, 6, 6, 4)") != std::string::npos);
}

TEST_CASE("summary rows carry multiply-adds and output bytes per sample, as constants") {
    using Cnn = testing::SeedCnn;
    static_assert(Cnn::summary_rows[0].multiply_adds == 26 * 26 * 3 * 3 * 32);  // each weight used 26x26 times
    static_assert(Cnn::summary_rows[4].multiply_adds == 5408 * 128);
    static_assert(Cnn::summary_rows[1].multiply_adds == 0);  // ReLU: no products
    static_assert(Cnn::summary_rows[0].flops == 2 * Cnn::summary_rows[0].multiply_adds);
    static_assert(Cnn::summary_rows[2].output_bytes == 13 * 13 * 32 * sizeof(float));
    static_assert(Cnn::multiply_adds_per_sample == 26 * 26 * 9 * 32 + 5408 * 128 + 128 * 10);
    using Block = Residual<Dense<6, 6>, ReLU, Dense<6, 6>>;
    static_assert(Sequential<Input<6>, Block>::summary_rows[0].multiply_adds == 2 * 36);
    CHECK(Cnn::summary_rows[0].output_rank == 3);
}
