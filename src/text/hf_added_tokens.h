// tokenizer.json's "added_tokens": the tokens matched in the text before the model sees it
// (special ones such as "<s>", and plain added words), with Hugging Face's matching rules:
// leftmost-longest, single_word, lstrip / rstrip, and two passes — the tokens with
// normalized=false on the raw text, those with normalized=true on each normalized piece.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace mms::text::internal {

struct HfAddedToken {
  int32_t id = 0;
  std::string content;
  bool special = false, single_word = false, lstrip = false, rstrip = false, normalized = true;
};

class HfAddedTokens {
 public:
  static HfAddedTokens Parse(const nlohmann::json& json, const std::string& where);

  struct Match {
    size_t begin, end;  // byte range in the text, lstrip/rstrip whitespace included
    int32_t id;
  };
  // The matches of the tokens with `normalized` equal to the argument, left to right. A
  // match for which `refuse(begin, end)` is true is not taken (literal ranges of a chat prompt).
  std::vector<Match> FindMatches(std::string_view text, bool normalized,
                                 const std::function<bool(size_t, size_t)>& refuse) const;

  const std::vector<HfAddedToken>& tokens() const { return tokens_; }
  bool empty() const { return tokens_.empty(); }

 private:
  struct Trie {
    std::unordered_map<uint64_t, int32_t> edges;  // (node << 8 | byte) -> child node
    std::vector<int32_t> token_at;                // node -> index in tokens_, or -1
    bool empty() const { return token_at.size() <= 1; }
  };
  void Insert(Trie* trie, int32_t index);
  std::vector<HfAddedToken> tokens_;
  Trie raw_, normalized_;
};

}  // namespace mms::text::internal
