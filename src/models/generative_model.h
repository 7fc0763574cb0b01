// The boundary between the generation scheduler (src/generation/) and a decoder model
// (src/models/llama/, later LLaVA's and Whisper's decoders). The scheduler decides which
// sequences run in a step and how many of their tokens; the model runs them all at once:
// every chunk's tokens are stacked into one activation matrix, so the projections and
// MLPs of a step are one matrix product per layer whatever mix of prefill chunks and
// single decode tokens it holds, and attention reads each sequence's keys and values
// through its block table.
//
// A model is immutable once loaded and holds no per-request state: the KV cache and the
// scratch memory of a step are passed in, so one loaded model serves every sequence.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "engine/precision.h"
#include "layers/paged_kv_cache.h"
#include "layers/workspace.h"

namespace mms::models {

class ImageEncoder;
class SpeechEncoder;

// An embedding that replaces the token embedding at one position of a chunk (LLaVA's
// image features, written at the image placeholder positions).
struct InjectedEmbedding {
  int32_t position = 0;          // absolute position in the sequence
  const float* values = nullptr;  // hidden_size floats, alive for the step
};

// One sequence's share of a step.
struct SequenceChunk {
  // Tokens to run now: a prefill chunk, or the one token sampled last step.
  std::span<const int32_t> tokens;
  // Position of tokens[0]. Keys and values of positions [0, first_position) are already
  // in the cache (computed earlier, or shared prefix blocks).
  int32_t first_position = 0;
  // Block ids holding positions [0, first_position + tokens.size()); the model writes
  // the new positions' keys and values into them.
  std::span<const int32_t> block_table;
  // Whether the step returns logits for the chunk's last token (false for a prefill
  // chunk that does not end the prompt).
  bool want_logits = false;
  // Replacement embeddings for positions inside this chunk; may be empty.
  std::span<const InjectedEmbedding> injected;
  // Family-specific state computed once per sequence (Whisper: the encoder output's
  // cross-attention keys and values); null for plain decoders.
  std::shared_ptr<const void> sequence_state;
};

class GenerativeModel {
 public:
  virtual ~GenerativeModel() = default;

  // The cache shape for blocks of `block_tokens` positions.
  virtual layers::KvCacheShape kv_cache_shape(int block_tokens) const = 0;
  // Length of a logits row (the output embedding's rows; may exceed the tokenizer's vocabulary).
  virtual int vocab_size() const = 0;
  // Most positions a sequence may have (max_position_embeddings).
  virtual int context_length() const = 0;
  virtual int hidden_size() const = 0;
  // The precision the matrix products really run in, and why it differs from the one asked
  // for, if it does (a CPU without the instructions).
  virtual Precision precision() const { return Precision::kFp32; }
  virtual const std::string& precision_note() const {
    static const std::string none;
    return none;
  }
  // Models that read images (LLaVA) return their image encoder; text-only ones null.
  virtual const ImageEncoder* image_encoder() const { return nullptr; }
  // Models that listen (Whisper) return their audio encoder; the others null. Their
  // sequences need the encoder's per-window state (SequenceChunk::sequence_state).
  virtual const SpeechEncoder* speech_encoder() const { return nullptr; }

  // Runs one step. For each chunk with want_logits, appends one row of vocab_size()
  // logits to `logits`, in chunk order (logits is resized to rows * vocab_size()).
  // Throws Error on failure; the cache rows of this step's positions are then undefined.
  virtual void Step(std::span<const SequenceChunk> chunks, layers::PagedKvCache& cache, Workspace& workspace,
                    std::vector<float>& logits) const = 0;
};

}  // namespace mms::models
