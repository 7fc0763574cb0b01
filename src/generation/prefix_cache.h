// Prefix caching: a full KV block is indexed by a key chained over everything that
// decides its keys and values — the key of the block before it, a salt (content hashes
// of injected embeddings such as images; anything besides tokens that changes the rows)
// and the block's own tokens — so one key stands for the whole prefix up to the block's
// end. A new sequence whose prompt starts with indexed blocks takes references on them
// and computes only the rest (vLLM's automatic prefix caching).
//
// A wrong hit would hand one client's cached keys and values to another's prompt, so:
// the key is SipHash-2-4 over 64-bit words under a random per-cache secret (a client
// cannot construct colliding prompts without it), and a hit is also checked against
// the stored parent key, salt and tokens of the block.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "generation/block_manager.h"

namespace mms::generation {

class PrefixCache {
 public:
  // The hash secret is drawn from std::random_device.
  PrefixCache(BlockManager& blocks, int block_tokens);
  // A fixed secret (tests).
  PrefixCache(BlockManager& blocks, int block_tokens, uint64_t secret0, uint64_t secret1);

  // Parent key of a sequence's first block.
  static constexpr uint64_t kRootKey = 0;

  uint64_t Key(uint64_t parent_key, uint64_t salt, std::span<const int32_t> block_tokens) const;

  // Full blocks Match looks at for a sequence of n known tokens: all full ones but the
  // one holding the last token, which must be computed to get the next token's logits.
  int Eligible(size_t num_tokens) const;

  // Finds the longest run of indexed blocks at the start of `tokens`, takes a reference
  // on each (BlockManager::Acquire) and appends their ids and keys to `blocks` and
  // `keys`. Returns how many. Counts nothing (see CountLookup).
  int Match(std::span<const int32_t> tokens, uint64_t salt, std::vector<int32_t>& blocks,
            std::vector<uint64_t>& keys);

  // Indexes a held block whose keys and values for `block_tokens` (exactly
  // block_tokens() of them) are computed. Returns its key, which is the parent key of the
  // sequence's next block whether or not this block became the entry for it.
  uint64_t Insert(int block, uint64_t parent_key, uint64_t salt, std::span<const int32_t> block_tokens);

  // Statistics of one admitted sequence's lookup.
  void CountLookup(int queried, int hits) {
    queries_ += static_cast<uint64_t>(queried);
    hits_ += static_cast<uint64_t>(hits);
  }
  uint64_t queries() const { return queries_; }
  uint64_t hits() const { return hits_; }
  int block_tokens() const { return block_tokens_; }

 private:
  // Whether `block` is the verified entry for (parent, salt, tokens).
  bool Holds(int block, uint64_t parent_key, uint64_t salt, std::span<const int32_t> block_tokens) const;

  BlockManager& blocks_;
  int block_tokens_;
  uint64_t secret0_, secret1_;
  // What each keyed block was indexed with, by block id (meaningful while it has a key).
  std::vector<uint64_t> parent_of_, salt_of_;
  std::vector<int32_t> tokens_of_;  // num_blocks * block_tokens
  uint64_t queries_ = 0, hits_ = 0;
};

}  // namespace mms::generation
