#pragma once

#include <cstddef>
#include <vector>

namespace mms {

// Per-call scratch memory of a forward pass. The model's weights are immutable and
// shared; each concurrent forward pass owns one Workspace, which grows to the largest
// batch it has seen and is then reused without allocating.
class Workspace {
 public:
  // A buffer of at least n floats for `slot`; the same slot returns the same memory.
  float* Buffer(size_t slot, size_t n) {
    if (slot >= buffers_.size()) buffers_.resize(slot + 1);
    if (buffers_[slot].size() < n) buffers_[slot].resize(n);
    return buffers_[slot].data();
  }

 private:
  std::vector<std::vector<float>> buffers_;
};

}  // namespace mms
