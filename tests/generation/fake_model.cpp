#include "generation/fake_model.h"

#include <chrono>
#include <cstring>

#include "base/error.h"

namespace mms::testing {

void FakeModel::Row(int32_t token, const float* injected, int position, int layer, float* key, float* value) {
  for (int j = 0; j < kHeadDim; ++j) {
    // Small integers: exact in float, so both paths agree bit for bit.
    const float source = injected != nullptr ? injected[j] : static_cast<float>((token * 131 + j * 17) % 997);
    key[j] = source + static_cast<float>((position * 7 + layer * 3 + j) % 1013) * 1000.0f;
    value[j] = source * 2.0f + static_cast<float>((position * 11 + layer * 5 + j) % 1019);
  }
}

uint64_t FakeModel::HashRow(uint64_t h, const float* row) {
  for (int j = 0; j < kHeadDim; ++j) {
    uint32_t bits = 0;
    std::memcpy(&bits, &row[j], sizeof bits);
    h = (h ^ bits) * 0x100000001b3ull;
  }
  return h;
}

float FakeModel::Logit(uint64_t hash, int v) {
  uint64_t x = hash + 0x9e3779b97f4a7c15ull * static_cast<uint64_t>(v + 1);
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  x ^= x >> 31;
  return static_cast<float>(x >> 40) / 1024.0f;  // 24 bits: exact in float
}

void FakeModel::Step(std::span<const models::SequenceChunk> chunks, layers::PagedKvCache& cache, Workspace& workspace,
                     std::vector<float>& logits) const {
  std::vector<ChunkRecord> record;
  for (const auto& c : chunks) {
    record.push_back({c.block_table.empty() ? -1 : c.block_table[0], c.first_position,
                      static_cast<int>(c.tokens.size()), c.want_logits});
  }
  {
    std::unique_lock<std::mutex> lock(mutex_);
    records_.push_back(std::move(record));
    steps_.fetch_add(1);
    changed_.notify_all();
    changed_.wait(lock, [&] { return !hold_; });
  }

  const int bt = cache.shape().block_tokens;
  bool poisoned = false;
  for (const auto& c : chunks) {
    for (size_t i = 0; i < c.tokens.size(); ++i) {
      const int p = c.first_position + static_cast<int>(i);
      const float* injected = nullptr;
      for (const auto& e : c.injected) {
        if (e.position == p) injected = e.values;
      }
      const size_t index = static_cast<size_t>(p / bt);
      if (index >= c.block_table.size()) ThrowInternal("fake model: position " + std::to_string(p) + " has no block");
      const int block = c.block_table[index];
      for (int l = 0; l < kLayers; ++l) {
        Row(c.tokens[i], injected, p, l, cache.keys(block, l) + (p % bt) * kHeadDim,
            cache.values(block, l) + (p % bt) * kHeadDim);
      }
      if (c.tokens[i] == poison_) poisoned = true;
    }
    tokens_computed_.fetch_add(c.tokens.size());
  }
  if (poisoned) throw Error(ErrorCode::kInternal, "fake model: poisoned token");

  logits.clear();
  for (const auto& c : chunks) {
    if (!c.want_logits) continue;
    const int last = c.first_position + static_cast<int>(c.tokens.size()) - 1;
    uint64_t h = 0xcbf29ce484222325ull;
    for (int p = 0; p <= last; ++p) {
      const int block = c.block_table[static_cast<size_t>(p / bt)];
      for (int l = 0; l < kLayers; ++l) {
        h = HashRow(h, cache.keys(block, l) + (p % bt) * kHeadDim);
        h = HashRow(h, cache.values(block, l) + (p % bt) * kHeadDim);
      }
    }
    for (int v = 0; v < vocab_; ++v) logits.push_back(Logit(h, v));
  }
}

void FakeModel::Hold() {
  std::lock_guard<std::mutex> lock(mutex_);
  hold_ = true;
}

void FakeModel::Release() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    hold_ = false;
  }
  changed_.notify_all();
}

bool FakeModel::WaitForSteps(uint64_t n) const {
  std::unique_lock<std::mutex> lock(mutex_);
  return changed_.wait_for(lock, std::chrono::seconds(20), [&] { return steps_.load() >= n; });
}

std::vector<std::vector<FakeModel::ChunkRecord>> FakeModel::step_records() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return records_;
}

std::vector<int32_t> ReferenceGreedy(const std::vector<int32_t>& prompt, int max_tokens, int vocab, int valid_vocab,
                                     const std::vector<models::InjectedEmbedding>& injected) {
  std::vector<int32_t> tokens = prompt;
  std::vector<int32_t> out;
  float key[FakeModel::kHeadDim], value[FakeModel::kHeadDim];
  for (int step = 0; step < max_tokens; ++step) {
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t p = 0; p < tokens.size(); ++p) {
      const float* values = nullptr;
      for (const auto& e : injected) {
        if (e.position == static_cast<int>(p)) values = e.values;
      }
      for (int l = 0; l < FakeModel::kLayers; ++l) {
        FakeModel::Row(tokens[p], values, static_cast<int>(p), l, key, value);
        h = FakeModel::HashRow(h, key);
        h = FakeModel::HashRow(h, value);
      }
    }
    int best = 0;
    for (int v = 1; v < valid_vocab && v < vocab; ++v) {
      if (FakeModel::Logit(h, v) > FakeModel::Logit(h, best)) best = v;
    }
    out.push_back(best);
    tokens.push_back(best);
  }
  return out;
}

}  // namespace mms::testing
