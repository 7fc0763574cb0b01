// A compiled PCRE2 pattern (UTF + UCP) for the regular expressions of tokenizer.json: the
// Split pre-tokenizer's pattern, Replace normalizers and decoders. Hugging Face compiles
// them with Oniguruma; PCRE2 reads the same syntax for what tokenizers use (Unicode
// properties, case-insensitive groups, lookahead), which std::regex does not.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mms::text::internal {

class HfRegex {
 public:
  // Compiles `pattern`; throws Error(kInvalidModel) naming `where` (file and field) when it
  // does not compile or is over the length cap.
  HfRegex(std::string_view pattern, const std::string& where);
  // A literal string pattern (tokenizer.json's {"String": ...}): matched as is.
  static HfRegex Literal(std::string_view text, const std::string& where);

  // The non-overlapping matches in `text` (valid UTF-8), left to right, as byte ranges
  // [begin, end). Empty matches are skipped (they split nothing). Throws
  // Error(kInvalidArgument) when the text makes the pattern run past PCRE2's match limit.
  std::vector<std::pair<size_t, size_t>> FindAll(std::string_view text) const;

  // Replaces every match with `content`.
  std::string ReplaceAll(std::string_view text, std::string_view content) const;

 private:
  HfRegex() = default;
  struct Code;
  std::shared_ptr<const Code> code_;
  std::string literal_;  // non-empty: a plain substring pattern, no regex engine
  bool is_literal_ = false;
};

}  // namespace mms::text::internal
