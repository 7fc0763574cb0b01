// tokenizer.json's "pre_tokenizer": splits each normalized piece into the words the model
// encodes one by one (Split with a regex, ByteLevel, Metaspace, Whitespace, WhitespaceSplit,
// Digits, Sequence), rewriting them where the step does (ByteLevel maps bytes to its
// printable alphabet, Metaspace turns spaces into "▁").
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "text/hf_regex.h"

namespace mms::text::internal {

struct HfPiece {
  std::string text;
  bool at_start = false;  // begins at offset 0 of the original input (Metaspace "first")
};

class HfPreTokenizer {
 public:
  static HfPreTokenizer Parse(const nlohmann::json& json, const std::string& where);
  void Apply(std::vector<HfPiece>* pieces) const;

 private:
  enum class Kind { kSplit, kByteLevel, kMetaspace };
  enum class Behavior { kRemoved, kIsolated, kMergedWithPrevious, kMergedWithNext, kContiguous };
  enum class Prepend { kAlways, kFirst, kNever };
  struct Step {
    Kind kind;
    std::vector<HfRegex> pattern;  // kSplit; kByteLevel with use_regex
    Behavior behavior = Behavior::kIsolated;
    bool invert = false;
    bool add_prefix_space = false;  // kByteLevel
    std::string replacement;        // kMetaspace: one character
    Prepend prepend = Prepend::kAlways;
    bool split = true;
  };
  void ParseInto(const nlohmann::json& json, const std::string& where, int depth);
  static void SplitPiece(const HfPiece& piece, const Step& step, std::vector<HfPiece>* out);
  std::vector<Step> steps_;
};

}  // namespace mms::text::internal
