// tokenizer.json's BPE model: the vocabulary, the ranked merges, and Hugging Face's merge
// loop for one word (byte_fallback to <0xNN> tokens, unk with fuse_unk, ignore_merges,
// continuing_subword_prefix / end_of_word_suffix). Merges are applied with a priority queue
// over the word's symbols, so a long word with few merges costs O(n log n), and short words
// are cached (bounded, thread-safe).
#pragma once

#include <nlohmann/json.hpp>

#include <array>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace mms::text::internal {

struct StringViewHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
using TokenMap = std::unordered_map<std::string, int32_t, StringViewHash, std::equal_to<>>;

// Caps on what a tokenizer.json may declare (the largest real vocabularies are ~260k).
inline constexpr size_t kMaxVocabEntries = 1 << 21;
inline constexpr int64_t kMaxTokenId = (1 << 24) - 1;
inline constexpr size_t kMaxMerges = 1 << 22;

class HfBpe {
 public:
  static HfBpe Parse(const nlohmann::json& model, const std::string& where);
  HfBpe(HfBpe&& other) noexcept;

  // Appends the ids of one pre-tokenized word (non-empty UTF-8).
  void Tokenize(std::string_view word, std::vector<int32_t>* ids) const;

  std::optional<int32_t> TokenId(std::string_view token) const;
  // The vocabulary entry of `id`, or nullptr when the model has none.
  const std::string* TokenString(int32_t id) const;
  int64_t max_id() const { return static_cast<int64_t>(id_to_token_.size()) - 1; }
  bool byte_fallback() const { return byte_fallback_; }

 private:
  HfBpe() = default;
  struct Merge {
    uint32_t rank;
    int32_t merged;
  };
  static uint64_t PairKey(int32_t left, int32_t right) {
    return (static_cast<uint64_t>(static_cast<uint32_t>(left)) << 32) | static_cast<uint32_t>(right);
  }
  void MergeWord(std::string_view word, std::vector<int32_t>* ids) const;

  TokenMap vocab_;
  std::vector<std::string> id_to_token_;
  std::vector<bool> has_id_;
  std::unordered_map<uint64_t, Merge> merges_;
  std::optional<int32_t> unk_id_;
  bool fuse_unk_ = false;
  bool byte_fallback_ = false;
  bool ignore_merges_ = false;
  std::string prefix_, suffix_;  // continuing_subword_prefix, end_of_word_suffix
  std::array<int32_t, 256> byte_ids_{};  // <0xNN> tokens, -1 where missing

  static constexpr size_t kCacheCapacity = 16384;
  static constexpr size_t kMaxCachedWordBytes = 256;
  mutable std::mutex cache_mutex_;
  mutable std::unordered_map<std::string, std::vector<int32_t>, StringViewHash, std::equal_to<>> cache_;
};

}  // namespace mms::text::internal
