// Constrained decoding for response_format json_object / json_schema: a TokenConstraint
// that allows only the tokens whose bytes keep the output a prefix of a valid document
// (json_schema.h describes the schema subset and the generated form), and end-of-sequence
// only once the document is complete.
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "generation/sampling.h"

namespace mms::generation {

// The token vocabulary as bytes, arranged in a trie so that tokens sharing a prefix are
// checked once for it. Built once per model and shared by every constrained sequence.
class TokenVocabularyBytes {
 public:
  // token_bytes[id]: the bytes the token adds to the output; empty for special tokens
  // (never allowed inside JSON).
  explicit TokenVocabularyBytes(std::vector<std::string> token_bytes);

  size_t size() const { return tokens_.size(); }
  const std::string& bytes(int32_t id) const { return tokens_[id]; }

  struct Node {
    uint32_t first_child = 0;   // 0: none (the root is node 0, never a child)
    uint32_t next_sibling = 0;  // 0: none
    uint32_t ends_begin = 0, ends_end = 0;  // order_[...]: tokens ending at this node
    uint32_t subtree_end = 0;   // order_[ends_begin, subtree_end): every token at or below
    uint32_t max_below = 0;     // the most bytes any token below adds after this node
    uint8_t byte = 0;
    bool plain_below = false;   // every byte below is printable ASCII other than '"' and '\\'
  };
  const std::vector<Node>& nodes() const { return nodes_; }
  const std::vector<int32_t>& order() const { return order_; }

 private:
  std::vector<std::string> tokens_;
  std::vector<Node> nodes_;
  std::vector<int32_t> order_;  // token ids sorted by their bytes (the trie's DFS order)
};

// schema == nullptr: json_object (one object, any keys and values). Throws
// Error(kInvalidArgument) naming the keyword and JSON pointer of an unsupported schema.
// eos_ids: the tokens that end the output (allowed only when the document is complete).
std::unique_ptr<TokenConstraint> MakeJsonConstraint(const nlohmann::json* schema,
                                                    std::shared_ptr<const TokenVocabularyBytes> vocab,
                                                    std::vector<int32_t> eos_ids);

}  // namespace mms::generation
