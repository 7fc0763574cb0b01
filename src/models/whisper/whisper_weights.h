// Loading Whisper's convolution kernels as layers::Linear (its projections load with
// layers::LoadStackedLinear, which puts zeros where the key projection has no bias).
#pragma once

#include <string>
#include <vector>

#include "engine/precision.h"
#include "layers/linear.h"

namespace mms::io {
class Checkpoint;
}

namespace mms::models::whisper {

// A convolution kernel "<prefix>.weight" [out, in, width] (+ "<prefix>.bias" [out]) as a
// Linear over im2col rows of in * width values (channel-major, as the kernel flattens).
layers::Linear LoadConvolution(const io::Checkpoint& ckpt, const std::string& prefix, int64_t in, int64_t out,
                               int64_t width, Precision precision);

}  // namespace mms::models::whisper
