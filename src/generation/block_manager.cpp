#include "generation/block_manager.h"

#include <string>

#include "base/error.h"

namespace mms::generation {

BlockManager::BlockManager(int num_blocks) {
  if (num_blocks < 0) ThrowInternal("BlockManager: negative block count " + std::to_string(num_blocks));
  const size_t n = static_cast<size_t>(num_blocks);
  refcount_.assign(n, 0);
  has_key_.assign(n, 0);
  key_.assign(n, 0);
  prev_.assign(n + 1, num_blocks);
  next_.assign(n + 1, num_blocks);
  // Ascending ids, so a fresh manager hands out 0, 1, 2, ... (easier to read in tests).
  for (int b = 0; b < num_blocks; ++b) PushBack(b);
  num_free_ = num_blocks;
}

void BlockManager::CheckBlock(int block, const char* what) const {
  if (block < 0 || block >= num_blocks()) {
    ThrowInternal(std::string("BlockManager::") + what + ": block " + std::to_string(block) + " outside [0, " +
                  std::to_string(num_blocks()) + ")");
  }
}

void BlockManager::Unlink(int block) {
  next_[static_cast<size_t>(prev_[static_cast<size_t>(block)])] = next_[static_cast<size_t>(block)];
  prev_[static_cast<size_t>(next_[static_cast<size_t>(block)])] = prev_[static_cast<size_t>(block)];
  prev_[static_cast<size_t>(block)] = next_[static_cast<size_t>(block)] = block;
}

void BlockManager::PushFront(int block) {
  const int sentinel = num_blocks();
  const int first = next_[static_cast<size_t>(sentinel)];
  prev_[static_cast<size_t>(block)] = sentinel;
  next_[static_cast<size_t>(block)] = first;
  prev_[static_cast<size_t>(first)] = block;
  next_[static_cast<size_t>(sentinel)] = block;
}

void BlockManager::PushBack(int block) {
  const int sentinel = num_blocks();
  const int last = prev_[static_cast<size_t>(sentinel)];
  next_[static_cast<size_t>(block)] = sentinel;
  prev_[static_cast<size_t>(block)] = last;
  next_[static_cast<size_t>(last)] = block;
  prev_[static_cast<size_t>(sentinel)] = block;
}

int BlockManager::Allocate() {
  if (num_free_ == 0) return -1;
  const int block = next_[static_cast<size_t>(num_blocks())];
  Unlink(block);
  --num_free_;
  if (has_key_[static_cast<size_t>(block)]) {  // eviction: the memory is reused, the entry goes
    by_key_.erase(key_[static_cast<size_t>(block)]);
    has_key_[static_cast<size_t>(block)] = 0;
  }
  refcount_[static_cast<size_t>(block)] = 1;
  return block;
}

void BlockManager::Retain(int block) {
  CheckBlock(block, "Retain");
  if (refcount_[static_cast<size_t>(block)] <= 0) ThrowInternal("BlockManager::Retain: block " + std::to_string(block) + " is free");
  ++refcount_[static_cast<size_t>(block)];
}

void BlockManager::Release(int block) {
  CheckBlock(block, "Release");
  int32_t& count = refcount_[static_cast<size_t>(block)];
  if (count <= 0) ThrowInternal("BlockManager::Release: block " + std::to_string(block) + " is already free");
  if (--count > 0) return;
  // Key-less blocks are reused first; keyed ones queue in release order (LRU eviction).
  if (has_key_[static_cast<size_t>(block)]) {
    PushBack(block);
  } else {
    PushFront(block);
  }
  ++num_free_;
}

int BlockManager::MakeWritable(int block, layers::PagedKvCache& cache) {
  CheckBlock(block, "MakeWritable");
  if (refcount_[static_cast<size_t>(block)] <= 0) {
    ThrowInternal("BlockManager::MakeWritable: block " + std::to_string(block) + " is free");
  }
  if (refcount_[static_cast<size_t>(block)] == 1 && !has_key_[static_cast<size_t>(block)]) return block;
  const int copy = Allocate();
  if (copy < 0) return -1;
  cache.CopyBlock(block, copy);
  Release(block);
  return copy;
}

int BlockManager::FindKeyed(uint64_t key) const {
  const auto it = by_key_.find(key);
  return it == by_key_.end() ? -1 : it->second;
}

void BlockManager::Acquire(int block) {
  CheckBlock(block, "Acquire");
  if (refcount_[static_cast<size_t>(block)]++ == 0) {
    Unlink(block);
    --num_free_;
  }
}

bool BlockManager::SetKey(int block, uint64_t key) {
  CheckBlock(block, "SetKey");
  if (refcount_[static_cast<size_t>(block)] <= 0) ThrowInternal("BlockManager::SetKey: block " + std::to_string(block) + " is free");
  if (has_key_[static_cast<size_t>(block)] || by_key_.count(key) != 0) return false;
  by_key_.emplace(key, block);
  has_key_[static_cast<size_t>(block)] = 1;
  key_[static_cast<size_t>(block)] = key;
  return true;
}

}  // namespace mms::generation
