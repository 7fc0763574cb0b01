// The mask walks the vocabulary trie depth first, cloning the automaton's state at each
// node (a few dozen bytes: only the live frames are copied), so a byte prefix shared by
// many tokens is checked once, and a subtree that cannot follow is skipped whole. Inside
// a string, a subtree of plain ASCII bytes is allowed without being walked.
#include "generation/json_constraint.h"

#include <algorithm>
#include <limits>
#include <nlohmann/json.hpp>

#include "base/error.h"
#include "generation/json_grammar.h"

namespace mms::generation {
namespace {

// Longer tokens never appear in constrained output (they bound the walk's depth).
constexpr size_t kMaxTokenBytes = 256;

bool PlainStringByte(uint8_t c) { return c >= 0x20 && c < 0x7F && c != '"' && c != '\\'; }

}  // namespace

TokenVocabularyBytes::TokenVocabularyBytes(std::vector<std::string> token_bytes) : tokens_(std::move(token_bytes)) {
  if (tokens_.size() > static_cast<size_t>(std::numeric_limits<int32_t>::max())) {
    ThrowInvalidArgument("token vocabulary: too many tokens");
  }
  for (size_t id = 0; id < tokens_.size(); ++id) {
    if (!tokens_[id].empty() && tokens_[id].size() <= kMaxTokenBytes) order_.push_back(static_cast<int32_t>(id));
  }
  std::sort(order_.begin(), order_.end(), [&](int32_t a, int32_t b) { return tokens_[a] < tokens_[b] || (tokens_[a] == tokens_[b] && a < b); });
  // Each node covers a range of order_ whose tokens share its depth's prefix: those that
  // end here come first (sorted), the rest split by their next byte into children.
  struct Work {
    uint32_t node, begin, end, depth;
  };
  nodes_.emplace_back();
  std::vector<Work> work = {{0, 0, static_cast<uint32_t>(order_.size()), 0}};
  while (!work.empty()) {
    const Work w = work.back();
    work.pop_back();
    uint32_t i = w.begin;
    while (i < w.end && tokens_[order_[i]].size() == w.depth) ++i;
    nodes_[w.node].ends_begin = w.begin;
    nodes_[w.node].ends_end = i;
    nodes_[w.node].subtree_end = w.end;
    uint32_t prev = 0;
    while (i < w.end) {
      const uint8_t byte = static_cast<uint8_t>(tokens_[order_[i]][w.depth]);
      uint32_t j = i;
      while (j < w.end && static_cast<uint8_t>(tokens_[order_[j]][w.depth]) == byte) ++j;
      const uint32_t child = static_cast<uint32_t>(nodes_.size());
      nodes_.emplace_back();
      nodes_[child].byte = byte;
      if (prev == 0) nodes_[w.node].first_child = child;
      else nodes_[prev].next_sibling = child;
      prev = child;
      work.push_back({child, i, j, w.depth + 1});
      i = j;
    }
  }
  // Children have larger indices than their parents: one backward pass fills the
  // subtree summaries.
  for (size_t n = nodes_.size(); n-- > 0;) {
    Node& node = nodes_[n];
    node.plain_below = true;
    node.max_below = 0;
    for (uint32_t c = node.first_child; c != 0; c = nodes_[c].next_sibling) {
      node.max_below = std::max(node.max_below, 1 + nodes_[c].max_below);
      node.plain_below = node.plain_below && PlainStringByte(nodes_[c].byte) && nodes_[c].plain_below;
    }
  }
}

namespace {

class JsonConstraint : public TokenConstraint {
 public:
  JsonConstraint(CompiledSchema schema, std::shared_ptr<const TokenVocabularyBytes> vocab, std::vector<int32_t> eos)
      : grammar_(std::move(schema)), vocab_(std::move(vocab)), eos_(std::move(eos)), state_(grammar_.Initial()) {}

