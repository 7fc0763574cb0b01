// CLIP's byte-level BPE: the vocabulary (vocab.json) and the ranked merges (merges.txt) of a
// Hugging Face checkpoint, and the merge loop of OpenAI's simple_tokenizer.py.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace mms::text::internal {

// CLIP's bytes_to_unicode(): each byte value stands for one printable code point (printable
// Latin-1 bytes for themselves, the rest for U+0100 upwards), so tokens are readable strings.
char32_t ByteToUnicode(uint8_t byte);

class BpeModel {
 public:
  // Parses the two files' contents; `vocab_name` / `merges_name` name them in error messages.
  // Throws Error(kInvalidModel) for malformed content: vocab.json not a JSON object of
  // token -> integer id, an id used twice, a byte token missing, a merges.txt line that is not
  // two tokens, or a merge of or into a token the vocabulary lacks. As OpenAI's and Hugging
  // Face's CLIP tokenizers do, the first line of merges.txt (the version header) is skipped and
  // only the next 48,894 merges are read (49152 - 256 - 2: the merge count CLIP was trained with).
  static BpeModel Parse(std::string_view vocab_json, std::string_view merges_txt, const std::string& vocab_name,
                        const std::string& merges_name);

  // Appends the ids of one piece (its UTF-8 bytes, non-empty), "</w>" marking its last symbol.
  void EncodeWord(std::string_view piece_utf8, std::vector<int32_t>* ids) const;

  std::optional<int32_t> TokenId(const std::string& token) const;
  size_t vocab_size() const { return vocab_.size(); }

 private:
  struct Merge {
    uint32_t rank;   // line order in merges.txt: lower merges first
    int32_t merged;  // id of the two symbols joined
  };
  static uint64_t PairKey(int32_t left, int32_t right) {
    return (static_cast<uint64_t>(static_cast<uint32_t>(left)) << 32) | static_cast<uint32_t>(right);
  }
  const Merge* FindMerge(int32_t left, int32_t right) const;

  // Symbols are vocabulary ids: every merge result is checked to be in the vocabulary, so a
  // word never holds a symbol without an id.
  std::unordered_map<std::string, int32_t> vocab_;
  std::unordered_map<uint64_t, Merge> merges_;
  std::array<int32_t, 256> byte_ids_{};      // a byte inside a word
  std::array<int32_t, 256> byte_end_ids_{};  // a byte ending a word (its token + "</w>")
};

}  // namespace mms::text::internal
