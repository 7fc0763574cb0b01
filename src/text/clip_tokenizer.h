// OpenAI CLIP's text tokenizer (simple_tokenizer.py), id for id: text clean-up (ftfy fixes,
// HTML unescaping, whitespace, lowercase), the word-splitting pattern, byte-level BPE.
//
// Input is bytes: invalid UTF-8 is decoded with U+FFFD replacement (as Python's
// errors="replace" does), so Encode accepts any text and never throws on its content.
// Known gaps to the reference, none hit by ordinary captions: ftfy's mojibake repair is only
// partly ported (see ftfy_fixes.h), and the Unicode tables are utf8proc's (Unicode 15), which
// may classify code points assigned after that differently from the reference's Python.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace mms::text {

namespace internal {
class BpeModel;
}

class ClipTokenizer {
 public:
  // Loads vocab.json and merges.txt from a Hugging Face checkpoint folder. A missing or
  // malformed file throws mms::Error(mms::ErrorCode::kInvalidModel, message naming the file
  // and what is wrong).
  static ClipTokenizer FromDirectory(const std::string& dir);

  // [<|startoftext|>] + BPE ids + [<|endoftext|>]; when longer than context_length, the first
  // context_length ids with the last forced to <|endoftext|>. No padding. A literal
  // "<|startoftext|>" / "<|endoftext|>" in the text becomes that special id.
  // Thread-safe (const, no shared mutable state). context_length 0 throws kInvalidArgument.
  std::vector<int32_t> Encode(std::string_view text, size_t context_length = 77) const;

  int32_t start_of_text_id() const { return start_of_text_id_; }  // 49406 in the real vocabulary
  int32_t end_of_text_id() const { return end_of_text_id_; }      // 49407
  size_t vocab_size() const;

 private:
  ClipTokenizer() = default;

  std::shared_ptr<const internal::BpeModel> bpe_;  // immutable once loaded; copies share it
  int32_t start_of_text_id_ = 0;
  int32_t end_of_text_id_ = 0;
};

// The text clean-up OpenAI's tokenizer applies before splitting (exposed for tests):
// whitespace_clean(basic_clean(text)).lower(), returned as UTF-8.
std::string CleanText(std::string_view utf8);

}  // namespace mms::text
