#include "text/bpe_model.h"

#include <nlohmann/json.hpp>

#include <limits>
#include <queue>
#include <unordered_set>

#include "base/error.h"
#include "text/utf8.h"

namespace mms::text::internal {
namespace {

constexpr size_t kMaxMerges = 49152 - 256 - 2;
constexpr std::string_view kEndOfWord = "</w>";

bool StandsForItself(unsigned byte) {
  return (byte >= '!' && byte <= '~') || (byte >= 0xA1 && byte <= 0xAC) || (byte >= 0xAE && byte <= 0xFF);
}

// A token or line for an error message, quoted and cut to a readable length.
std::string Quote(std::string_view s) {
  std::string quoted(1, '"');
  quoted.append(s.substr(0, 80));
  quoted.append(s.size() > 80 ? "...\"" : "\"");
  return quoted;
}

std::unordered_map<std::string, int32_t> ParseVocab(std::string_view json_text, const std::string& name) {
  nlohmann::json json;
  try {
    json = nlohmann::json::parse(json_text);
  } catch (const nlohmann::json::exception& e) {
    ThrowInvalidModel("CLIP tokenizer: " + name + " is not valid JSON: " + e.what());
  }
  if (!json.is_object() || json.empty()) {
    ThrowInvalidModel("CLIP tokenizer: " + name + " must be a non-empty JSON object mapping each token to its id");
  }
  std::unordered_map<std::string, int32_t> vocab;
  std::unordered_map<int64_t, std::string> token_of_id;
  vocab.reserve(json.size());
  for (const auto& [token, id] : json.items()) {
    if (!id.is_number_integer() || id.get<int64_t>() < 0 || id.get<int64_t>() > std::numeric_limits<int32_t>::max()) {
      ThrowInvalidModel("CLIP tokenizer: " + name + ": token " + Quote(token) + " has id " + id.dump(-1).substr(0, 40) +
                        ", expected a non-negative integer");
    }
    const auto [it, fresh] = token_of_id.emplace(id.get<int64_t>(), token);
    if (!fresh) {
      ThrowInvalidModel("CLIP tokenizer: " + name + ": id " + std::to_string(id.get<int64_t>()) + " is used by both " +
                        Quote(it->second) + " and " + Quote(token));
    }
    vocab.emplace(token, static_cast<int32_t>(id.get<int64_t>()));
  }
  return vocab;
}

// Splits one merges.txt line on whitespace as Python's str.split() does for ASCII.
std::vector<std::string_view> SplitFields(std::string_view line) {
  std::vector<std::string_view> fields;
  size_t pos = 0;
  while (pos < line.size()) {
    while (pos < line.size() && (line[pos] == ' ' || line[pos] == '\t' || line[pos] == '\r')) ++pos;
    const size_t begin = pos;
    while (pos < line.size() && line[pos] != ' ' && line[pos] != '\t' && line[pos] != '\r') ++pos;
    if (pos > begin) fields.push_back(line.substr(begin, pos - begin));
  }
  return fields;
}

}  // namespace

char32_t ByteToUnicode(uint8_t byte) {
  if (StandsForItself(byte)) return byte;
  char32_t next = 0x100;  // the others take U+0100.. in byte order
  for (unsigned b = 0; b < byte; ++b) {
    if (!StandsForItself(b)) ++next;
  }
  return next;
}

BpeModel BpeModel::Parse(std::string_view vocab_json, std::string_view merges_txt, const std::string& vocab_name,
                         const std::string& merges_name) {
  BpeModel model;
  model.vocab_ = ParseVocab(vocab_json, vocab_name);

  for (unsigned b = 0; b < 256; ++b) {
    std::string token;
    AppendUtf8(ByteToUnicode(static_cast<uint8_t>(b)), &token);
    const auto inner = model.TokenId(token);
    const auto last = model.TokenId(token + std::string(kEndOfWord));
    if (!inner || !last) {
      ThrowInvalidModel("CLIP tokenizer: " + vocab_name + " lacks the token " +
                        Quote(inner ? token + std::string(kEndOfWord) : token) + " for byte " + std::to_string(b) +
                        " (not a CLIP byte-level vocabulary)");
    }
    model.byte_ids_[b] = *inner;
    model.byte_end_ids_[b] = *last;
  }

  // Python slices the lines [1 : 1 + kMaxMerges], so lines 2 .. kMaxMerges + 1 (1-based) are
  // read; a line's rank is its position, and a blank line is a merge that never applies.
  size_t pos = 0;
  for (size_t line_number = 1; line_number <= kMaxMerges + 1 && pos <= merges_txt.size(); ++line_number) {
    const size_t newline = merges_txt.find('\n', pos);
    const size_t end = newline == std::string_view::npos ? merges_txt.size() : newline;
    const std::string_view line = merges_txt.substr(pos, end - pos);
    pos = end + 1;
    if (line_number == 1) continue;  // "#version: 0.2"
    const std::vector<std::string_view> fields = SplitFields(line);
    if (fields.empty()) continue;
    const std::string where = "CLIP tokenizer: " + merges_name + " line " + std::to_string(line_number);
    if (fields.size() != 2) ThrowInvalidModel(where + ": expected two tokens separated by a space, got " + Quote(line));
    const std::string left(fields[0]), right(fields[1]);
    const auto left_id = model.TokenId(left), right_id = model.TokenId(right), merged_id = model.TokenId(left + right);
    if (!left_id || !right_id || !merged_id) {
      const std::string missing = !left_id ? left : !right_id ? right : left + right;
      ThrowInvalidModel(where + ": token " + Quote(missing) + " is not in " + vocab_name);
    }
    // A pair listed twice keeps its later rank, as Python's dict(zip(merges, range(...))) does.
    const uint32_t rank = static_cast<uint32_t>(line_number - 2);
    model.merges_.insert_or_assign(PairKey(*left_id, *right_id), Merge{rank, *merged_id});
  }
  if (model.merges_.empty()) ThrowInvalidModel("CLIP tokenizer: " + merges_name + " holds no merges");
  return model;
}

std::optional<int32_t> BpeModel::TokenId(const std::string& token) const {
  const auto it = vocab_.find(token);
  if (it == vocab_.end()) return std::nullopt;
  return it->second;
}

const BpeModel::Merge* BpeModel::FindMerge(int32_t left, int32_t right) const {
  const auto it = merges_.find(PairKey(left, right));
  return it == merges_.end() ? nullptr : &it->second;
}

// OpenAI's bpe() repeatedly takes the lowest-ranked adjacent pair and merges every
// non-overlapping occurrence of it, left to right, in one sweep. This does the same with a
// heap of candidate pairs ordered by (rank, position), so a long word costs O(n log n) rather
// than O(n^2): the occurrences of one rank pop in position order, and the pairs a sweep
// creates wait in `created` until that sweep is over, as Python only looks at them afterwards.
void BpeModel::EncodeWord(std::string_view piece, std::vector<int32_t>* ids) const {
  const size_t n = piece.size();
  if (n == 0) return;
  if (n == 1) {
    ids->push_back(byte_end_ids_[static_cast<uint8_t>(piece[0])]);
    return;
  }
  struct Symbol {
    int32_t id;
    int32_t prev;  // -1 at the start
    int32_t next;  // -1 at the end
  };
  std::vector<Symbol> symbols(n);
  for (size_t i = 0; i < n; ++i) {
    const uint8_t byte = static_cast<uint8_t>(piece[i]);
    symbols[i] = {i + 1 == n ? byte_end_ids_[byte] : byte_ids_[byte], static_cast<int32_t>(i) - 1,
                  i + 1 == n ? -1 : static_cast<int32_t>(i + 1)};
  }

  struct Candidate {
    uint32_t rank;
    int32_t left;  // index of the left symbol
    int32_t left_id, right_id, merged_id;
    bool operator>(const Candidate& o) const { return rank != o.rank ? rank > o.rank : left > o.left; }
  };
  std::priority_queue<Candidate, std::vector<Candidate>, std::greater<>> heap;
  std::vector<Candidate> created;
  const auto consider = [&](int32_t left, std::vector<Candidate>* into) {
    if (left < 0 || symbols[left].next < 0) return;
    const int32_t right = symbols[left].next;
    if (const Merge* m = FindMerge(symbols[left].id, symbols[right].id)) {
      into->push_back({m->rank, left, symbols[left].id, symbols[right].id, m->merged});
    }
  };
  for (int32_t i = 0; i + 1 < static_cast<int32_t>(n); ++i) consider(i, &created);
  for (const Candidate& c : created) heap.push(c);
  created.clear();

  uint32_t sweep_rank = std::numeric_limits<uint32_t>::max();
  while (!heap.empty() || !created.empty()) {
    if (!created.empty() && (heap.empty() || heap.top().rank != sweep_rank)) {
      for (const Candidate& c : created) heap.push(c);  // the sweep is over
      created.clear();
      continue;
    }
    const Candidate top = heap.top();
    heap.pop();
    Symbol& left = symbols[top.left];
    // Stale when either symbol has since been merged away or into something else.
    if (left.id != top.left_id || left.next < 0 || symbols[left.next].id != top.right_id) continue;
    sweep_rank = top.rank;
    const int32_t right_index = left.next;
    left.id = top.merged_id;
    left.next = symbols[right_index].next;
    if (left.next >= 0) symbols[left.next].prev = top.left;
    symbols[right_index].id = -1;  // no candidate can match a removed symbol
    consider(left.prev, &created);
    consider(top.left, &created);
  }

  for (int32_t i = 0; i >= 0; i = symbols[i].next) ids->push_back(symbols[i].id);
}

}  // namespace mms::text::internal
