// Bookkeeping of the KV cache's blocks (the memory itself is layers::PagedKvCache): which
// blocks are free, how many sequences hold each one, and which full blocks are indexed
// by a prefix-cache key. vLLM's block pool is the model:
//  - a block held by several sequences (a shared prompt prefix, a fork for n > 1 or beam
//    search) has a reference count; it goes back to the pool when the last holder lets go;
//  - a released block that carries a prefix-cache key stays findable by that key until
//    the pool needs its memory: the free queue hands out key-less blocks first, then the
//    least recently released keyed ones, and a block handed out that way loses its key.
// One thread (the engine's loop) owns a BlockManager; it is not synchronised.
#pragma once

#include <cstdint>
#include <unordered_map>
#include <vector>

#include "layers/paged_kv_cache.h"

namespace mms::generation {

class BlockManager {
 public:
  explicit BlockManager(int num_blocks);

  int num_blocks() const { return static_cast<int>(refcount_.size()); }
  // Blocks Allocate can hand out now: unheld blocks, with or without a key.
  int num_free() const { return num_free_; }
  // Blocks held by at least one sequence.
  int num_used() const { return num_blocks() - num_free_; }
  // Blocks that carry a prefix-cache key (held or not).
  int num_keyed() const { return static_cast<int>(by_key_.size()); }

  // A block with reference count 1, or -1 when none is free. Evicts (drops the key of)
  // the least recently released keyed block when no key-less block is free.
  int Allocate();
  // One more holder of a held block.
  void Retain(int block);
  // One holder less; at zero the block returns to the free queue (keyed blocks last, so
  // they are evicted last).
  void Release(int block);
  int refcount(int block) const { return refcount_.at(static_cast<size_t>(block)); }

  // Copy-on-write: a block the caller (one of its holders) may write in place of
  // `block`. The block itself when the caller is its only holder and it carries no key
  // (a keyed block's contents must stay those of its key); otherwise a fresh block
  // holding a copy of its rows, the caller's reference moving to it. -1 when a copy is
  // needed and no block is free (nothing changes then).
  int MakeWritable(int block, layers::PagedKvCache& cache);

  // Prefix-cache index. The block holding `key`, or -1.
  int FindKeyed(uint64_t key) const;
  // Takes a reference on a block found by FindKeyed, taking it off the free queue when
  // nobody held it.
  void Acquire(int block);
  // Gives a held block `key`. False (and no change) when the block already has a key or
  // another block has this one: the first block computed for a prefix stays its entry.
  bool SetKey(int block, uint64_t key);
  bool has_key(int block) const { return has_key_.at(static_cast<size_t>(block)) != 0; }

 private:
  // Free queue: an intrusive doubly linked list over block ids with a sentinel at index
  // num_blocks, so that a keyed block found again leaves the queue in O(1).
  void Unlink(int block);
  void PushFront(int block);
  void PushBack(int block);
  void CheckBlock(int block, const char* what) const;

  std::vector<int32_t> refcount_;
  std::vector<uint8_t> has_key_;
  std::vector<uint64_t> key_;
  std::vector<int32_t> prev_, next_;  // size num_blocks + 1; the last entry is the sentinel
  std::unordered_map<uint64_t, int32_t> by_key_;
  int num_free_ = 0;
};

}  // namespace mms::generation
