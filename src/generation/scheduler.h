// The per-step decision of continuous batching, apart from the engine's loop thread so
// that it can be tested alone: which sequences run in the next model step, how many of
// their tokens, and which ones are preempted for lack of KV blocks.
//
// Every sequence is a list of known tokens (prompt, then what it generated) of which the
// first num_computed have keys and values in the cache; a step computes the next chunk
// of the rest. A decoding sequence has one token to compute (the one sampled last step),
// a prefilling one its prompt's remainder: both are the same thing here, as in vLLM v1.
//
// Each step, in order:
//   1. running sequences, oldest first, each as many of its tokens as the step's token
//      budget leaves (a decode takes 1); when one needs a block and none is free (keyed
//      unheld blocks are evicted first), the most recently started running sequence is
//      preempted: its blocks are released and it goes to the front of the waiting queue
//      to recompute everything it knows later;
//   2. waiting sequences in FIFO order while fewer than max_running are running, the
//      budget lasts and their first chunk's blocks are free (after reusing the cached
//      blocks of their prefix). None joins in a step that had to preempt.
// A prompt longer than what is left of the budget is prefilled in chunks across steps,
// after the decodes of the sequences that started before it.
#pragma once

#include <cstdint>
#include <deque>
#include <vector>

#include "generation/block_manager.h"
#include "generation/prefix_cache.h"
#include "layers/paged_kv_cache.h"

namespace mms::generation {

struct SchedulerConfig {
  int block_tokens = 16;
  int max_running_sequences = 64;
  int max_tokens_per_step = 512;
  bool prefix_caching = true;
};

// The scheduler's view of one sequence; the engine's sequence record derives from it.
struct SequenceState {
  uint64_t id = 0;
  std::vector<int32_t> tokens;       // known tokens: prompt + generated
  int prompt_length = 0;
  uint64_t prefix_salt = 0;
  int num_computed = 0;              // positions [0, num_computed) are in the cache
  std::vector<int32_t> block_table;  // blocks for positions [0, block_table.size() * block_tokens)
  std::vector<uint64_t> block_keys;  // prefix-cache keys of the first full, computed blocks
  enum class Where { kNowhere, kWaiting, kRunning } where = Where::kNowhere;
};

struct ScheduledChunk {
  SequenceState* sequence = nullptr;
  int first_position = 0;
  int num_tokens = 0;
  bool want_logits = false;  // the chunk ends the known tokens
};

struct StepPlan {
  std::vector<ScheduledChunk> chunks;
  int preempted = 0;  // sequences preempted while planning this step
  void Clear() {
    chunks.clear();
    preempted = 0;
  }
};

class Scheduler {
 public:
  // `cache` is where copy-on-write copies a shared block's rows.
  Scheduler(const SchedulerConfig& config, BlockManager& blocks, PrefixCache& prefix, layers::PagedKvCache& cache);

  // Appends a new sequence to the waiting queue. It must stay alive until Remove.
  void AddWaiting(SequenceState* sequence);
  // Takes a sequence out wherever it is and releases its blocks (finished, cancelled,
  // failed). Not to be called between Schedule and Commit for a sequence in the plan
  // unless the step is abandoned (then for every sequence of the plan).
  void Remove(SequenceState* sequence);

  // Plans the next step into `plan` (cleared first; its storage is reused).
  void Schedule(StepPlan& plan);
  // The step ran: advances each chunk's sequence and indexes its newly full blocks.
  void Commit(const StepPlan& plan);

  size_t running() const { return running_.size(); }
  size_t waiting() const { return waiting_.size(); }
  uint64_t preemptions() const { return preemptions_; }
  const std::vector<SequenceState*>& running_sequences() const { return running_; }
  const std::deque<SequenceState*>& waiting_sequences() const { return waiting_; }

 private:
  // Gives the sequence blocks for positions up to num_computed + n (and a private copy
  // of a shared block it will write into). All or nothing: false when the blocks are not
  // free, with nothing changed.
  bool Grow(SequenceState& s, int n);
  void ReleaseBlocks(SequenceState& s);
  void Preempt(SequenceState& s);

  SchedulerConfig config_;
  BlockManager& blocks_;
  PrefixCache& prefix_;
  layers::PagedKvCache& cache_;
  std::vector<SequenceState*> running_;  // in start order
  std::deque<SequenceState*> waiting_;
  uint64_t preemptions_ = 0;
};

}  // namespace mms::generation
