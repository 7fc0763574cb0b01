#include "generation/scheduler.h"

#include <algorithm>
#include <string>

#include "base/error.h"

namespace mms::generation {

Scheduler::Scheduler(const SchedulerConfig& config, BlockManager& blocks, PrefixCache& prefix,
                     layers::PagedKvCache& cache)
    : config_(config), blocks_(blocks), prefix_(prefix), cache_(cache) {
  if (config.block_tokens <= 0 || config.max_running_sequences <= 0 || config.max_tokens_per_step <= 0) {
    ThrowInternal("Scheduler: block_tokens, max_running_sequences and max_tokens_per_step must be positive");
  }
  running_.reserve(static_cast<size_t>(config.max_running_sequences));
}

void Scheduler::AddWaiting(SequenceState* sequence) {
  if (sequence->where != SequenceState::Where::kNowhere) {
    ThrowInternal("Scheduler::AddWaiting: sequence " + std::to_string(sequence->id) + " is already queued");
  }
  sequence->where = SequenceState::Where::kWaiting;
  waiting_.push_back(sequence);
}

void Scheduler::ReleaseBlocks(SequenceState& s) {
  // Last block first: the free queue evicts keyed blocks in release order, and a prefix
  // is only found from its first block on, so its tail should go before its head.
  for (auto it = s.block_table.rbegin(); it != s.block_table.rend(); ++it) blocks_.Release(*it);
  s.block_table.clear();
  s.block_keys.clear();
  s.num_computed = 0;
}

void Scheduler::Remove(SequenceState* sequence) {
  if (sequence->where == SequenceState::Where::kRunning) {
    running_.erase(std::find(running_.begin(), running_.end(), sequence));
  } else if (sequence->where == SequenceState::Where::kWaiting) {
    waiting_.erase(std::find(waiting_.begin(), waiting_.end(), sequence));
  }
  sequence->where = SequenceState::Where::kNowhere;
  ReleaseBlocks(*sequence);
}

void Scheduler::Preempt(SequenceState& s) {
  running_.erase(std::find(running_.begin(), running_.end(), &s));
  ReleaseBlocks(s);
  s.where = SequenceState::Where::kWaiting;
  waiting_.push_front(&s);
  ++preemptions_;
}

bool Scheduler::Grow(SequenceState& s, int n) {
  const size_t bt = static_cast<size_t>(config_.block_tokens);
  const size_t end = static_cast<size_t>(s.num_computed) + static_cast<size_t>(n);
  const size_t blocks_needed = (end + bt - 1) / bt;
  const size_t have = s.block_table.size();
  // Blocks already in the table that this chunk writes into must be the sequence's own
  // (a fork shares its partial last block until one side writes).
  size_t copies = 0;
  for (size_t b = static_cast<size_t>(s.num_computed) / bt; b < std::min(have, blocks_needed); ++b) {
    if (blocks_.refcount(s.block_table[b]) > 1 || blocks_.has_key(s.block_table[b])) ++copies;
  }
  const size_t fresh = blocks_needed > have ? blocks_needed - have : 0;
  if (fresh + copies > static_cast<size_t>(blocks_.num_free())) return false;
  for (size_t b = static_cast<size_t>(s.num_computed) / bt; copies > 0 && b < std::min(have, blocks_needed); ++b) {
    s.block_table[b] = blocks_.MakeWritable(s.block_table[b], cache_);
  }
  for (size_t i = 0; i < fresh; ++i) s.block_table.push_back(blocks_.Allocate());
  return true;
}

void Scheduler::Schedule(StepPlan& plan) {
  plan.Clear();
  int budget = config_.max_tokens_per_step;

  for (size_t i = 0; i < running_.size() && budget > 0;) {
    SequenceState* s = running_[i];
    const int left = static_cast<int>(s->tokens.size()) - s->num_computed;
    const int n = std::min(left, budget);
    if (n <= 0) {  // nothing to compute (cannot happen while the engine samples every logits row)
      ++i;
      continue;
    }
    bool self_preempted = false;
    while (!Grow(*s, n)) {
      SequenceState* victim = running_.back();
      Preempt(*victim);
      ++plan.preempted;
      if (victim == s) {
        self_preempted = true;
        break;
      }
    }
    if (self_preempted) break;  // everything after it went first
    plan.chunks.push_back({s, s->num_computed, n, s->num_computed + n == static_cast<int>(s->tokens.size())});
    budget -= n;
    ++i;
  }

  // Memory was short this step: admitting now would only preempt again next step.
  if (plan.preempted > 0) return;

  while (!waiting_.empty() && running_.size() < static_cast<size_t>(config_.max_running_sequences) && budget > 0) {
    SequenceState* s = waiting_.front();
    int hits = 0;
    if (config_.prefix_caching && s->block_table.empty()) {
      hits = prefix_.Match(s->tokens, s->prefix_salt, s->block_table, s->block_keys);
      s->num_computed = hits * config_.block_tokens;
    }
    const int n = std::min(static_cast<int>(s->tokens.size()) - s->num_computed, budget);
    if (n <= 0 || !Grow(*s, n)) {
      ReleaseBlocks(*s);  // gives the prefix blocks back; they are looked up again next step
      break;
    }
    if (config_.prefix_caching) prefix_.CountLookup(prefix_.Eligible(s->tokens.size()), hits);
    waiting_.pop_front();
    running_.push_back(s);
    s->where = SequenceState::Where::kRunning;
    plan.chunks.push_back({s, s->num_computed, n, s->num_computed + n == static_cast<int>(s->tokens.size())});
    budget -= n;
  }
}

void Scheduler::Commit(const StepPlan& plan) {
  const size_t bt = static_cast<size_t>(config_.block_tokens);
  for (const ScheduledChunk& chunk : plan.chunks) {
    SequenceState& s = *chunk.sequence;
    s.num_computed = chunk.first_position + chunk.num_tokens;
    if (!config_.prefix_caching) continue;
    const size_t full = static_cast<size_t>(s.num_computed) / bt;
    while (s.block_keys.size() < full) {
      const size_t b = s.block_keys.size();
      const uint64_t parent = b == 0 ? PrefixCache::kRootKey : s.block_keys[b - 1];
      const std::span<const int32_t> piece(s.tokens.data() + b * bt, bt);
      s.block_keys.push_back(prefix_.Insert(s.block_table[b], parent, s.prefix_salt, piece));
    }
  }
}

}  // namespace mms::generation
