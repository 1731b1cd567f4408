#pragma once
// What an IdxArray that read_idx accepted must satisfy, checked by the IDX fuzz targets.

#include <cstdio>
#include <cstdlib>

#include "ctnn/data/idx.hpp"

namespace ctnn::fuzz {

inline void check_accepted(const data::IdxArray& a, const data::IdxExpect& expect) {
    bool ok = data::element_size(a.type) != 0 && a.rank() >= 1 && a.rank() <= data::max_idx_rank &&
              a.bytes.size() == data::element_size(a.type) * a.count() && a.bytes.size() <= data::max_idx_bytes;
    for (std::size_t k = 0; k < a.rank(); ++k)
        ok = ok && a.dims[k] != 0 && (k >= expect.dims.size() || expect.dims[k] == 0 || expect.dims[k] == a.dims[k]);
    ok = ok && (!expect.rank || *expect.rank == a.rank()) && (!expect.type || *expect.type == a.type);
    if (ok) return;
    std::fprintf(stderr, "read_idx accepted an inconsistent array: type %s, rank %zu, %zu bytes\n",
                 data::to_string(a.type).c_str(), a.rank(), a.bytes.size());
    std::abort();
}

}  // namespace ctnn::fuzz
