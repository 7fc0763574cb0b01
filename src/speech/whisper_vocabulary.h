// The special tokens of a Whisper checkpoint and the rules built on them, read from its
// files (never assumed: large-v3's 100th language shifts every id after 50357 by one,
// English-only checkpoints have no language or task tokens):
//   - tokenizer.json's added tokens: <|endoftext|>, <|startoftranscript|>, <|startofprev|>,
//     <|startoflm|>, <|nospeech|> (older: <|nocaptions|>), <|notimestamps|>,
//     <|transcribe|>, <|translate|>, the language tokens and the timestamps;
//   - generation_config.json: lang_to_id, suppress_tokens, begin_suppress_tokens,
//     no_timestamps_token_id.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace mms::text {
class HfTokenizer;
}

namespace mms::speech {

struct WhisperLanguage {
  std::string code;  // "en"
  std::string name;  // "english", as OpenAI's API reports it
  int32_t token = -1;
};

struct WhisperVocabulary {
  int32_t eot = -1, sot = -1, sot_prev = -1, sot_lm = -1, no_speech = -1, no_timestamps = -1;
  int32_t transcribe = -1, translate = -1;  // -1 on English-only checkpoints
  int32_t timestamp_begin = -1;             // <|0.00|>; timestamps run to the end of the vocabulary
  int32_t vocab_size = 0;                   // rows of the model's logits
  std::vector<WhisperLanguage> languages;   // in token order; empty on English-only checkpoints
  // OpenAI's suppress_tokens="-1": the non-speech symbols (generation_config.json's
  // suppress_tokens) plus transcribe, translate, sot, sot_prev, sot_lm and no_speech.
  std::vector<int32_t> suppress;
  // Suppressed at the first sampled position only (the blank " " and end-of-text).
  std::vector<int32_t> begin_suppress;

  bool multilingual() const { return !languages.empty(); }
  // A language given as a code ("en") or a name ("English"), case-insensitive; null if unknown.
  const WhisperLanguage* FindLanguage(const std::string& code_or_name) const;
  const WhisperLanguage* LanguageOfToken(int32_t token) const;
  // <|startoftranscript|> [language] [task] [<|notimestamps|>]; language/task only on
  // multilingual checkpoints.
  std::vector<int32_t> SotSequence(const WhisperLanguage* language, bool translate, bool without_timestamps) const;

  // `model_vocab`: the model's logits rows. Throws Error(kInvalidModel) naming the file
  // and the token when a required one is missing or out of range.
  static WhisperVocabulary Load(const std::string& checkpoint_dir, const text::HfTokenizer& tokenizer,
                                int32_t model_vocab);
};

// OpenAI's language codes and names, in the order of their tokens.
const std::vector<std::pair<std::string, std::string>>& WhisperLanguageNames();

}  // namespace mms::speech
