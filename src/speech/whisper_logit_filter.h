// Whisper's logit filters, applied to every decoding step's logits in the order OpenAI's
// decoding applies them, as the generation scheduler's per-sequence TokenConstraint:
//   1. suppress blank: at the first sampled position, " " and end-of-text;
//   2. suppress tokens: the non-speech symbols and the special tokens;
//   3. timestamp rules (when decoding with timestamps): <|notimestamps|> never; timestamps
//      come in pairs except right before end-of-text; they never decrease and a segment is
//      never empty; the first token is a timestamp no later than max_initial_timestamp;
//      and when the timestamps' total probability beats every text token, a timestamp.
// Also the language-detection filter: only language tokens.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "generation/sampling.h"
#include "speech/whisper_vocabulary.h"

namespace mms::speech {

struct LogitFilterOptions {
  bool suppress_blank = true;
  bool suppress_tokens = true;
  bool timestamps = true;
  // In timestamp steps (0.02 s): OpenAI's max_initial_timestamp 1.0 s = 50; < 0 = no limit.
  int max_initial_timestamp_index = 50;
};

class WhisperLogitFilter final : public generation::TokenConstraint {
 public:
  WhisperLogitFilter(std::shared_ptr<const WhisperVocabulary> vocabulary, LogitFilterOptions options);
  void Mask(std::span<float> logits) const override;
  void Accept(int32_t token) override { sampled_.push_back(token); }
  bool Complete() const override { return true; }

 private:
  std::shared_ptr<const WhisperVocabulary> vocab_;
  LogitFilterOptions options_;
  std::vector<int32_t> sampled_;
};

// Everything but the language tokens -> -inf (OpenAI's detect_language).
class LanguageTokenFilter final : public generation::TokenConstraint {
 public:
  explicit LanguageTokenFilter(std::shared_ptr<const WhisperVocabulary> vocabulary) : vocab_(std::move(vocabulary)) {}
  void Mask(std::span<float> logits) const override;
  void Accept(int32_t) override {}
  bool Complete() const override { return true; }

 private:
  std::shared_ptr<const WhisperVocabulary> vocab_;
};

}  // namespace mms::speech
