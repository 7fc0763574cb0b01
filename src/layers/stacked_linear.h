// Several projections of one input loaded as one Linear, their [out_i, in] weights stacked
// row after row (q, k and v of an attention layer; gate and up of an MLP). Parts may differ
// in size (grouped-query attention) and in having a bias (Whisper's key projection has
// none: zeros stand in). Int8 weights stored by `mmserve quantize` are taken as they are at
// int8; quantization is per row, so stacking stored and freshly quantized parts is exact.
#pragma once

#include <string>
#include <vector>

#include "engine/precision.h"
#include "layers/linear.h"

namespace mms::io {
class Checkpoint;
}

namespace mms::layers {

struct StackedPart {
  std::string prefix;  // "<prefix>.weight" [out, in]; "<prefix>.bias" [out] when has_bias
  int64_t out = 0;
  bool has_bias = true;
};

Linear LoadStackedLinear(const io::Checkpoint& ckpt, const std::vector<StackedPart>& parts, int64_t in,
                         Precision precision);

}  // namespace mms::layers
