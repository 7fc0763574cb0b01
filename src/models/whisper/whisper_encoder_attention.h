// The self-attention of Whisper's encoder: every one of a window's 1500 positions attends
// to all of them (no mask). At that length attention is most of the encoder's arithmetic
// (seq² · width against seq · width² for the projections at whisper-base's width), so it
// runs as matrix products: per window and head, scores = Q·Kᵀ and out = P·V through
// oneDNN, with a row-parallel softmax between them.
#pragma once

#include <cstddef>
#include <cstdint>

namespace mms::models::whisper {

struct EncoderAttentionShape {
  int64_t batch = 0;  // windows
  int64_t seq = 0;    // positions per window
  int heads = 0;
  int head_dim = 0;
};

// Floats of scratch memory EncoderAttention needs.
size_t EncoderAttentionScratchFloats(const EncoderAttentionShape& shape);

// qkv: [batch * seq, 3 * heads * head_dim] (q | k | v, heads side by side in each);
// out: [batch * seq, heads * head_dim]. Float32; scale 1/sqrt(head_dim).
void EncoderAttention(const float* qkv, const EncoderAttentionShape& shape, float* out, float* scratch);

}  // namespace mms::models::whisper
