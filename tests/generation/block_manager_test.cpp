// BlockManager and PrefixCache: reference counts, the free queue's order, copy-on-write
// and the eviction of cached blocks, checked against hand-worked expectations.
#include "generation/block_manager.h"

#include <gtest/gtest.h>

#include <vector>

#include "base/error.h"
#include "generation/prefix_cache.h"
#include "layers/paged_kv_cache.h"

namespace mms::generation {
namespace {

TEST(BlockManager, AllocatesEveryBlockOnceThenNone) {
  BlockManager m(3);
  EXPECT_EQ(m.num_free(), 3);
  EXPECT_EQ(m.Allocate(), 0);
  EXPECT_EQ(m.Allocate(), 1);
  EXPECT_EQ(m.Allocate(), 2);
  EXPECT_EQ(m.Allocate(), -1);
  EXPECT_EQ(m.num_free(), 0);
  EXPECT_EQ(m.num_used(), 3);
}

TEST(BlockManager, ReferenceCountsKeepSharedBlocksUntilTheLastRelease) {
  BlockManager m(2);
  const int b = m.Allocate();
  m.Retain(b);
  EXPECT_EQ(m.refcount(b), 2);
  m.Release(b);
  EXPECT_EQ(m.refcount(b), 1);
  EXPECT_EQ(m.num_free(), 1);
  m.Release(b);
  EXPECT_EQ(m.refcount(b), 0);
  EXPECT_EQ(m.num_free(), 2);
  // Double release and out-of-range ids are bugs, reported as internal errors.
  try {
    m.Release(b);
    FAIL() << "released a free block";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInternal);
  }
  EXPECT_THROW(m.Retain(7), Error);
  EXPECT_THROW(m.Release(-1), Error);
}

TEST(BlockManager, KeyLessBlocksAreReusedBeforeCachedOnes) {
  BlockManager m(4);
  const int a = m.Allocate(), b = m.Allocate(), c = m.Allocate(), d = m.Allocate();
  ASSERT_TRUE(m.SetKey(a, 100));
  ASSERT_TRUE(m.SetKey(b, 200));
  m.Release(a);  // keyed: queued last, a before b
  m.Release(b);
  m.Release(c);  // key-less: first out
  m.Release(d);
  EXPECT_EQ(m.num_free(), 4);
  EXPECT_EQ(m.num_keyed(), 2);
  EXPECT_EQ(m.Allocate(), d);
  EXPECT_EQ(m.Allocate(), c);
  EXPECT_EQ(m.FindKeyed(100), a);
  // Now eviction: the least recently released keyed block goes and loses its key.
  EXPECT_EQ(m.Allocate(), a);
  EXPECT_EQ(m.FindKeyed(100), -1);
  EXPECT_FALSE(m.has_key(a));
  EXPECT_EQ(m.FindKeyed(200), b);
  EXPECT_EQ(m.num_keyed(), 1);
}

TEST(BlockManager, AcquiringAFreeCachedBlockTakesItOffTheFreeQueue) {
  BlockManager m(3);
  const int a = m.Allocate();
  ASSERT_TRUE(m.SetKey(a, 42));
  m.Release(a);
  EXPECT_EQ(m.num_free(), 3);
  ASSERT_EQ(m.FindKeyed(42), a);
  m.Acquire(a);
  EXPECT_EQ(m.refcount(a), 1);
  EXPECT_EQ(m.num_free(), 2);
  // The other two come out, then nothing: `a` is not handed out while held.
  const int x = m.Allocate(), y = m.Allocate();
  EXPECT_NE(x, a);
  EXPECT_NE(y, a);
  EXPECT_EQ(m.Allocate(), -1);
  EXPECT_EQ(m.FindKeyed(42), a);  // still indexed
  m.Acquire(a);                   // a second holder of a held block
  EXPECT_EQ(m.refcount(a), 2);
}

TEST(BlockManager, AKeyBelongsToOneBlockAndABlockToOneKey) {
  BlockManager m(2);
  const int a = m.Allocate(), b = m.Allocate();
  EXPECT_TRUE(m.SetKey(a, 1));
  EXPECT_FALSE(m.SetKey(b, 1));  // same prefix computed twice: the first stays the entry
  EXPECT_FALSE(m.SetKey(a, 2));
  EXPECT_EQ(m.FindKeyed(1), a);
  EXPECT_EQ(m.FindKeyed(2), -1);
  EXPECT_FALSE(m.has_key(b));
}

layers::KvCacheShape TinyShape() { return layers::KvCacheShape{2, 1, 2, 4}; }

void Fill(layers::PagedKvCache& cache, int block, float base) {
  const auto& s = cache.shape();
  for (int l = 0; l < s.layers; ++l) {
    for (int i = 0; i < s.block_tokens * s.row_floats(); ++i) {
      cache.keys(block, l)[i] = base + static_cast<float>(l * 100 + i);
      cache.values(block, l)[i] = -base - static_cast<float>(l * 100 + i);
    }
  }
}

TEST(BlockManager, CopyOnWriteCopiesASharedBlockAndMovesOnlyTheWritersReference) {
  layers::PagedKvCache cache(TinyShape(), 3);
  BlockManager m(3);
  const int shared = m.Allocate();
  Fill(cache, shared, 5.0f);
  m.Retain(shared);  // a fork: two holders

  const int mine = m.MakeWritable(shared, cache);
  ASSERT_GE(mine, 0);
  EXPECT_NE(mine, shared);
  EXPECT_EQ(m.refcount(shared), 1);
  EXPECT_EQ(m.refcount(mine), 1);
  const auto& s = cache.shape();
  for (int l = 0; l < s.layers; ++l) {
    for (int i = 0; i < s.block_tokens * s.row_floats(); ++i) {
      ASSERT_EQ(cache.keys(mine, l)[i], 5.0f + static_cast<float>(l * 100 + i));
      ASSERT_EQ(cache.values(mine, l)[i], -5.0f - static_cast<float>(l * 100 + i));
    }
  }
  // Writing the copy leaves the other holder's rows alone.
  cache.keys(mine, 1)[0] = -1.0f;
  EXPECT_EQ(cache.keys(shared, 1)[0], 105.0f);

  // The only holder of a key-less block writes in place.
  EXPECT_EQ(m.MakeWritable(mine, cache), mine);
  // A keyed block is never written, even by its only holder.
  ASSERT_TRUE(m.SetKey(shared, 9));
  const int copy = m.MakeWritable(shared, cache);
  EXPECT_NE(copy, shared);
  EXPECT_EQ(m.refcount(shared), 0);
  EXPECT_EQ(m.FindKeyed(9), shared);
  // No block left for another copy: nothing changes.
  const int last = m.Allocate();  // evicts `shared`, the only free block
  EXPECT_EQ(last, shared);
  m.Retain(last);
  EXPECT_EQ(m.MakeWritable(last, cache), -1);
  EXPECT_EQ(m.refcount(last), 2);
}

TEST(PrefixCache, KeysDependOnParentSaltAndEveryToken) {
  BlockManager m(1);
  PrefixCache p(m, 4, 1, 2);
  const std::vector<int32_t> t = {1, 2, 3, 4};
  const uint64_t k = p.Key(0, 0, t);
  EXPECT_EQ(k, p.Key(0, 0, t));
  EXPECT_NE(k, p.Key(1, 0, t));
  EXPECT_NE(k, p.Key(0, 1, t));
  EXPECT_NE(k, p.Key(0, 0, std::vector<int32_t>{1, 2, 3, 5}));
  EXPECT_NE(k, p.Key(0, 0, std::vector<int32_t>{2, 1, 3, 4}));
  PrefixCache other_secret(m, 4, 3, 4);
  EXPECT_NE(k, other_secret.Key(0, 0, t));
}

TEST(PrefixCache, MatchesTheLongestIndexedRunAndLeavesTheLastTokenToCompute) {
  BlockManager m(8);
  PrefixCache p(m, 4, 7, 8);
  // A sequence of 12 tokens computed into three blocks and indexed.
  const std::vector<int32_t> seq = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
  std::vector<int32_t> table;
  uint64_t parent = PrefixCache::kRootKey;
  for (int b = 0; b < 3; ++b) {
    table.push_back(m.Allocate());
    parent = p.Insert(table.back(), parent, 0, std::span<const int32_t>(seq).subspan(b * 4, 4));
  }
  // Released last block first, as the scheduler does: the tail is evicted first.
  auto release = [&](const std::vector<int32_t>& held) {
    for (auto it = held.rbegin(); it != held.rend(); ++it) m.Release(*it);
  };
  release(table);

  // The same 12 tokens: only two blocks may be reused (token 12 must run for logits).
  std::vector<int32_t> blocks;
  std::vector<uint64_t> keys;
  EXPECT_EQ(p.Eligible(12), 2);
  EXPECT_EQ(p.Match(seq, 0, blocks, keys), 2);
  EXPECT_EQ(blocks, (std::vector<int32_t>{table[0], table[1]}));
  EXPECT_EQ(keys.size(), 2u);
  EXPECT_EQ(m.refcount(table[0]), 1);
  release(blocks);

  // A longer sequence sharing all 12 tokens: three blocks; one differing in its 6th: one.
  std::vector<int32_t> longer = seq;
  longer.insert(longer.end(), {20, 21, 22});
  blocks.clear();
  keys.clear();
  EXPECT_EQ(p.Match(longer, 0, blocks, keys), 3);
  release(blocks);
  std::vector<int32_t> diverging = seq;
  diverging[5] = 60;
  blocks.clear();
  keys.clear();
  EXPECT_EQ(p.Match(diverging, 0, blocks, keys), 1);
  release(blocks);
  // Another salt (another image) matches nothing.
  blocks.clear();
  keys.clear();
  EXPECT_EQ(p.Match(longer, 99, blocks, keys), 0);

  // Free queue now: 5 key-less blocks, then table[2], table[1], table[0]. Six
  // allocations evict the tail block only; the two-block prefix still matches.
  std::vector<int32_t> taken;
  for (int i = 0; i < 6; ++i) taken.push_back(m.Allocate());
  EXPECT_FALSE(m.has_key(table[2]));
  EXPECT_TRUE(m.has_key(table[1]));
  blocks.clear();
  keys.clear();
  EXPECT_EQ(p.Match(longer, 0, blocks, keys), 2);
  release(blocks);
  // Two more evict the rest; the head gone, nothing matches.
  taken.push_back(m.Allocate());
  taken.push_back(m.Allocate());
  EXPECT_EQ(m.num_keyed(), 0);
  release(taken);
  blocks.clear();
  keys.clear();
  EXPECT_EQ(p.Match(longer, 0, blocks, keys), 0);
}

TEST(PrefixCache, AMatchTakesAReferenceAndInsertWantsAFullBlock) {
  BlockManager m(2);
  PrefixCache p(m, 2, 5, 6);
  const std::vector<int32_t> a = {1, 2, 3};
  const int block = m.Allocate();
  p.Insert(block, PrefixCache::kRootKey, 0, std::span<const int32_t>(a).subspan(0, 2));
  std::vector<int32_t> blocks;
  std::vector<uint64_t> keys;
  EXPECT_EQ(p.Match(a, 0, blocks, keys), 1);
  EXPECT_EQ(m.refcount(block), 2);
  EXPECT_THROW(p.Insert(block, 0, 0, std::span<const int32_t>(a)), Error);  // not a full block's worth
}

}  // namespace
}  // namespace mms::generation
