// A GenerativeModel for the engine's tests that really goes through the paged KV cache:
// Step writes, for every position of a chunk, key and value rows derived from (token or
// injected embedding, position) into the block table's rows, and a chunk's logits are a
// hash of ALL the key and value rows of positions [0, last] read back through the block
// table. A wrong block, a stale or overwritten shared block or a wrong position changes
// the logits. ReferenceGreedy computes the same outputs from the plain token list with no
// cache at all: the independent path the engine's outputs are checked against.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <span>
#include <vector>

#include "models/generative_model.h"

namespace mms::testing {

class FakeModel : public models::GenerativeModel {
 public:
  static constexpr int kLayers = 2;
  static constexpr int kHeadDim = 4;

  struct ChunkRecord {
    int32_t first_block = -1;  // block_table[0]: tells sequences apart
    int first_position = 0;
    int num_tokens = 0;
    bool want_logits = false;
  };

  FakeModel(int vocab = 64, int context = 4096) : vocab_(vocab), context_(context) {}

  layers::KvCacheShape kv_cache_shape(int block_tokens) const override {
    return layers::KvCacheShape{kLayers, 1, kHeadDim, block_tokens};
  }
  int vocab_size() const override { return vocab_; }
  int context_length() const override { return context_; }
  int hidden_size() const override { return kHeadDim; }
  void Step(std::span<const models::SequenceChunk> chunks, layers::PagedKvCache& cache, Workspace& workspace,
            std::vector<float>& logits) const override;

  // Steps throw (after writing their rows) when a chunk holds this token.
  void set_poison_token(int32_t token) { poison_ = token; }
  // Hold(): every Step waits, after counting itself in steps(), until Release().
  void Hold();
  void Release();
  // Waits until at least n steps have begun.
  bool WaitForSteps(uint64_t n) const;

  uint64_t steps() const { return steps_.load(); }
  uint64_t tokens_computed() const { return tokens_computed_.load(); }
  std::vector<std::vector<ChunkRecord>> step_records() const;

  // Rows of one position: layer l's key row and value row.
  static void Row(int32_t token, const float* injected, int position, int layer, float* key, float* value);
  // Logit of token v after hashing the rows.
  static float Logit(uint64_t hash, int v);
  static uint64_t HashRow(uint64_t h, const float* row);

 private:
  int vocab_;
  int context_;
  int32_t poison_ = -1;
  mutable std::atomic<uint64_t> steps_{0};
  mutable std::atomic<uint64_t> tokens_computed_{0};
  mutable std::mutex mutex_;
  mutable std::condition_variable changed_;
  bool hold_ = false;
  mutable std::vector<std::vector<ChunkRecord>> records_;
};

// The greedy continuation the fake model gives `prompt` (ties: lowest id), computed
// without a cache. `injected`: (position, values) pairs inside the prompt.
std::vector<int32_t> ReferenceGreedy(const std::vector<int32_t>& prompt, int max_tokens, int vocab, int valid_vocab,
                                     const std::vector<models::InjectedEmbedding>& injected = {});

}  // namespace mms::testing
