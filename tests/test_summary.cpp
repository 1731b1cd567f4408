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
    CHECK(detail::with_thousands(1234567) == "1,234,567");
    CHECK(detail::with_thousands(12) == "12");
}
