#include "text/hf_added_tokens.h"

#include <utf8proc.h>

#include "base/error.h"
#include "text/hf_json.h"
#include "text/hf_normalizer.h"
#include "text/utf8.h"

namespace mms::text::internal {
namespace {

constexpr size_t kMaxAddedTokens = 1 << 18;
constexpr size_t kMaxAddedTokenBytes = 4096;

// The code point that ends text[0, end) (end > 0, valid UTF-8), and where it starts.
char32_t LastChar(std::string_view text, size_t end, size_t* start) {
  size_t begin = end - 1;
  while (begin > 0 && (static_cast<unsigned char>(text[begin]) & 0xC0) == 0x80) --begin;
  *start = begin;
  const std::u32string chars = DecodeUtf8Lossy(text.substr(begin, end - begin));
  return chars.empty() ? 0 : chars[0];
}

char32_t FirstChar(std::string_view text, size_t begin, size_t* end) {
  size_t stop = begin + 1;
  while (stop < text.size() && (static_cast<unsigned char>(text[stop]) & 0xC0) == 0x80) ++stop;
  *end = stop;
  const std::u32string chars = DecodeUtf8Lossy(text.substr(begin, stop - begin));
  return chars.empty() ? 0 : chars[0];
}

bool IsWordChar(char32_t c) {
  if (c == '_') return true;
  switch (utf8proc_category(static_cast<utf8proc_int32_t>(c))) {
    case UTF8PROC_CATEGORY_LU: case UTF8PROC_CATEGORY_LL: case UTF8PROC_CATEGORY_LT: case UTF8PROC_CATEGORY_LM:
    case UTF8PROC_CATEGORY_LO: case UTF8PROC_CATEGORY_ND: case UTF8PROC_CATEGORY_NL: case UTF8PROC_CATEGORY_NO:
      return true;
    default: return false;
  }
}

}  // namespace

HfAddedTokens HfAddedTokens::Parse(const nlohmann::json& json, const std::string& where) {
  HfAddedTokens added;
  added.raw_.token_at.assign(1, -1);
  added.normalized_.token_at.assign(1, -1);
  if (json.is_null()) return added;
  if (!json.is_array()) ThrowInvalidModel(where + ": expected an array");
  if (json.size() > kMaxAddedTokens) {
    ThrowInvalidModel(where + ": " + std::to_string(json.size()) + " tokens, over the cap of " +
                      std::to_string(kMaxAddedTokens));
  }
  for (size_t i = 0; i < json.size(); ++i) {
    const std::string at = where + "[" + std::to_string(i) + "]";
    const nlohmann::json& entry = json[i];
    if (!entry.is_object()) ThrowInvalidModel(at + ": expected an object");
    HfAddedToken token;
    token.id = static_cast<int32_t>(JsonInt(entry, "id", at, -1, 0, (1 << 24) - 1));
    if (FindField(entry, "id") == nullptr) ThrowInvalidModel(at + ".id: missing");
    token.content = JsonString(entry, "content", at, "", /*required=*/true);
    if (token.content.empty() || token.content.size() > kMaxAddedTokenBytes) {
      ThrowInvalidModel(at + ".content: must be 1 to " + std::to_string(kMaxAddedTokenBytes) + " bytes");
    }
    std::u32string ignored;
    if (!DecodeUtf8Strict(token.content, &ignored)) ThrowInvalidModel(at + ".content: not valid UTF-8");
    token.special = JsonBool(entry, "special", at, false);
    token.single_word = JsonBool(entry, "single_word", at, false);
    token.lstrip = JsonBool(entry, "lstrip", at, false);
    token.rstrip = JsonBool(entry, "rstrip", at, false);
    token.normalized = JsonBool(entry, "normalized", at, !token.special);
    added.tokens_.push_back(std::move(token));
    added.Insert(added.tokens_.back().normalized ? &added.normalized_ : &added.raw_,
                 static_cast<int32_t>(added.tokens_.size() - 1));
  }
  return added;
}

void HfAddedTokens::Insert(Trie* trie, int32_t index) {
  int32_t node = 0;
  for (const char c : tokens_[index].content) {
    const uint64_t key = (static_cast<uint64_t>(node) << 8) | static_cast<uint8_t>(c);
    const auto it = trie->edges.find(key);
    if (it != trie->edges.end()) {
      node = it->second;
    } else {
      const auto child = static_cast<int32_t>(trie->token_at.size());
      trie->token_at.push_back(-1);
      trie->edges.emplace(key, child);
      node = child;
    }
  }
  if (trie->token_at[node] < 0) trie->token_at[node] = index;  // the first of duplicates wins
}

std::vector<HfAddedTokens::Match> HfAddedTokens::FindMatches(
    std::string_view text, bool normalized, const std::function<bool(size_t, size_t)>& refuse) const {
  std::vector<Match> matches;
  const Trie& trie = normalized ? normalized_ : raw_;
  if (trie.empty()) return matches;
  size_t covered = 0;  // end of the previous match (with its stripped whitespace)
  size_t pos = 0;
  while (pos < text.size()) {
    // The longest token starting at pos.
    int32_t node = 0, found = -1;
    size_t found_end = 0;
    for (size_t i = pos; i < text.size(); ++i) {
      const auto it = trie.edges.find((static_cast<uint64_t>(node) << 8) | static_cast<uint8_t>(text[i]));
      if (it == trie.edges.end()) break;
      node = it->second;
      if (trie.token_at[node] >= 0) {
        found = trie.token_at[node];
        found_end = i + 1;
      }
    }
    if (found < 0 || pos < covered) {
      ++pos;
      continue;
    }
    const HfAddedToken& token = tokens_[found];
    if (refuse && refuse(pos, found_end)) {
      ++pos;
      continue;
    }
    size_t begin = pos, end = found_end;
    if (token.single_word) {
      size_t at;
      const bool word_before = begin > 0 && IsWordChar(LastChar(text, begin, &at));
      const bool word_after = end < text.size() && IsWordChar(FirstChar(text, end, &at));
      if (word_before || word_after) {
        pos = end;  // the matcher moves past a refused match, as Hugging Face's does
        continue;
      }
    }
    if (token.lstrip) {
      while (begin > covered) {
        size_t start;
        if (!IsUnicodeWhitespace(LastChar(text, begin, &start))) break;
        begin = start;
      }
    }
    if (token.rstrip) {
      while (end < text.size()) {
        size_t stop;
        if (!IsUnicodeWhitespace(FirstChar(text, end, &stop))) break;
        end = stop;
      }
    }
    matches.push_back({begin, end, token.id});
    covered = end;
    pos = found_end > end ? found_end : end;
  }
  return matches;
}

}  // namespace mms::text::internal
