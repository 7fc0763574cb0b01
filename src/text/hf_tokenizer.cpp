#include "text/hf_tokenizer.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <unordered_map>

#include "base/error.h"
#include "base/file_util.h"
#include "text/hf_added_tokens.h"
#include "text/hf_bpe.h"
#include "text/hf_decoder.h"
#include "text/hf_json.h"
#include "text/hf_normalizer.h"
#include "text/hf_pre_tokenizer.h"
#include "text/utf8.h"

namespace mms::text {
namespace internal {

constexpr uintmax_t kMaxTokenizerJsonBytes = 64u << 20;
constexpr int kMaxJsonDepth = 64;

// The post-processor's effect on the ids of one sequence when add_special_tokens is true:
// the ids put before and after it (TemplateProcessing's "single", Bert's / Roberta's
// cls and sep; ByteLevel changes only offsets).
struct HfPostProcessor {
  std::vector<int32_t> before, after;
  std::optional<int32_t> bos;

  void ParseInto(const nlohmann::json& json, const std::string& where, int depth) {
    if (depth > kMaxComponentDepth) ThrowInvalidModel(where + ": Sequence nested too deeply");
    const std::string type = JsonType(json, where);
    if (type == "Sequence") {
      const auto* list = FindField(json, "processors");
      if (list == nullptr || !list->is_array()) ThrowInvalidModel(where + ".processors: expected an array");
      for (size_t i = 0; i < list->size(); ++i) {
        ParseInto((*list)[i], where + ".processors[" + std::to_string(i) + "]", depth + 1);
      }
    } else if (type == "ByteLevel") {
      // offsets only
    } else if (type == "TemplateProcessing") {
      ParseTemplate(json, where);
    } else if (type == "BertProcessing" || type == "RobertaProcessing") {
      const auto id_of = [&](const char* key) -> int32_t {
        const auto* pair = FindField(json, key);
        if (pair == nullptr || !pair->is_array() || pair->size() != 2 || !(*pair)[1].is_number_integer() ||
            (*pair)[1].get<int64_t>() < 0 || (*pair)[1].get<int64_t>() > kMaxTokenId) {
          ThrowInvalidModel(where + "." + key + ": expected [token, id]");
        }
        return static_cast<int32_t>((*pair)[1].get<int64_t>());
      };
      const int32_t cls = id_of("cls"), sep = id_of("sep");
      before.insert(before.begin(), cls);
      after.push_back(sep);
    } else {
      ThrowInvalidModel(where + ": post-processor type \"" + type.substr(0, 64) + "\" is not supported");
    }
  }

