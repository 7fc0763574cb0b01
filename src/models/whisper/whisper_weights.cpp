#include "models/whisper/whisper_weights.h"

#include <cstring>

#include "io/checkpoint.h"

namespace mms::models::whisper {

layers::Linear LoadConvolution(const io::Checkpoint& ckpt, const std::string& prefix, int64_t in, int64_t out,
                               int64_t width, Precision precision) {
  // [out, in, width] row-major is already [out, in * width] with column c * width + k.
  const Tensor w = ckpt.Float32(prefix + ".weight", {out, in, width});
  const Tensor b = ckpt.Float32(prefix + ".bias", {out});
  return layers::Linear::FromOutIn(w.data<float>(), out, in * width, b.data<float>(), precision);
}

}  // namespace mms::models::whisper
