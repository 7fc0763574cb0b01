#include "generation/prefix_cache.h"

#include <algorithm>
#include <bit>
#include <random>
#include <string>

#include "base/error.h"

namespace mms::generation {
namespace {

// SipHash-2-4's state and round (Aumasson and Bernstein), fed 64-bit words.
struct SipState {
  uint64_t v0, v1, v2, v3;

  SipState(uint64_t k0, uint64_t k1)
      : v0(k0 ^ 0x736f6d6570736575ull), v1(k1 ^ 0x646f72616e646f6dull), v2(k0 ^ 0x6c7967656e657261ull),
        v3(k1 ^ 0x7465646279746573ull) {}

  void Round() {
    v0 += v1; v1 = std::rotl(v1, 13); v1 ^= v0; v0 = std::rotl(v0, 32);
    v2 += v3; v3 = std::rotl(v3, 16); v3 ^= v2;
    v0 += v3; v3 = std::rotl(v3, 21); v3 ^= v0;
    v2 += v1; v1 = std::rotl(v1, 17); v1 ^= v2; v2 = std::rotl(v2, 32);
  }
  void Absorb(uint64_t m) {
    v3 ^= m;
    Round();
    Round();
    v0 ^= m;
  }
  uint64_t Finish() {
    v2 ^= 0xff;
    for (int i = 0; i < 4; ++i) Round();
    return v0 ^ v1 ^ v2 ^ v3;
  }
};

uint64_t RandomWord() {
  std::random_device device;
  return (static_cast<uint64_t>(device()) << 32) ^ device();
}

}  // namespace

PrefixCache::PrefixCache(BlockManager& blocks, int block_tokens)
    : PrefixCache(blocks, block_tokens, RandomWord(), RandomWord()) {}

PrefixCache::PrefixCache(BlockManager& blocks, int block_tokens, uint64_t secret0, uint64_t secret1)
    : blocks_(blocks), block_tokens_(block_tokens), secret0_(secret0), secret1_(secret1) {
  if (block_tokens <= 0) ThrowInternal("PrefixCache: block_tokens " + std::to_string(block_tokens) + " is not positive");
  const size_t n = static_cast<size_t>(blocks.num_blocks());
  parent_of_.assign(n, 0);
  salt_of_.assign(n, 0);
  tokens_of_.assign(n * static_cast<size_t>(block_tokens), 0);
}

uint64_t PrefixCache::Key(uint64_t parent_key, uint64_t salt, std::span<const int32_t> block_tokens) const {
  SipState state(secret0_, secret1_);
  state.Absorb(parent_key);
  state.Absorb(salt);
  size_t i = 0;
  for (; i + 1 < block_tokens.size(); i += 2) {
    state.Absorb(static_cast<uint32_t>(block_tokens[i]) | (static_cast<uint64_t>(static_cast<uint32_t>(block_tokens[i + 1])) << 32));
  }
  if (i < block_tokens.size()) state.Absorb(static_cast<uint32_t>(block_tokens[i]));
  // The length last, as SipHash's final word: token lists of different lengths differ.
  state.Absorb(static_cast<uint64_t>(block_tokens.size()) << 56);
  return state.Finish();
}

int PrefixCache::Eligible(size_t num_tokens) const {
  if (num_tokens == 0) return 0;
  return static_cast<int>((num_tokens - 1) / static_cast<size_t>(block_tokens_));
}

bool PrefixCache::Holds(int block, uint64_t parent_key, uint64_t salt, std::span<const int32_t> block_tokens) const {
  const size_t b = static_cast<size_t>(block);
  if (parent_of_[b] != parent_key || salt_of_[b] != salt) return false;
  const int32_t* stored = tokens_of_.data() + b * static_cast<size_t>(block_tokens_);
  return std::equal(block_tokens.begin(), block_tokens.end(), stored);
}

int PrefixCache::Match(std::span<const int32_t> tokens, uint64_t salt, std::vector<int32_t>& blocks,
                       std::vector<uint64_t>& keys) {
  const int eligible = Eligible(tokens.size());
  uint64_t parent = kRootKey;
  int found = 0;
  for (; found < eligible; ++found) {
    const auto piece = tokens.subspan(static_cast<size_t>(found) * block_tokens_, static_cast<size_t>(block_tokens_));
    const uint64_t key = Key(parent, salt, piece);
    const int block = blocks_.FindKeyed(key);
    if (block < 0 || !Holds(block, parent, salt, piece)) break;
    blocks_.Acquire(block);
    blocks.push_back(block);
    keys.push_back(key);
    parent = key;
  }
  return found;
}

uint64_t PrefixCache::Insert(int block, uint64_t parent_key, uint64_t salt, std::span<const int32_t> block_tokens) {
  if (block_tokens.size() != static_cast<size_t>(block_tokens_)) {
    ThrowInternal("PrefixCache::Insert: block " + std::to_string(block) + " has " + std::to_string(block_tokens.size()) +
                  " tokens, not " + std::to_string(block_tokens_));
  }
  const uint64_t key = Key(parent_key, salt, block_tokens);
  if (blocks_.SetKey(block, key)) {
    const size_t b = static_cast<size_t>(block);
    parent_of_[b] = parent_key;
    salt_of_[b] = salt;
    std::copy(block_tokens.begin(), block_tokens.end(), tokens_of_.begin() + static_cast<ptrdiff_t>(b * block_tokens_));
  }
  return key;
}

}  // namespace mms::generation