  void Mask(std::span<float> logits) const override {
    const auto& nodes = vocab_->nodes();
    const auto& order = vocab_->order();
    thread_local std::vector<uint8_t> allowed;
    thread_local std::vector<JsonState> states;
    thread_local std::vector<std::pair<uint32_t, uint32_t>> stack;  // (node, depth)
    allowed.assign(vocab_->size(), 0);
    if (states.size() < kMaxTokenBytes + 1) states.resize(kMaxTokenBytes + 1);
    if (!finished_) {
      states[0].CopyFrom(state_);
      stack.clear();
      for (uint32_t c = nodes[0].first_child; c != 0; c = nodes[c].next_sibling) stack.push_back({c, 1});
      while (!stack.empty()) {
        const auto [n, d] = stack.back();
        stack.pop_back();
        const auto& node = nodes[n];
        JsonState& s = states[d];
        s.CopyFrom(states[d - 1]);
        if (!grammar_.Step(s, node.byte)) continue;
        for (uint32_t i = node.ends_begin; i < node.ends_end; ++i) allowed[order[i]] = 1;
        if (node.first_child == 0) continue;
        uint32_t room = 0;
        if (node.plain_below && grammar_.InPlainString(s, &room) && room >= node.max_below) {
          for (uint32_t i = node.ends_end; i < node.subtree_end; ++i) allowed[order[i]] = 1;
          continue;
        }
        for (uint32_t c = node.first_child; c != 0; c = nodes[c].next_sibling) stack.push_back({c, d + 1});
      }
    }
    // End of sequence: only (and always) when the document is whole.
    const bool complete = !finished_ && grammar_.Complete(state_);
    for (int32_t id : eos_) {
      if (id >= 0 && static_cast<size_t>(id) < allowed.size()) allowed[id] = complete;
    }
    const size_t known = std::min(logits.size(), allowed.size());
    constexpr float kNegInf = -std::numeric_limits<float>::infinity();
    for (size_t t = 0; t < known; ++t) logits[t] = allowed[t] ? logits[t] : kNegInf;
    for (size_t t = known; t < logits.size(); ++t) logits[t] = kNegInf;
  }

  void Accept(int32_t token) override {
    if (std::find(eos_.begin(), eos_.end(), token) != eos_.end()) {
      if (!grammar_.Complete(state_)) Fail(token, "end of sequence before the document is complete");
      finished_ = true;
      return;
    }
    if (finished_) Fail(token, "a token after the end of sequence");
    if (token < 0 || static_cast<size_t>(token) >= vocab_->size() || vocab_->bytes(token).empty() ||
        vocab_->bytes(token).size() > kMaxTokenBytes) {
      Fail(token, "not a token that can appear in JSON");
    }
    for (char c : vocab_->bytes(token)) {
      if (!grammar_.Step(state_, static_cast<uint8_t>(c))) Fail(token, "its bytes do not continue the document");
    }
  }

  bool Complete() const override { return finished_ || grammar_.Complete(state_); }

 private:
  // The sampler only picks tokens the mask allowed: anything else is a caller's bug.
  [[noreturn]] void Fail(int32_t token, const std::string& why) const {
    throw Error(ErrorCode::kInternal, "json constraint: token " + std::to_string(token) + " accepted: " + why);
  }

  JsonGrammar grammar_;
  std::shared_ptr<const TokenVocabularyBytes> vocab_;
  std::vector<int32_t> eos_;
  JsonState state_;
  bool finished_ = false;
};

}  // namespace

std::unique_ptr<TokenConstraint> MakeJsonConstraint(const nlohmann::json* schema,
                                                    std::shared_ptr<const TokenVocabularyBytes> vocab,
                                                    std::vector<int32_t> eos_ids) {
  if (!vocab) ThrowInvalidArgument("json constraint: no token vocabulary");
  return std::make_unique<JsonConstraint>(CompileJsonSchema(schema), std::move(vocab), std::move(eos_ids));
}

}  // namespace mms::generation