  void ParseTemplate(const nlohmann::json& json, const std::string& where) {
    const auto* single = FindField(json, "single");
    if (single == nullptr || !single->is_array()) ThrowInvalidModel(where + ".single: expected an array");
    const auto* specials = FindField(json, "special_tokens");
    std::vector<int32_t> head, tail;
    bool seen_sequence = false;
    for (size_t i = 0; i < single->size(); ++i) {
      const std::string at = where + ".single[" + std::to_string(i) + "]";
      const nlohmann::json& item = (*single)[i];
      if (const auto* seq = FindField(item, "Sequence"); seq != nullptr) {
        if (seen_sequence) ThrowInvalidModel(at + ": a second sequence in the single template");
        seen_sequence = true;
        continue;
      }
      const auto* special = FindField(item, "SpecialToken");
      if (special == nullptr) ThrowInvalidModel(at + ": expected {\"SpecialToken\": ...} or {\"Sequence\": ...}");
      const std::string name = JsonString(*special, "id", at + ".SpecialToken", "", /*required=*/true);
      const nlohmann::json* entry = specials != nullptr ? FindField(*specials, name.c_str()) : nullptr;
      const nlohmann::json* ids = entry != nullptr ? FindField(*entry, "ids") : nullptr;
      if (ids == nullptr || !ids->is_array() || ids->size() > 64) {
        ThrowInvalidModel(at + ": special token \"" + name.substr(0, 64) + "\" has no ids in " + where +
                          ".special_tokens");
      }
      for (const auto& id : *ids) {
        if (!id.is_number_integer() || id.get<int64_t>() < 0 || id.get<int64_t>() > kMaxTokenId) {
          ThrowInvalidModel(where + ".special_tokens[\"" + name.substr(0, 64) + "\"].ids: expected token ids");
        }
        (seen_sequence ? tail : head).push_back(static_cast<int32_t>(id.get<int64_t>()));
      }
    }
    if (!seen_sequence) ThrowInvalidModel(where + ".single: no {\"Sequence\": ...} item");
    before.insert(before.begin(), head.begin(), head.end());
    after.insert(after.end(), tail.begin(), tail.end());
  }
};

struct HfTokenizerParts {
  HfTokenizerParts(HfAddedTokens a, HfNormalizer n, HfPreTokenizer p, HfBpe m, HfPostProcessor post, HfDecoder d)
      : added(std::move(a)), normalizer(std::move(n)), pre_tokenizer(std::move(p)), model(std::move(m)),
        post_processor(std::move(post)), decoder(std::move(d)) {}
  HfAddedTokens added;
  HfNormalizer normalizer;
  HfPreTokenizer pre_tokenizer;
  HfBpe model;
  HfPostProcessor post_processor;
  HfDecoder decoder;
  std::unordered_map<int32_t, const HfAddedToken*> added_by_id;
  TokenMap added_by_content;
  int64_t max_id = -1;
};

}  // namespace internal

using internal::HfPiece;

HfTokenizer HfTokenizer::Load(const std::string& tokenizer_json_path) {
  std::error_code ec;
  const uintmax_t size = std::filesystem::file_size(tokenizer_json_path, ec);
  if (!ec && size > internal::kMaxTokenizerJsonBytes) {
    ThrowInvalidModel(tokenizer_json_path + ": " + std::to_string(size) + " bytes, over the cap of " +
                      std::to_string(internal::kMaxTokenizerJsonBytes));
  }
  return FromJson(ReadFileBytes(tokenizer_json_path), tokenizer_json_path);
}

HfTokenizer HfTokenizer::FromJson(std::string_view json_text, const std::string& name) {
  if (json_text.size() > internal::kMaxTokenizerJsonBytes) {
    ThrowInvalidModel(name + ": " + std::to_string(json_text.size()) + " bytes, over the cap of " +
                      std::to_string(internal::kMaxTokenizerJsonBytes));
  }
  nlohmann::json json;
  try {
    json = nlohmann::json::parse(json_text, [](int depth, nlohmann::json::parse_event_t, nlohmann::json&) {
      if (depth > internal::kMaxJsonDepth) {
        throw Error(ErrorCode::kInvalidModel, "nested deeper than " + std::to_string(internal::kMaxJsonDepth) + " levels");
      }
      return true;
    });
  } catch (const nlohmann::json::exception& e) {
    ThrowInvalidModel(name + ": not valid JSON: " + e.what());
  } catch (const Error& e) {
    ThrowInvalidModel(name + ": " + e.what());
  }
  if (!json.is_object()) ThrowInvalidModel(name + ": expected a JSON object");
  const auto field = [&](const char* key) -> const nlohmann::json& {
    static const nlohmann::json null_json;
    const auto* value = internal::FindField(json, key);
    return value != nullptr ? *value : null_json;
  };
  if (field("model").is_null()) ThrowInvalidModel(name + ".model: missing");
  internal::HfPostProcessor post;
  if (!field("post_processor").is_null()) post.ParseInto(field("post_processor"), name + ".post_processor", 0);
  auto parts = std::make_shared<internal::HfTokenizerParts>(
      internal::HfAddedTokens::Parse(field("added_tokens"), name + ".added_tokens"),
      internal::HfNormalizer::Parse(field("normalizer"), name + ".normalizer"),
      internal::HfPreTokenizer::Parse(field("pre_tokenizer"), name + ".pre_tokenizer"),
      internal::HfBpe::Parse(field("model"), name + ".model"), std::move(post),
      internal::HfDecoder::Parse(field("decoder"), name + ".decoder"));
  parts->max_id = parts->model.max_id();
  for (const auto& token : parts->added.tokens()) {
    parts->added_by_id.emplace(token.id, &token);
    parts->added_by_content.emplace(token.content, token.id);
    parts->max_id = std::max<int64_t>(parts->max_id, token.id);
  }
  for (const int32_t id : parts->post_processor.before) parts->max_id = std::max<int64_t>(parts->max_id, id);
  for (const int32_t id : parts->post_processor.after) parts->max_id = std::max<int64_t>(parts->max_id, id);
  if (!parts->post_processor.before.empty()) parts->post_processor.bos = parts->post_processor.before.front();
  HfTokenizer tokenizer;
  tokenizer.parts_ = std::move(parts);
  return tokenizer;
}

std::vector<int32_t> HfTokenizer::Encode(std::string_view text, bool add_special_tokens) const {
  std::u32string ignored;
  if (!internal::DecodeUtf8Strict(text, &ignored)) {
    const std::string repaired = internal::EncodeUtf8(internal::DecodeUtf8Lossy(text));
    return EncodeImpl(repaired, {}, add_special_tokens);
  }
  return EncodeImpl(text, {}, add_special_tokens);
}

std::vector<int32_t> HfTokenizer::EncodeWithLiteralRanges(std::string_view text,
                                                          std::span<const std::pair<size_t, size_t>> literal_ranges,
                                                          bool add_special_tokens) const {
  std::u32string ignored;
  if (!internal::DecodeUtf8Strict(text, &ignored)) {
    ThrowInvalidArgument("tokenizer: the text to encode is not valid UTF-8");
  }
  for (const auto& [begin, end] : literal_ranges) {
    if (begin > end || end > text.size()) {
      ThrowInvalidArgument("tokenizer: literal range [" + std::to_string(begin) + ", " + std::to_string(end) +
                           ") lies outside the text of " + std::to_string(text.size()) + " bytes");
    }
  }
  return EncodeImpl(text, literal_ranges, add_special_tokens);
}

std::vector<int32_t> HfTokenizer::EncodeImpl(std::string_view text,
                                             std::span<const std::pair<size_t, size_t>> literal_ranges,
                                             bool add_special_tokens) const {
  const internal::HfTokenizerParts& p = *parts_;
  std::vector<int32_t> ids;
  if (add_special_tokens) ids = p.post_processor.before;
  const auto overlaps = [&](size_t offset) {
    return [&literal_ranges, offset](size_t begin, size_t end) {
      for (const auto& [lo, hi] : literal_ranges) {
        if (lo < hi && offset + begin < hi && lo < offset + end) return true;
      }
      return false;
    };
  };
  std::function<bool(size_t, size_t)> refuse_raw;
  if (!literal_ranges.empty()) refuse_raw = overlaps(0);

  std::vector<HfPiece> words;
  const auto encode_normalized = [&](std::string normalized, bool at_start) {
    words.clear();
    words.push_back({std::move(normalized), at_start});
    p.pre_tokenizer.Apply(&words);
    for (const HfPiece& word : words) p.model.Tokenize(word.text, &ids);
  };
  // A piece of the original text between added tokens: normalized on its own, then searched
  // for the added tokens that match normalized text.
  const auto encode_piece = [&](size_t begin, size_t end) {
    std::string normalized = p.normalizer.Apply(std::string(text.substr(begin, end - begin)));
    std::function<bool(size_t, size_t)> refuse;
    if (!literal_ranges.empty()) {
      if (p.normalizer.empty()) {
        refuse = overlaps(begin);  // normalized offsets are original offsets
      } else if (overlaps(0)(begin, end)) {
        refuse = [](size_t, size_t) { return true; };  // offsets moved: take none in this piece
      }
    }
    size_t last = 0;
    for (const auto& match : p.added.FindMatches(normalized, /*normalized=*/true, refuse)) {
      if (match.begin > last) encode_normalized(normalized.substr(last, match.begin - last), begin == 0 && last == 0);
      ids.push_back(match.id);
      last = match.end;
    }
    if (last < normalized.size()) encode_normalized(normalized.substr(last), begin == 0 && last == 0);
  };
  size_t last = 0;
  for (const auto& match : p.added.FindMatches(text, /*normalized=*/false, refuse_raw)) {
    if (match.begin > last) encode_piece(last, match.begin);
    ids.push_back(match.id);
    last = match.end;
  }
  if (last < text.size()) encode_piece(last, text.size());
  if (add_special_tokens) ids.insert(ids.end(), p.post_processor.after.begin(), p.post_processor.after.end());
  return ids;
}

std::string HfTokenizer::Decode(std::span<const int32_t> ids, bool skip_special_tokens) const {
  const internal::HfTokenizerParts& p = *parts_;
  std::vector<std::string> tokens;
  tokens.reserve(ids.size());
  for (const int32_t id : ids) {
    if (const auto it = p.added_by_id.find(id); it != p.added_by_id.end()) {
      if (!(skip_special_tokens && it->second->special)) tokens.push_back(it->second->content);
    } else if (const std::string* token = p.model.TokenString(id); token != nullptr) {
      tokens.push_back(*token);
    }
  }
  return p.decoder.Decode(std::move(tokens));
}

int HfTokenizer::vocab_size() const { return static_cast<int>(parts_->max_id + 1); }

std::optional<int32_t> HfTokenizer::TokenId(std::string_view token) const {
  if (const auto it = parts_->added_by_content.find(token); it != parts_->added_by_content.end()) return it->second;
  return parts_->model.TokenId(token);
}

const std::string& HfTokenizer::TokenString(int32_t id) const {
  static const std::string empty;
  if (const auto it = parts_->added_by_id.find(id); it != parts_->added_by_id.end()) return it->second->content;
  const std::string* token = parts_->model.TokenString(id);
  return token != nullptr ? *token : empty;
}

bool HfTokenizer::IsSpecial(int32_t id) const {
  const auto it = parts_->added_by_id.find(id);
  return it != parts_->added_by_id.end() && it->second->special;
}

std::string HfTokenizer::TokenBytes(int32_t id) const {
  if (IsSpecial(id)) return "";
  const std::string& token = TokenString(id);
  if (token.empty()) return "";
  return parts_->decoder.TokenBytes(token);
}

std::optional<int32_t> HfTokenizer::added_bos() const { return parts_->post_processor.bos; }

}  // namespace mms::text
