// The scheduler's per-step decisions, driven by hand the way the engine drives it:
// Schedule, (the model would run here), Commit, one sampled token appended per logits row.
#include "generation/scheduler.h"

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <random>
#include <vector>

#include "generation/block_manager.h"
#include "generation/prefix_cache.h"
#include "layers/paged_kv_cache.h"

namespace mms::generation {
namespace {

struct Harness {
  Harness(int num_blocks, const SchedulerConfig& config)
      : cache(layers::KvCacheShape{1, 1, 1, config.block_tokens}, num_blocks),
        blocks(num_blocks),
        prefix(blocks, config.block_tokens, 11, 12),
        scheduler(config, blocks, prefix, cache) {}

  // The engine's side of a step: commit, then one token per logits row.
  void Advance() {
    scheduler.Commit(plan);
    for (const auto& c : plan.chunks) {
      if (c.want_logits) c.sequence->tokens.push_back(next_token++);
    }
  }

  layers::PagedKvCache cache;
  BlockManager blocks;
  PrefixCache prefix;
  Scheduler scheduler;
  StepPlan plan;
  int32_t next_token = 1000;
};

std::unique_ptr<SequenceState> Sequence(uint64_t id, int length, int32_t first_token = 1) {
  auto s = std::make_unique<SequenceState>();
  s->id = id;
  for (int i = 0; i < length; ++i) s->tokens.push_back(first_token + i);
  s->prompt_length = length;
  return s;
}

struct Chunk {
  uint64_t id;
  int first;
  int n;
  bool logits;
  bool operator==(const Chunk&) const = default;
};

std::vector<Chunk> Chunks(const StepPlan& plan) {
  std::vector<Chunk> out;
  for (const auto& c : plan.chunks) out.push_back({c.sequence->id, c.first_position, c.num_tokens, c.want_logits});
  return out;
}

void PrintTo(const Chunk& c, std::ostream* os) {
  *os << "{seq " << c.id << " @" << c.first << " +" << c.n << (c.logits ? " logits}" : "}");
}

TEST(Scheduler, PrefillsInChunksAndAdmitsInOrderWithinTheLimits) {
  Harness h(32, SchedulerConfig{4, 2, 8, false});
  auto a = Sequence(1, 10), b = Sequence(2, 5), c = Sequence(3, 3);
  h.scheduler.AddWaiting(a.get());
  h.scheduler.AddWaiting(b.get());
  h.scheduler.AddWaiting(c.get());

  h.scheduler.Schedule(h.plan);  // A's first 8 prompt tokens fill the budget
  EXPECT_EQ(Chunks(h.plan), (std::vector<Chunk>{{1, 0, 8, false}}));
  EXPECT_EQ(a->block_table.size(), 2u);
  h.Advance();

  h.scheduler.Schedule(h.plan);  // A's last 2, then B whole; C waits: two running at most
  EXPECT_EQ(Chunks(h.plan), (std::vector<Chunk>{{1, 8, 2, true}, {2, 0, 5, true}}));
  EXPECT_EQ(h.scheduler.waiting(), 1u);
  h.Advance();

  h.scheduler.Schedule(h.plan);  // decodes
  EXPECT_EQ(Chunks(h.plan), (std::vector<Chunk>{{1, 10, 1, true}, {2, 5, 1, true}}));
  h.Advance();

  h.scheduler.Remove(a.get());  // A finished: C joins
  h.scheduler.Schedule(h.plan);
  EXPECT_EQ(Chunks(h.plan), (std::vector<Chunk>{{2, 6, 1, true}, {3, 0, 3, true}}));
  h.Advance();
  h.scheduler.Remove(b.get());
  h.scheduler.Remove(c.get());
  EXPECT_EQ(h.blocks.num_used(), 0);
}

TEST(Scheduler, ALongPromptNeverStallsTheDecodesOfSequencesStartedBeforeIt) {
  Harness h(64, SchedulerConfig{4, 8, 8, false});
  auto a = Sequence(1, 3), b = Sequence(2, 2), longp = Sequence(3, 40);
  h.scheduler.AddWaiting(a.get());
  h.scheduler.AddWaiting(b.get());
  h.scheduler.Schedule(h.plan);
  h.Advance();
  h.scheduler.AddWaiting(longp.get());
  int prefill_steps = 0;
  while (longp->num_computed < 40) {
    h.scheduler.Schedule(h.plan);
    const auto chunks = Chunks(h.plan);
    ASSERT_EQ(chunks.size(), 3u);
    EXPECT_EQ(chunks[0].id, 1u);
    EXPECT_EQ(chunks[0].n, 1);
    EXPECT_EQ(chunks[1].id, 2u);
    EXPECT_EQ(chunks[1].n, 1);
    EXPECT_EQ(chunks[2].id, 3u);
    EXPECT_EQ(chunks[2].n, std::min(6, 40 - longp->num_computed));
    h.Advance();
    ++prefill_steps;
  }
  EXPECT_EQ(prefill_steps, 7);  // 40 tokens, 6 a step
  EXPECT_EQ(longp->tokens.size(), 41u);
}

TEST(Scheduler, PreemptsTheMostRecentlyStartedSequenceWhenBlocksRunOut) {
  Harness h(4, SchedulerConfig{2, 8, 64, false});
  auto a = Sequence(1, 3), b = Sequence(2, 3, 50);
  h.scheduler.AddWaiting(a.get());
  h.scheduler.AddWaiting(b.get());
  h.scheduler.Schedule(h.plan);  // two blocks each: the cache is full
  EXPECT_EQ(h.blocks.num_free(), 0);
  h.Advance();
  h.scheduler.Schedule(h.plan);  // position 3 still fits in each second block
  EXPECT_EQ(h.plan.preempted, 0);
  h.Advance();

  h.scheduler.Schedule(h.plan);  // A needs a third block: B, started last, makes room
  EXPECT_EQ(Chunks(h.plan), (std::vector<Chunk>{{1, 4, 1, true}}));
  EXPECT_EQ(h.plan.preempted, 1);
  EXPECT_EQ(h.scheduler.preemptions(), 1u);
  EXPECT_EQ(b->where, SequenceState::Where::kWaiting);
  EXPECT_TRUE(b->block_table.empty());
  EXPECT_EQ(b->num_computed, 0);
  EXPECT_EQ(b->tokens.size(), 5u);  // prompt + its 2 generated tokens, to recompute
  EXPECT_EQ(h.blocks.num_used(), 3);
  h.Advance();

  // B does not fit back yet (needs 3 blocks for 5 tokens, 1 is free).
  h.scheduler.Schedule(h.plan);
  EXPECT_EQ(Chunks(h.plan), (std::vector<Chunk>{{1, 5, 1, true}}));
  h.Advance();
  h.scheduler.Remove(a.get());
  // A gone: B recomputes everything it knows in one chunk and samples its next token.
  h.scheduler.Schedule(h.plan);
  EXPECT_EQ(Chunks(h.plan), (std::vector<Chunk>{{2, 0, 5, true}}));
  h.Advance();
  h.scheduler.Remove(b.get());
  EXPECT_EQ(h.blocks.num_used(), 0);
}

TEST(Scheduler, WhenTheOldestCannotGrowEveryOtherIsPreemptedFirst) {
  Harness h(3, SchedulerConfig{2, 8, 64, false});
  auto a = Sequence(1, 2), b = Sequence(2, 1, 20), c = Sequence(3, 1, 30);
  for (auto* s : {a.get(), b.get(), c.get()}) h.scheduler.AddWaiting(s);
  h.scheduler.Schedule(h.plan);  // one block each
  ASSERT_EQ(h.plan.chunks.size(), 3u);
  h.Advance();
  h.scheduler.Schedule(h.plan);  // A at position 2 needs a block: C, started last, goes; B still fits
  EXPECT_EQ(Chunks(h.plan), (std::vector<Chunk>{{1, 2, 1, true}, {2, 1, 1, true}}));
  EXPECT_EQ(h.scheduler.waiting_sequences().front(), c.get());
  h.Advance();
}

TEST(Scheduler, ReusesCachedPrefixBlocksAndComputesOnlyTheRest) {
  Harness h(16, SchedulerConfig{4, 8, 64, true});
  auto a = Sequence(1, 9);
  h.scheduler.AddWaiting(a.get());
  h.scheduler.Schedule(h.plan);
  h.Advance();
  EXPECT_EQ(a->block_keys.size(), 2u);  // two full blocks indexed
  const std::vector<int32_t> a_blocks(a->block_table.begin(), a->block_table.begin() + 2);
  h.scheduler.Remove(a.get());
  EXPECT_EQ(h.blocks.num_used(), 0);

  auto b = Sequence(2, 11);  // the same 9 tokens and two more
  h.scheduler.AddWaiting(b.get());
  h.scheduler.Schedule(h.plan);
  EXPECT_EQ(Chunks(h.plan), (std::vector<Chunk>{{2, 8, 3, true}}));
  EXPECT_EQ(std::vector<int32_t>(b->block_table.begin(), b->block_table.begin() + 2), a_blocks);
  EXPECT_EQ(h.prefix.queries(), 2u + 2u);  // A: 2 eligible blocks, none cached; B: 2, both
  EXPECT_EQ(h.prefix.hits(), 2u);
  h.Advance();

  // A prompt that is exactly two blocks long reuses only the first: its last token runs.
  auto c = Sequence(3, 8);
  h.scheduler.AddWaiting(c.get());
  h.scheduler.Schedule(h.plan);
  EXPECT_EQ(Chunks(h.plan), (std::vector<Chunk>{{2, 11, 1, true}, {3, 4, 4, true}}));
  EXPECT_EQ(c->block_table[0], a_blocks[0]);
  EXPECT_EQ(h.blocks.refcount(a_blocks[0]), 2);
  EXPECT_NE(c->block_table[1], a_blocks[1]);  // its last block is its own to write
  h.Advance();
}

TEST(Scheduler, AForkedSequenceCopiesTheSharedBlockItWritesInto) {
  Harness h(8, SchedulerConfig{4, 8, 64, true});
  auto a = Sequence(1, 6);
  h.scheduler.AddWaiting(a.get());
  h.scheduler.Schedule(h.plan);
  for (int p = 0; p < 6; ++p) {  // what the model would write: one float per position
    h.cache.keys(a->block_table[static_cast<size_t>(p / 4)], 0)[p % 4] = static_cast<float>(100 + p);
  }
  h.Advance();  // A: 7 tokens, 6 computed; block 1 partly written
  // Fork (n > 1): B shares all of A's blocks and state.
  auto b = std::make_unique<SequenceState>(*a);
  b->id = 2;
  b->where = SequenceState::Where::kNowhere;
  b->tokens.back() = 77;  // a different sample
  for (int block : b->block_table) h.blocks.Retain(block);
  h.scheduler.AddWaiting(b.get());

  h.scheduler.Schedule(h.plan);
  EXPECT_EQ(Chunks(h.plan), (std::vector<Chunk>{{1, 6, 1, true}, {2, 6, 1, true}}));
  EXPECT_EQ(a->block_table[0], b->block_table[0]);  // full, read-only: still shared
  EXPECT_EQ(h.blocks.refcount(a->block_table[0]), 2);
  EXPECT_NE(a->block_table[1], b->block_table[1]);  // the partial block: one side copied
  EXPECT_EQ(h.blocks.refcount(a->block_table[1]), 1);
  EXPECT_EQ(h.blocks.refcount(b->block_table[1]), 1);
  for (int p = 4; p < 6; ++p) {
    EXPECT_EQ(h.cache.keys(a->block_table[1], 0)[p % 4], static_cast<float>(100 + p));
    EXPECT_EQ(h.cache.keys(b->block_table[1], 0)[p % 4], static_cast<float>(100 + p));
  }
  h.Advance();
  h.scheduler.Remove(a.get());
  h.scheduler.Remove(b.get());
  EXPECT_EQ(h.blocks.num_used(), 0);
}

TEST(Scheduler, RemoveTakesASequenceOutOfEitherQueueAndFreesItsBlocks) {
  Harness h(8, SchedulerConfig{4, 1, 64, false});
  auto a = Sequence(1, 5), b = Sequence(2, 5);
  h.scheduler.AddWaiting(a.get());
  h.scheduler.AddWaiting(b.get());
  h.scheduler.Schedule(h.plan);
  h.Advance();
  EXPECT_EQ(h.blocks.num_used(), 2);
  h.scheduler.Remove(b.get());  // waiting
  EXPECT_EQ(h.scheduler.waiting(), 0u);
  h.scheduler.Remove(a.get());  // running
  EXPECT_EQ(h.scheduler.running(), 0u);
  EXPECT_EQ(h.blocks.num_used(), 0);
  h.scheduler.Schedule(h.plan);
  EXPECT_TRUE(h.plan.chunks.empty());
}

// Many sequences of random lengths through a small cache, with and without prefix
// caching: the limits hold every step, block reference counts always equal the number
// of tables holding each block, a chunk never writes into a block someone else holds,
// and every sequence finishes.
TEST(Scheduler, RandomWorkloadsKeepEveryInvariantAndFinish) {
  for (bool prefix_caching : {false, true}) {
    for (unsigned seed = 1; seed <= 20; ++seed) {
      std::mt19937 rng(seed);
      const int bt = 1 + static_cast<int>(rng() % 4);
      const int max_running = 1 + static_cast<int>(rng() % 6);
      const int budget = 1 + static_cast<int>(rng() % 24);
      const int num_blocks = 12 + static_cast<int>(rng() % 12);
      Harness h(num_blocks, SchedulerConfig{bt, max_running, budget, prefix_caching});
      std::vector<std::unique_ptr<SequenceState>> seqs;
      std::map<SequenceState*, int> target;  // total tokens at which it finishes
      for (int i = 0; i < 12; ++i) {
        const int prompt = 1 + static_cast<int>(rng() % 12);
        const int gen = 1 + static_cast<int>(rng() % 8);
        // Shared beginnings so that the prefix cache has something to find.
        auto s = Sequence(static_cast<uint64_t>(i + 1), prompt, (rng() % 2) ? 1 : 500 + i * 20);
        if ((prompt + gen - 1 + bt - 1) / bt > num_blocks) continue;  // Submit would refuse it
        target[s.get()] = prompt + gen;
        h.scheduler.AddWaiting(s.get());
        seqs.push_back(std::move(s));
      }
      size_t finished = 0;
      for (int step = 0; step < 2000 && finished < target.size(); ++step) {
        h.scheduler.Schedule(h.plan);
        ASSERT_FALSE(h.plan.chunks.empty()) << "seed " << seed << " step " << step;
        int tokens = 0;
        for (const auto& c : h.plan.chunks) {
          tokens += c.num_tokens;
          const SequenceState& s = *c.sequence;
          ASSERT_EQ(c.first_position, s.num_computed);
          ASSERT_GE(static_cast<int>(s.block_table.size()) * bt, c.first_position + c.num_tokens);
          for (int p = c.first_position; p < c.first_position + c.num_tokens; ++p) {
            const int block = s.block_table[static_cast<size_t>(p / bt)];
            ASSERT_EQ(h.blocks.refcount(block), 1) << "seed " << seed << ": a write into a shared block";
            ASSERT_FALSE(h.blocks.has_key(block));
          }
        }
        ASSERT_LE(tokens, budget);
        ASSERT_LE(h.scheduler.running(), static_cast<size_t>(max_running));
        std::map<int, int> holders;
        for (const auto& s : seqs) {
          for (int block : s->block_table) ++holders[block];
        }
        for (int b = 0; b < num_blocks; ++b) ASSERT_EQ(h.blocks.refcount(b), holders[b]) << "seed " << seed << " block " << b;
        h.Advance();
        for (auto& [s, total] : target) {
          if (s->where != SequenceState::Where::kNowhere && static_cast<int>(s->tokens.size()) >= total) {
            h.scheduler.Remove(s);
            ++finished;
          }
        }
      }
      EXPECT_EQ(finished, target.size()) << "seed " << seed;
      EXPECT_EQ(h.blocks.num_used(), 0);
    }
  }
}

}  // namespace
}  // namespace mms::generation
