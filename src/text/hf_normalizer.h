// tokenizer.json's "normalizer": the text rewrites applied to each piece of the input that
// is not an added token (NFC/NFKC/NFD/NFKD, Lowercase, Strip, Replace, Prepend, Sequence).
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "text/hf_regex.h"

namespace mms::text::internal {

class HfNormalizer {
 public:
  // `json` may be null (no normalizer). `where` names the file and field for errors.
  static HfNormalizer Parse(const nlohmann::json& json, const std::string& where);

  bool empty() const { return steps_.empty(); }
  std::string Apply(std::string text) const;

 private:
  enum class Kind { kNfc, kNfkc, kNfd, kNfkd, kLowercase, kStrip, kReplace, kPrepend };
  struct Step {
    Kind kind;
    bool strip_left = false, strip_right = false;
    std::vector<HfRegex> pattern;  // kReplace: exactly one
    std::string content;           // kReplace: the replacement; kPrepend: the prefix
  };
  void ParseInto(const nlohmann::json& json, const std::string& where, int depth);
  std::vector<Step> steps_;
};

// Rust's char::is_whitespace (Unicode White_Space), used by Strip and by added tokens'
// lstrip/rstrip.
bool IsUnicodeWhitespace(char32_t c);

// A tokenizer.json pattern, {"String": "..."} (literal) or {"Regex": "..."}.
HfRegex ParseHfPattern(const nlohmann::json& json, const std::string& where);

}  // namespace mms::text::internal
