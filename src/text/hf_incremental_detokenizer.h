// Streaming detokenization: each generated token's newly final text, never a broken UTF-8
// sequence, with the leading-space rules of SentencePiece decoders handled the way Hugging
// Face's streaming decoders (and vLLM / TGI) do: the new text is the difference between
// decoding a short window of recent tokens with and without the new ones, so a token's
// leading space is kept after earlier text and a byte-fallback character that spans several
// tokens is held back until its last byte arrives.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "text/hf_tokenizer.h"

namespace mms::text {

class IncrementalDetokenizer {
 public:
  // `tokenizer` must outlive this object. `prompt_tail`: the last few prompt ids (a handful
  // suffice), the context the first generated token is decoded after; with none, the pushes
  // plus Flush() concatenate to Decode(all pushed ids).
  IncrementalDetokenizer(const HfTokenizer& tokenizer, bool skip_special_tokens,
                         std::span<const int32_t> prompt_tail = {});

  // The text that became final with `id` (possibly empty).
  std::string Push(int32_t id);
  // Whatever is still held back (an incomplete UTF-8 sequence at the end becomes U+FFFD, as
  // in Decode).
  std::string Flush();

 private:
  std::string Delta(bool final);
  const HfTokenizer& tokenizer_;
  bool skip_special_tokens_;
  std::vector<int32_t> ids_;  // ids from the window's start on
  size_t read_offset_ = 0;    // ids_[0, read_offset_) are the window already emitted
  std::string prefix_text_;   // Decode(ids_[0, read_offset_))
};

}  // namespace mms::text
