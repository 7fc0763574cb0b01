#include "text/hf_incremental_detokenizer.h"

namespace mms::text {
namespace {

// Past this many held tokens the text is emitted even if it still ends in U+FFFD: the
// replacement character is then in the text itself (a longest UTF-8 sequence is 4 bytes, so
// a real partial sequence resolves sooner), and the window stays short.
constexpr size_t kMaxHeldTokens = 8;

bool EndsWithReplacement(const std::string& text) {
  return text.size() >= 3 && text.compare(text.size() - 3, 3, "\xEF\xBF\xBD") == 0;
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
  const std::string text = tokenizer_.Decode(ids_, skip_special_tokens_);
  const bool held_long = ids_.size() - read_offset_ >= kMaxHeldTokens;
  if (!final && !held_long && (text.size() <= prefix_text_.size() || EndsWithReplacement(text))) {
    return "";  // nothing new yet, or an incomplete character at the end
  }
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
