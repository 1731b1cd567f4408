// The smallest program a user of ctnn writes; the packaging tests build it against an installed ctnn and
// against ctnn added with add_subdirectory.
#include <cstdio>

#include <ctnn/core/permutation.hpp>

static_assert(ctnn::is_bijection(ctnn::make_permutation<784>(42)));

int main() {
    constexpr auto shuffle = ctnn::make_permutation<784>(42);
    static_assert(ctnn::compose(ctnn::inverse(shuffle), shuffle) == ctnn::identity<784>());
    std::printf("ctnn consumer: ok (permutation of %zu)\n", shuffle.size);
    return 0;
}
