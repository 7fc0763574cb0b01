#include "text/hf_incremental_detokenizer.h"

namespace mms::text {
namespace {

// Past this many held tokens the text is emitted anyway, so that the window stays short
// (only tokens that add no bytes, such as skipped special tokens, can keep it growing).
constexpr size_t kMaxHeldTokens = 16;

// Whether `bytes` ends with the start of a UTF-8 sequence that more bytes could complete.
// A byte that can never be completed (a stray continuation byte) is not held: Decode shows it
// as U+FFFD now and later alike.
bool EndsIncomplete(const std::string& bytes) {
  size_t continuation = 0;
  for (size_t i = bytes.size(); i-- > 0 && continuation < 4;) {
    const auto b = static_cast<unsigned char>(bytes[i]);
    if ((b & 0xC0) == 0x80) {
      ++continuation;
      continue;
    }
    const size_t length = b >= 0xC2 && b <= 0xDF ? 2 : b >= 0xE0 && b <= 0xEF ? 3 : b >= 0xF0 && b <= 0xF4 ? 4 : 1;
    return length > 1 && continuation + 1 < length;
  }
  return false;
}

}  // namespace

IncrementalDetokenizer::IncrementalDetokenizer(const HfTokenizer& tokenizer, bool skip_special_tokens,
                                               std::span<const int32_t> prompt_tail)
    : tokenizer_(tokenizer), skip_special_tokens_(skip_special_tokens), ids_(prompt_tail.begin(), prompt_tail.end()) {
  read_offset_ = ids_.size();
  prefix_text_ = tokenizer_.Decode(ids_, skip_special_tokens_);
}

std::string IncrementalDetokenizer::Push(int32_t id) {
  ids_.push_back(id);
  return Delta(/*final=*/false);
}

std::string IncrementalDetokenizer::Flush() {
  if (read_offset_ == ids_.size()) return "";
  return Delta(/*final=*/true);
}

std::string IncrementalDetokenizer::Delta(bool final) {
  if (!final && ids_.size() - read_offset_ < kMaxHeldTokens) {
    // The raw bytes of the new tokens (decoders work per byte only for byte fallback and
    // byte-level tokens): an incomplete character at the end waits for its next bytes.
    std::string bytes;
    for (size_t i = read_offset_; i < ids_.size(); ++i) {
      if (tokenizer_.IsSpecial(ids_[i])) {
        if (!skip_special_tokens_) bytes.append(tokenizer_.TokenString(ids_[i]));
      } else {
        bytes.append(tokenizer_.TokenBytes(ids_[i]));
      }
    }
    if (bytes.empty() || EndsIncomplete(bytes)) return "";
  }
  const std::string text = tokenizer_.Decode(ids_, skip_special_tokens_);
  if (!final && text.size() <= prefix_text_.size()) return "";  // nothing new yet (a stripped space)
  // Decoding is prefix-stable for the supported decoders, so `text` starts with prefix_text_;
  // if a decoder ever rewrote the earlier part, emit from the same byte position rather than fail.
  std::string delta = text.size() > prefix_text_.size() ? text.substr(prefix_text_.size()) : std::string();
  // Slide the window: it now starts at the tokens just emitted, which give the next token
  // its context (its leading space), and the older ones are dropped.
  ids_.erase(ids_.begin(), ids_.begin() + static_cast<std::ptrdiff_t>(read_offset_));
  read_offset_ = ids_.size();
  prefix_text_ = tokenizer_.Decode(ids_, skip_special_tokens_);
  return delta;
}

}  // namespace mms::text
