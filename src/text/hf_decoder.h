// tokenizer.json's "decoder": turns token strings back into text (Sequence, Replace,
// ByteFallback, Fuse, Strip, Metaspace, ByteLevel), each step over the list of token
// strings as Hugging Face's decode_chain does. Without a decoder, tokens are joined by spaces.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "text/hf_regex.h"

namespace mms::text::internal {

class HfDecoder {
 public:
  static HfDecoder Parse(const nlohmann::json& json, const std::string& where);

  std::string Decode(std::vector<std::string> tokens) const;

  // What one token contributes when it follows other text: the steps that treat the first
  // token of a text specially (Strip, Metaspace's leading space) are left out, ByteFallback's
  // <0xNN> and ByteLevel's alphabet give raw bytes (possibly part of a UTF-8 sequence).
  std::string TokenBytes(const std::string& token) const;

  bool byte_level() const;

 private:
  enum class Kind { kReplace, kByteFallback, kFuse, kStrip, kMetaspace, kByteLevel };
  struct Step {
    Kind kind;
    std::vector<HfRegex> pattern;  // kReplace
    std::string content;           // kReplace: replacement; kStrip / kMetaspace: the character
    size_t start = 0, stop = 0;    // kStrip
    bool prepend = true;           // kMetaspace: prepend scheme is not "never"
  };
  void ParseInto(const nlohmann::json& json, const std::string& where, int depth);
  bool none_ = true;
  std::vector<Step> steps_;
};

// "<0xNN>" -> NN, or -1.
int ByteFallbackValue(const std::string& token);

}  // namespace mms::text::internal
