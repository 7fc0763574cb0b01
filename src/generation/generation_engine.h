// Iteration-level scheduling of one generative model (continuous batching), as vLLM's
// scheduler/worker split: a loop thread that, every step,
//   1. lets waiting sequences join the running batch while KV blocks and the step's token
//      budget allow (a long prompt is prefilled in chunks, interleaved with decode steps),
//   2. runs one GenerativeModel::Step for every scheduled chunk at once,
//   3. samples each sequence that produced logits and hands the token to its sink,
//   4. finishes sequences (end-of-sequence token, max_tokens, the sink said stop, cancelled)
//      and frees their blocks.
// When the KV blocks run out, the most recently started sequence is preempted: its blocks
// are freed and it goes back to the front of the waiting queue to be recomputed later
// (prompt + what it generated so far) — never an allocation failure.
// Prefix caching: full blocks are keyed by a hash of all the tokens up to and including
// them (plus a salt, e.g. image content hashes), and a new sequence whose prompt begins
// with cached blocks reuses them instead of computing them.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "generation/sampling.h"
#include "models/generative_model.h"

namespace mms::generation {

struct EngineConfig {
  int block_tokens = 16;                 // positions per KV block
  size_t kv_cache_bytes = 256u << 20;    // the KV budget: blocks = bytes / block_bytes
  int max_running_sequences = 64;        // sequences in the running batch at once
  int max_tokens_per_step = 512;         // prefill chunks + decode tokens in one step
  size_t max_waiting = 256;              // queue beyond this: Submit throws kUnavailable at once
  bool prefix_caching = true;
};

enum class FinishReason { kNone, kStop, kLength, kCancelled, kError };
const char* FinishReasonName(FinishReason reason);  // "stop", "length", "cancelled", "error"

// What the sink says after each token.
enum class SinkVerdict { kContinue, kStop };

// Receives a sequence's tokens. Called on the engine's loop thread: must be quick and
// must not call back into the engine (hand the token to another thread's queue).
class TokenSink {
 public:
  virtual ~TokenSink() = default;
  // A sampled token. kStop finishes the sequence with FinishReason::kStop (a stop string
  // matched): the token counts as generated.
  virtual SinkVerdict OnToken(const SampledToken& token) = 0;
  // Called exactly once, last. `error` is set for kError.
  virtual void OnFinish(FinishReason reason, const std::string& error) = 0;
};

struct GenerationRequest {
  std::vector<int32_t> prompt;   // token ids, BOS included where the model wants one
  SamplingParams sampling;
  std::unique_ptr<TokenConstraint> constraint;  // may be null
  int max_tokens = 16;           // generated tokens at most (finish "length")
  std::vector<int32_t> stop_token_ids;  // finish "stop" when sampled (eos ids included by the caller)
  bool ignore_eos = false;       // benchmarks: stop_token_ids are not checked
  // The last generated token is never run through the model, so it needs no position:
  // prompt + max_tokens may then reach context + 1 (OpenAI's Whisper decodes that far).
  // Off, prompt + max_tokens stays within the context, as the OpenAI-style APIs promise.
  bool final_token_past_context = false;
  int valid_vocab = 0;           // ids >= this are never sampled; 0 = the model's vocab_size
  uint64_t prefix_salt = 0;      // mixed into every prefix-cache key (image hashes); 0 = none
  std::vector<models::InjectedEmbedding> injected;  // absolute positions; values alive until finish
  std::shared_ptr<const void> injected_storage;     // kept with the sequence: owns what `injected` points to
  std::shared_ptr<const void> sequence_state;       // passed to every chunk of this sequence
};

struct EngineStats {
  int running = 0;
  int waiting = 0;
  int kv_blocks_total = 0;
  int kv_blocks_used = 0;
  uint64_t prefix_cache_queries = 0;  // full prompt blocks looked up
  uint64_t prefix_cache_hits = 0;     // of which found in the cache
  uint64_t prompt_tokens_computed = 0;
  uint64_t generated_tokens = 0;
  uint64_t preemptions = 0;
  uint64_t steps = 0;
};

class GenerationEngine {
 public:
  // Starts the loop thread. The model must outlive the engine.
  GenerationEngine(const models::GenerativeModel& model, const EngineConfig& config);
  ~GenerationEngine();  // Shutdown(0) if not shut down

  // Queues a sequence. Throws Error(kInvalidArgument) when prompt + max_tokens exceeds
  // the context or could never fit the KV budget, Error(kUnavailable) when the waiting
  // queue is full or the engine is shutting down. Returns the sequence id.
  uint64_t Submit(GenerationRequest request, std::shared_ptr<TokenSink> sink);
  // Finishes the sequence with kCancelled within one step and frees its blocks. Unknown
  // or finished ids are ignored.
  void Cancel(uint64_t sequence_id);

  EngineStats Stats() const;
  // Stops accepting, lets running sequences finish until `deadline`, then cancels the rest.
  void Shutdown(std::chrono::milliseconds deadline);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace mms::generation
