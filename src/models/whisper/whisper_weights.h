// Loading Whisper's projection matrices as layers::Linear. Whisper's attention has no
// bias on its key projections (q, v and out have one), so projections stacked into one
// Linear (q | k | v) get zeros where a part has none; int8 weights stored by
// `mmserve quantize` are taken as they are.
#pragma once

#include <string>
#include <vector>

#include "engine/precision.h"
#include "layers/linear.h"

namespace mms::io {
class Checkpoint;
}

namespace mms::models::whisper {

struct ProjectionPart {
  std::string prefix;  // "<prefix>.weight" [out, in], "<prefix>.bias" [out] when has_bias
  int64_t out = 0;
  bool has_bias = true;
};

// One Linear computing the parts side by side, their [out_i, in] weights stacked row after row.
layers::Linear LoadProjections(const io::Checkpoint& ckpt, const std::vector<ProjectionPart>& parts, int64_t in,
                               Precision precision);

// A convolution kernel "<prefix>.weight" [out, in, width] (+ "<prefix>.bias" [out]) as a
// Linear over im2col rows of in * width values (channel-major, as the kernel flattens).
layers::Linear LoadConvolution(const io::Checkpoint& ckpt, const std::string& prefix, int64_t in, int64_t out,
                               int64_t width, Precision precision);

}  // namespace mms::models::whisper
