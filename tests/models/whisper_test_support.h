// Helpers of the Whisper tests: the golden data converted by
// convert_whisper_model_golden.py, and decoder steps whose chunks carry a window's
// WhisperCrossState (llama_test_support.h's sequences and block handout otherwise).
#pragma once

#include <cstdint>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "llama_test_support.h"
#include "models/whisper/whisper_model.h"
#include "test_support.h"

namespace mms::models::testing {

inline std::string WhisperDir() { return mms::testing::SourcePath("tests/data/whisper-reference/model"); }
inline std::string WhisperGoldenDir() { return mms::testing::SourcePath("tests/data/whisper-reference/golden/"); }

inline const nlohmann::json& WhisperGoldenIndex() {
  static const nlohmann::json index = [] {
    std::ifstream in(WhisperGoldenDir() + "enc_dec_index.json");
    return nlohmann::json::parse(in);
  }();
  return index;
}

// A float32 array of the index ({"file", "shape"}) as a flat vector; empty if unreadable.
inline std::vector<float> ReadGoldenArray(const nlohmann::json& entry) {
  size_t n = 1;
  for (const auto& d : entry["shape"]) n *= d.get<size_t>();
  std::vector<float> v(n);
  std::ifstream f(WhisperGoldenDir() + entry["file"].get<std::string>(), std::ios::binary);
  f.read(reinterpret_cast<char*>(v.data()), static_cast<std::streamsize>(n * sizeof(float)));
  if (!f) v.clear();
  return v;
}

// A decoding: its tokens and blocks, and the cross-attention state of its window.
struct WhisperSequence {
  TestSequence seq;
  std::shared_ptr<const WhisperCrossState> state;
};

// Runs the next counts[i] uncomputed tokens of each sequence in one step.
inline std::vector<float> RunWhisperStep(const WhisperModel& model, std::vector<WhisperSequence*> seqs,
                                         const std::vector<int>& counts, bool want_logits, layers::PagedKvCache& cache,
                                         Workspace& ws, int* next_block) {
  std::vector<SequenceChunk> chunks;
  for (size_t i = 0; i < seqs.size(); ++i) {
    TestSequence& s = seqs[i]->seq;
    s.Reserve(s.computed + counts[i], cache.shape().block_tokens, next_block);
    SequenceChunk c;
    c.tokens = std::span<const int32_t>(s.tokens.data() + s.computed, counts[i]);
    c.first_position = s.computed;
    c.block_table = s.block_table;
    c.want_logits = want_logits;
    c.sequence_state = seqs[i]->state;
    chunks.push_back(c);
  }
  std::vector<float> logits;
  model.Step(chunks, cache, ws, logits);
  for (size_t i = 0; i < seqs.size(); ++i) seqs[i]->seq.computed += counts[i];
  return logits;
}

}  // namespace mms::models::testing
