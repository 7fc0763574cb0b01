// A Hugging Face tokenizer.json tokenizer (BPE models: SentencePiece-style with byte
// fallback, and byte-level), producing the same ids as the `tokenizers` library: added
// tokens split out first, each other piece normalized on its own, pre-tokenized, encoded by
// the BPE model, then the post-processor's template. Immutable after Load: every method is
// const and safe to call from many threads (the word cache inside is locked and bounded).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "text/hf_tokenizer_config.h"

namespace mms::text {

namespace internal {
struct HfTokenizerParts;
}

class HfTokenizer {
 public:
  // Reads tokenizer.json (at most 64 MiB). Throws Error(kNotFound) when the file cannot be
  // read and Error(kInvalidModel) naming the file and field for anything malformed or
  // unsupported (a model other than BPE, an unknown normalizer, a regex that does not compile).
  static HfTokenizer Load(const std::string& tokenizer_json_path);
  // The same from the file's contents; `name` stands for the file in error messages.
  static HfTokenizer FromJson(std::string_view json_text, const std::string& name);

  // Hugging Face's encode(text, add_special_tokens). Bytes that are not valid UTF-8 are read
  // as U+FFFD (the tokenizers library only takes valid strings).
  std::vector<int32_t> Encode(std::string_view text, bool add_special_tokens) const;

  // Encode, except that an added or special token whose match overlaps one of the byte
  // ranges [first, second) is not taken as the token: its characters are encoded as text
  // (a chat message that contains "</s>"). With no ranges this is exactly Encode. Throws
  // Error(kInvalidArgument) when a range lies outside the text or the text is not valid UTF-8.
  std::vector<int32_t> EncodeWithLiteralRanges(std::string_view text,
                                               std::span<const std::pair<size_t, size_t>> literal_ranges,
                                               bool add_special_tokens) const;

  // Hugging Face's decode(ids, skip_special_tokens). Ids with no token are left out.
  std::string Decode(std::span<const int32_t> ids, bool skip_special_tokens) const;

  // One past the largest id of the model's vocabulary and the added tokens.
  int vocab_size() const;
  std::optional<int32_t> TokenId(std::string_view token) const;
  // The token's string as tokenizer.json writes it ("▁the", "Ġthe", "<0x0A>", "<s>"); empty
  // for an id with no token.
  const std::string& TokenString(int32_t id) const;
  bool IsSpecial(int32_t id) const;
  // The bytes the token adds when decoded after other text: <0xNN> -> that byte, "▁" ->
  // space, byte-level characters -> their bytes (possibly part of a UTF-8 sequence). Empty
  // for special tokens and ids with no token.
  std::string TokenBytes(int32_t id) const;
  // The id the post-processor puts first when add_special_tokens is true (a BOS), if any.
  std::optional<int32_t> added_bos() const;

 private:
  std::vector<int32_t> EncodeImpl(std::string_view text, std::span<const std::pair<size_t, size_t>> literal_ranges,
                                  bool add_special_tokens) const;
  std::shared_ptr<const internal::HfTokenizerParts> parts_;
};

}  // namespace mms::text
