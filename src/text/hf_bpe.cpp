#include "text/hf_bpe.h"

#include <cstdio>
#include <queue>

#include "base/error.h"
#include "text/hf_json.h"

namespace mms::text::internal {
namespace {

std::string Quote(std::string_view s) {
  std::string quoted(1, '"');
  quoted.append(s.substr(0, 80));
  quoted.append(s.size() > 80 ? "...\"" : "\"");
  return quoted;
}

size_t Utf8Length(unsigned char lead) { return lead < 0x80 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4; }

}  // namespace

HfBpe::HfBpe(HfBpe&& other) noexcept
    : vocab_(std::move(other.vocab_)),
      id_to_token_(std::move(other.id_to_token_)),
      has_id_(std::move(other.has_id_)),
      merges_(std::move(other.merges_)),
      unk_id_(other.unk_id_),
      fuse_unk_(other.fuse_unk_),
      byte_fallback_(other.byte_fallback_),
      ignore_merges_(other.ignore_merges_),
      prefix_(std::move(other.prefix_)),
      suffix_(std::move(other.suffix_)),
      byte_ids_(other.byte_ids_) {}

HfBpe HfBpe::Parse(const nlohmann::json& model, const std::string& where) {
  const std::string type = JsonString(model, "type", where, "BPE");
  if (type != "BPE") ThrowInvalidModel(where + ".type: model type \"" + type.substr(0, 64) + "\" is not supported (BPE only)");
  if (const auto* dropout = FindField(model, "dropout"); dropout != nullptr && dropout->is_number() &&
                                                         dropout->get<double>() > 0.0) {
    ThrowInvalidModel(where + ".dropout: BPE dropout is not supported for inference");
  }
  HfBpe bpe;
  const auto* vocab = FindField(model, "vocab");
  if (vocab == nullptr || !vocab->is_object()) ThrowInvalidModel(where + ".vocab: expected an object of token -> id");
  if (vocab->size() > kMaxVocabEntries) {
    ThrowInvalidModel(where + ".vocab: " + std::to_string(vocab->size()) + " entries, over the cap of " +
                      std::to_string(kMaxVocabEntries));
  }
  bpe.vocab_.reserve(vocab->size());
  int64_t max_id = -1;
  for (const auto& [token, id] : vocab->items()) {
    if (!id.is_number_integer() || id.get<int64_t>() < 0 || id.get<int64_t>() > kMaxTokenId) {
      ThrowInvalidModel(where + ".vocab: token " + Quote(token) + " has id " + id.dump().substr(0, 40) +
                        ", expected an integer from 0 to " + std::to_string(kMaxTokenId));
    }
    bpe.vocab_.emplace(token, static_cast<int32_t>(id.get<int64_t>()));
    max_id = std::max(max_id, id.get<int64_t>());
  }
  bpe.id_to_token_.resize(static_cast<size_t>(max_id + 1));
  bpe.has_id_.assign(static_cast<size_t>(max_id + 1), false);
  for (const auto& [token, id] : bpe.vocab_) {
    if (bpe.has_id_[id]) {
      ThrowInvalidModel(where + ".vocab: id " + std::to_string(id) + " is used by both " +
                        Quote(bpe.id_to_token_[id]) + " and " + Quote(token));
    }
    bpe.has_id_[id] = true;
    bpe.id_to_token_[id] = token;
  }

  bpe.prefix_ = JsonString(model, "continuing_subword_prefix", where, "");
  bpe.suffix_ = JsonString(model, "end_of_word_suffix", where, "");
  bpe.fuse_unk_ = JsonBool(model, "fuse_unk", where, false);
  bpe.byte_fallback_ = JsonBool(model, "byte_fallback", where, false);
  bpe.ignore_merges_ = JsonBool(model, "ignore_merges", where, false);
  const std::string unk = JsonString(model, "unk_token", where, "");
  if (!unk.empty()) {
    if (const auto it = bpe.vocab_.find(unk); it != bpe.vocab_.end()) bpe.unk_id_ = it->second;
  }
  for (int b = 0; b < 256; ++b) {
    char name[8];
    std::snprintf(name, sizeof(name), "<0x%02X>", b);
    const auto it = bpe.vocab_.find(std::string_view(name));
    bpe.byte_ids_[b] = it == bpe.vocab_.end() ? -1 : it->second;
  }

  const auto* merges = FindField(model, "merges");
  if (merges != nullptr && !merges->is_array()) ThrowInvalidModel(where + ".merges: expected an array");
  if (merges != nullptr) {
    if (merges->size() > kMaxMerges) {
      ThrowInvalidModel(where + ".merges: " + std::to_string(merges->size()) + " merges, over the cap of " +
                        std::to_string(kMaxMerges));
    }
    bpe.merges_.reserve(merges->size());
    for (size_t rank = 0; rank < merges->size(); ++rank) {
      const nlohmann::json& merge = (*merges)[rank];
      const std::string at = where + ".merges[" + std::to_string(rank) + "]";
      std::string left, right;
      if (merge.is_string()) {
        // "a b": exactly two tokens separated by one space.
        const std::string& line = merge.get_ref<const std::string&>();
        const size_t space = line.find(' ');
        if (space == std::string::npos || line.find(' ', space + 1) != std::string::npos) {
          ThrowInvalidModel(at + ": " + Quote(line) + " is not two tokens separated by a space");
        }
        left = line.substr(0, space);
        right = line.substr(space + 1);
      } else if (merge.is_array() && merge.size() == 2 && merge[0].is_string() && merge[1].is_string()) {
        left = merge[0].get<std::string>();
        right = merge[1].get<std::string>();
      } else {
        ThrowInvalidModel(at + ": expected \"a b\" or [\"a\", \"b\"]");
      }
      const auto l = bpe.vocab_.find(left);
      const auto r = bpe.vocab_.find(right);
      if (l == bpe.vocab_.end() || r == bpe.vocab_.end()) {
        ThrowInvalidModel(at + ": " + Quote(l == bpe.vocab_.end() ? left : right) + " is not in the vocabulary");
      }
      const size_t strip = !bpe.prefix_.empty() && right.compare(0, bpe.prefix_.size(), bpe.prefix_) == 0
                               ? bpe.prefix_.size()
                               : 0;
      const std::string joined = left + right.substr(strip);
      const auto m = bpe.vocab_.find(joined);
      if (m == bpe.vocab_.end()) ThrowInvalidModel(at + ": the merged token " + Quote(joined) + " is not in the vocabulary");
      // A repeated pair takes the later rank, as Hugging Face's map does.
      bpe.merges_[PairKey(l->second, r->second)] = Merge{static_cast<uint32_t>(rank), m->second};
    }
  }
  return bpe;
}

std::optional<int32_t> HfBpe::TokenId(std::string_view token) const {
  const auto it = vocab_.find(token);
  if (it == vocab_.end()) return std::nullopt;
  return it->second;
}

const std::string* HfBpe::TokenString(int32_t id) const {
  if (id < 0 || static_cast<size_t>(id) >= id_to_token_.size() || !has_id_[id]) return nullptr;
  return &id_to_token_[id];
}

void HfBpe::Tokenize(std::string_view word, std::vector<int32_t>* ids) const {
  if (word.empty()) return;
  if (ignore_merges_) {
    if (const auto it = vocab_.find(word); it != vocab_.end()) {
      ids->push_back(it->second);
      return;
    }
  }
  const bool cacheable = word.size() <= kMaxCachedWordBytes;
  if (cacheable) {
    std::lock_guard<std::mutex> lock(cache_mutex_);
    if (const auto it = cache_.find(word); it != cache_.end()) {
      ids->insert(ids->end(), it->second.begin(), it->second.end());
      return;
    }
  }
  std::vector<int32_t> result;
  MergeWord(word, &result);
  ids->insert(ids->end(), result.begin(), result.end());
  if (cacheable) {
    std::lock_guard<std::mutex> lock(cache_mutex_);
    if (cache_.size() >= kCacheCapacity) cache_.clear();  // bounded: start over rather than grow
    cache_.emplace(std::string(word), std::move(result));
  }
}

void HfBpe::MergeWord(std::string_view word, std::vector<int32_t>* ids) const {
  struct Symbol {
    int32_t id;
    int64_t prev, next;
    bool removed;
  };
  std::vector<Symbol> symbols;
  symbols.reserve(word.size());
  const auto add = [&](int32_t id) {
    const int64_t index = static_cast<int64_t>(symbols.size());
    symbols.push_back({id, index - 1, index + 1, false});
  };
  int32_t pending_unk = -1;  // an unknown run not yet added (fuse_unk joins runs)
  std::string key;
  for (size_t pos = 0; pos < word.size();) {
    const size_t length = std::min(Utf8Length(static_cast<unsigned char>(word[pos])), word.size() - pos);
    const std::string_view ch = word.substr(pos, length);
    const bool first = pos == 0;
    pos += length;
    const bool last = pos >= word.size();
    key.clear();
    if (!first) key.append(prefix_);
    key.append(ch);
    if (last) key.append(suffix_);
    if (const auto it = vocab_.find(key); it != vocab_.end()) {
      if (pending_unk >= 0) {
        add(pending_unk);
        pending_unk = -1;
      }
      add(it->second);
      continue;
    }
    if (byte_fallback_) {
      bool all = true;
      for (const char c : key) all = all && byte_ids_[static_cast<uint8_t>(c)] >= 0;
      if (all) {
        for (const char c : key) add(byte_ids_[static_cast<uint8_t>(c)]);
        continue;
      }
    }
    if (unk_id_) {
      if (pending_unk >= 0 && !fuse_unk_) add(pending_unk);
      pending_unk = *unk_id_;
    }
    // Without an unk token the character is dropped, as Hugging Face does.
  }
  if (pending_unk >= 0) add(pending_unk);
  if (symbols.empty()) return;
  symbols.back().next = -1;

  struct Candidate {
    uint32_t rank;
    int64_t pos;
    int32_t merged;
    bool operator<(const Candidate& other) const {  // the queue pops the lowest rank, then the leftmost
      return rank != other.rank ? rank > other.rank : pos > other.pos;
    }
  };
  std::vector<Candidate> storage;
  storage.reserve(symbols.size());
  std::priority_queue<Candidate> queue(std::less<Candidate>(), std::move(storage));
  for (size_t i = 0; i + 1 < symbols.size(); ++i) {
    if (const auto it = merges_.find(PairKey(symbols[i].id, symbols[i + 1].id)); it != merges_.end()) {
      queue.push({it->second.rank, static_cast<int64_t>(i), it->second.merged});
    }
  }
  while (!queue.empty()) {
    const Candidate top = queue.top();
    queue.pop();
    Symbol& current = symbols[top.pos];
    if (current.removed || current.next < 0) continue;
    const int64_t next_pos = current.next;
    const Symbol right = symbols[next_pos];
    const auto it = merges_.find(PairKey(current.id, right.id));
    if (it == merges_.end() || it->second.merged != top.merged) continue;  // a stale entry
    current.id = top.merged;
    current.next = right.next;
    symbols[next_pos].removed = true;
    if (right.next >= 0) symbols[right.next].prev = top.pos;
    if (current.prev >= 0) {
      const auto p = merges_.find(PairKey(symbols[current.prev].id, current.id));
      if (p != merges_.end()) queue.push({p->second.rank, current.prev, p->second.merged});
    }
    if (current.next >= 0) {
      const auto n = merges_.find(PairKey(current.id, symbols[current.next].id));
      if (n != merges_.end()) queue.push({n->second.rank, top.pos, n->second.merged});
    }
  }
  for (const Symbol& s : symbols) {
    if (!s.removed) ids->push_back(s.id);
  }
}

}  // namespace mms::text::internal
