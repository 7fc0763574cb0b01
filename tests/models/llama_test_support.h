// Helpers of the LLaMA tests: a minimal stand-in for the scheduler's block manager, so a
// test can run sequences through LlamaModel::Step chunk by chunk.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "layers/paged_kv_cache.h"
#include "layers/workspace.h"
#include "models/generative_model.h"

namespace mms::models::testing {

// One sequence's tokens and block table. Blocks are handed out from a shared counter in
// an interleaved order, so sequences' blocks are not contiguous in the cache.
struct TestSequence {
  std::vector<int32_t> tokens;      // every token fed so far
  std::vector<int32_t> block_table;
  int32_t computed = 0;             // positions whose keys and values are in the cache

  void Reserve(int32_t positions, int block_tokens, int* next_block) {
    while (static_cast<int64_t>(block_table.size()) * block_tokens < positions) {
      block_table.push_back((*next_block)++);
    }
  }
};

// Runs the next `n` uncomputed tokens of each listed sequence in one step; returns the
// logits (one row per sequence when want_logits).
inline std::vector<float> RunStep(const GenerativeModel& model, std::vector<TestSequence*> seqs,
                                  const std::vector<int>& counts, bool want_logits, layers::PagedKvCache& cache,
                                  Workspace& ws, int* next_block) {
  std::vector<SequenceChunk> chunks;
  for (size_t i = 0; i < seqs.size(); ++i) {
    TestSequence& s = *seqs[i];
    s.Reserve(s.computed + counts[i], cache.shape().block_tokens, next_block);
    SequenceChunk c;
    c.tokens = std::span<const int32_t>(s.tokens.data() + s.computed, counts[i]);
    c.first_position = s.computed;
    c.block_table = s.block_table;
    c.want_logits = want_logits;
    chunks.push_back(c);
  }
  std::vector<float> logits;
  model.Step(chunks, cache, ws, logits);
  for (size_t i = 0; i < seqs.size(); ++i) seqs[i]->computed += counts[i];
  return logits;
}

inline int32_t Argmax(const float* row, int n) {
  return static_cast<int32_t>(std::max_element(row, row + n) - row);
}

}  // namespace mms::models::testing
