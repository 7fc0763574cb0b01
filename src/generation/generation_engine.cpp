#include "generation/generation_engine.h"

#include <algorithm>
#include <condition_variable>
#include <limits>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>

#include "base/error.h"
#include "generation/block_manager.h"
#include "generation/prefix_cache.h"
#include "generation/scheduler.h"
#include "layers/paged_kv_cache.h"
#include "layers/workspace.h"
#include "models/step_profile.h"

namespace mms::generation {

const char* FinishReasonName(FinishReason reason) {
  switch (reason) {
    case FinishReason::kNone: return "none";
    case FinishReason::kStop: return "stop";
    case FinishReason::kLength: return "length";
    case FinishReason::kCancelled: return "cancelled";
    case FinishReason::kError: return "error";
  }
  return "unknown";
}

namespace {

// A request's state on the loop thread: what the scheduler sees plus what sampling and
// finishing need. Created by Submit, owned by the loop from then on.
struct EngineSequence : SequenceState {
  std::shared_ptr<TokenSink> sink;
  std::unique_ptr<Sampler> sampler;        // kept across preemption: its RNG and counts continue
  std::vector<int32_t> stop_token_ids;     // sorted, unique
  bool ignore_eos = false;
  int max_tokens = 0;
  int max_length = 0;  // tokens (prompt + generated) at which the sequence ends
  int generated = 0;
  std::vector<models::InjectedEmbedding> injected;  // sorted by position
  std::shared_ptr<const void> injected_storage;
  std::shared_ptr<const void> sequence_state;
};

int BlocksFromBudget(const layers::KvCacheShape& shape, size_t bytes) {
  const size_t per_block = shape.block_bytes();
  if (shape.layers <= 0 || shape.kv_heads <= 0 || shape.head_dim <= 0 || per_block == 0) {
    throw Error(ErrorCode::kInvalidModel, "generation engine: the model reports an empty KV cache shape (layers " +
                                              std::to_string(shape.layers) + ", kv_heads " +
                                              std::to_string(shape.kv_heads) + ", head_dim " +
                                              std::to_string(shape.head_dim) + ")");
  }
  const size_t blocks = bytes / per_block;
  if (blocks == 0) {
    ThrowInvalidArgument("generation engine: kv_cache_bytes " + std::to_string(bytes) + " is less than one KV block (" +
                         std::to_string(per_block) + " bytes)");
  }
  return static_cast<int>(std::min<size_t>(blocks, static_cast<size_t>(std::numeric_limits<int32_t>::max())));
}

const EngineConfig& CheckConfig(const EngineConfig& config) {
  auto positive = [](int value, const char* field) {
    if (value <= 0) ThrowInvalidArgument(std::string("generation engine: ") + field + " must be positive, got " + std::to_string(value));
  };
  positive(config.block_tokens, "block_tokens");
  positive(config.max_running_sequences, "max_running_sequences");
  positive(config.max_tokens_per_step, "max_tokens_per_step");
  // Bounds that keep block-table and chunk arithmetic far from int overflow.
  if (config.block_tokens > 4096) ThrowInvalidArgument("generation engine: block_tokens " + std::to_string(config.block_tokens) + " is over 4096");
  return config;
}

}  // namespace

struct GenerationEngine::Impl {
  Impl(const models::GenerativeModel& m, const EngineConfig& c)
      : model(m),
        config(CheckConfig(c)),
        shape(m.kv_cache_shape(c.block_tokens)),
        vocab(m.vocab_size()),
        context(m.context_length()),
        cache(shape, BlocksFromBudget(shape, c.kv_cache_bytes)),
        blocks(cache.num_blocks()),
        prefix(blocks, c.block_tokens),
        scheduler(SchedulerConfig{c.block_tokens, c.max_running_sequences, c.max_tokens_per_step, c.prefix_caching},
                  blocks, prefix, cache) {
    if (shape.block_tokens != c.block_tokens) {
      throw Error(ErrorCode::kInvalidModel, "generation engine: the model's KV shape has block_tokens " +
                                                std::to_string(shape.block_tokens) + ", asked for " +
                                                std::to_string(c.block_tokens));
    }
    if (vocab <= 0 || context <= 0) {
      throw Error(ErrorCode::kInvalidModel, "generation engine: the model reports vocab_size " + std::to_string(vocab) +
                                                " and context_length " + std::to_string(context));
    }
    published.kv_blocks_total = cache.num_blocks();
  }

  void Loop();
  void RunStep();
  void Finish(EngineSequence& s, FinishReason reason, const std::string& error);
  void FailAll(const std::string& error);
  void Publish();

  const models::GenerativeModel& model;
  const EngineConfig config;
  const layers::KvCacheShape shape;
  const int vocab;
  const int context;

  // Loop thread only.
  layers::PagedKvCache cache;
  BlockManager blocks;
  PrefixCache prefix;
  Scheduler scheduler;
  Workspace workspace;
  std::vector<float> logits;
  StepPlan plan;
  std::vector<models::SequenceChunk> chunks;
  std::unordered_map<uint64_t, std::unique_ptr<EngineSequence>> live;
  std::vector<EngineSequence*> finishing;
  EngineStats counters;  // running totals kept by the loop

  // Shared: everything below is guarded by `mutex`.
  mutable std::mutex mutex;
  std::condition_variable wake;     // the loop sleeps on it when idle
  std::condition_variable drained;  // Shutdown waits on it for the last sequence
  std::vector<std::unique_ptr<EngineSequence>> submitted;
  std::vector<uint64_t> cancelled;
  bool accepting = true;
  bool cancel_all = false;
  bool stop = false;
  uint64_t next_id = 1;
  size_t queued = 0;  // submitted + waiting in the scheduler, as of the last look
  size_t live_count = 0;
  EngineStats published;

  std::mutex shutdown_mutex;  // one Shutdown at a time
  std::thread thread;
};

GenerationEngine::GenerationEngine(const models::GenerativeModel& model, const EngineConfig& config)
    : impl_(std::make_unique<Impl>(model, config)) {
  impl_->thread = std::thread([impl = impl_.get()] { impl->Loop(); });
}

GenerationEngine::~GenerationEngine() { Shutdown(std::chrono::milliseconds(0)); }

uint64_t GenerationEngine::Submit(GenerationRequest request, std::shared_ptr<TokenSink> sink) {
  Impl& im = *impl_;
  if (!sink) ThrowInvalidArgument("generation request: no token sink");
  if (request.prompt.empty()) ThrowInvalidArgument("generation request: the prompt has no tokens");
  if (request.max_tokens < 1) {
    ThrowInvalidArgument("generation request: max_tokens must be at least 1, got " + std::to_string(request.max_tokens));
  }
  for (size_t i = 0; i < request.prompt.size(); ++i) {
    if (request.prompt[i] < 0 || request.prompt[i] >= im.vocab) {
      ThrowInvalidArgument("generation request: prompt token " + std::to_string(request.prompt[i]) + " at position " +
                           std::to_string(i) + " is outside the vocabulary [0, " + std::to_string(im.vocab) + ")");
    }
  }
  const int64_t total = static_cast<int64_t>(request.prompt.size()) + request.max_tokens;
  const int64_t max_length = im.context + (request.final_token_past_context ? 1 : 0);
  if (total > max_length) {
    ThrowInvalidArgument("generation request: the prompt's " + std::to_string(request.prompt.size()) +
                         " tokens plus max_tokens " + std::to_string(request.max_tokens) +
                         " exceed the model's context length " + std::to_string(im.context));
  }
  // Positions that ever need keys and values: all but the last generated token's.
  const int64_t blocks_needed = (total - 1 + im.config.block_tokens - 1) / im.config.block_tokens;
  if (blocks_needed > im.cache.num_blocks()) {
    ThrowInvalidArgument("generation request: the prompt's " + std::to_string(request.prompt.size()) +
                         " tokens plus max_tokens " + std::to_string(request.max_tokens) + " need " +
                         std::to_string(blocks_needed) + " KV blocks; the whole cache has " +
                         std::to_string(im.cache.num_blocks()));
  }
  const int valid_vocab = request.valid_vocab == 0 ? im.vocab : request.valid_vocab;
  if (valid_vocab < 0 || valid_vocab > im.vocab) {
    ThrowInvalidArgument("generation request: valid_vocab " + std::to_string(request.valid_vocab) + " is outside [0, " +
                         std::to_string(im.vocab) + "]");
  }
  std::sort(request.injected.begin(), request.injected.end(),
            [](const models::InjectedEmbedding& a, const models::InjectedEmbedding& b) { return a.position < b.position; });
  for (size_t i = 0; i < request.injected.size(); ++i) {
    const auto& e = request.injected[i];
    if (e.values == nullptr || e.position < 0 || e.position >= static_cast<int64_t>(request.prompt.size()) ||
        (i > 0 && request.injected[i - 1].position == e.position)) {
      ThrowInvalidArgument("generation request: injected embedding at position " + std::to_string(e.position) +
                           " is null, repeated or outside the prompt's " + std::to_string(request.prompt.size()) +
                           " positions");
    }
  }

  auto s = std::make_unique<EngineSequence>();
  // Built here so that bad sampling parameters fail the caller, not the loop.
  s->sampler = std::make_unique<Sampler>(request.sampling, request.prompt, valid_vocab, std::move(request.constraint));
  s->prompt_length = static_cast<int>(request.prompt.size());
  s->tokens = std::move(request.prompt);
  s->prefix_salt = request.prefix_salt;
  s->stop_token_ids = std::move(request.stop_token_ids);
  std::sort(s->stop_token_ids.begin(), s->stop_token_ids.end());
  s->stop_token_ids.erase(std::unique(s->stop_token_ids.begin(), s->stop_token_ids.end()), s->stop_token_ids.end());
  s->ignore_eos = request.ignore_eos;
  s->max_tokens = request.max_tokens;
  s->max_length = static_cast<int>(max_length);
  s->injected = std::move(request.injected);
  s->injected_storage = std::move(request.injected_storage);
  s->sequence_state = std::move(request.sequence_state);
  s->sink = std::move(sink);

  uint64_t id = 0;
  {
    std::lock_guard<std::mutex> lock(im.mutex);
    if (!im.accepting) throw Error(ErrorCode::kUnavailable, "generation engine: shutting down");
    if (im.queued >= im.config.max_waiting) {
      throw Error(ErrorCode::kUnavailable, "generation engine: the waiting queue is full (" +
                                               std::to_string(im.config.max_waiting) + " sequences)");
    }
    id = im.next_id++;
    s->id = id;
    im.submitted.push_back(std::move(s));
    ++im.queued;
  }
  im.wake.notify_one();
  return id;
}

void GenerationEngine::Cancel(uint64_t sequence_id) {
  {
    std::lock_guard<std::mutex> lock(impl_->mutex);
    impl_->cancelled.push_back(sequence_id);
  }
  impl_->wake.notify_one();
}

EngineStats GenerationEngine::Stats() const {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  return impl_->published;
}

void GenerationEngine::Shutdown(std::chrono::milliseconds deadline) {
  Impl& im = *impl_;
  std::lock_guard<std::mutex> once(im.shutdown_mutex);
  if (!im.thread.joinable()) return;
  {
    std::unique_lock<std::mutex> lock(im.mutex);
    im.accepting = false;
    im.drained.wait_for(lock, deadline, [&] { return im.live_count == 0 && im.submitted.empty(); });
    im.cancel_all = true;
    im.stop = true;
  }
  im.wake.notify_one();
  im.thread.join();
}

void GenerationEngine::Impl::Finish(EngineSequence& s, FinishReason reason, const std::string& error) {
  scheduler.Remove(&s);
  try {
    s.sink->OnFinish(reason, error);
  } catch (...) {
    // The sink's own failure has nowhere to go: the sequence is over either way.
  }
  live.erase(s.id);  // drops the sink and the sampler
}

void GenerationEngine::Impl::FailAll(const std::string& error) {
  finishing.clear();
  for (auto& [id, s] : live) finishing.push_back(s.get());
  for (EngineSequence* s : finishing) {
    try {
      Finish(*s, FinishReason::kError, error);
    } catch (...) {
      live.erase(s->id);
    }
  }
}

void GenerationEngine::Impl::Publish() {
  std::lock_guard<std::mutex> lock(mutex);
  counters.running = static_cast<int>(scheduler.running());
  counters.waiting = static_cast<int>(scheduler.waiting() + submitted.size());
  counters.kv_blocks_total = blocks.num_blocks();
  counters.kv_blocks_used = blocks.num_used();
  counters.prefix_cache_queries = prefix.queries();
  counters.prefix_cache_hits = prefix.hits();
  counters.preemptions = scheduler.preemptions();
  published = counters;
  queued = scheduler.waiting() + submitted.size();
  live_count = live.size();
  if (live_count == 0 && submitted.empty()) drained.notify_all();
}

void GenerationEngine::Impl::Loop() {
  std::vector<std::unique_ptr<EngineSequence>> incoming;
  std::vector<uint64_t> cancels;
  for (;;) {
    bool all = false;
    bool stopping = false;
    {
      std::unique_lock<std::mutex> lock(mutex);
      wake.wait(lock, [&] { return stop || cancel_all || !submitted.empty() || !cancelled.empty() || !live.empty(); });
      incoming.swap(submitted);
      cancels.swap(cancelled);
      all = cancel_all;
      stopping = stop;
    }
    try {
      for (auto& s : incoming) {
        EngineSequence* raw = s.get();
        live.emplace(raw->id, std::move(s));
        scheduler.AddWaiting(raw);
      }
      incoming.clear();
      for (uint64_t id : cancels) {
        const auto it = live.find(id);
        if (it != live.end()) Finish(*it->second, FinishReason::kCancelled, "");
      }
      cancels.clear();
      if (all) {
        finishing.clear();
        for (auto& [id, s] : live) finishing.push_back(s.get());
        for (EngineSequence* s : finishing) Finish(*s, FinishReason::kCancelled, "");
      }
      if (!live.empty()) RunStep();
    } catch (const std::exception& e) {
      // A broken invariant of the scheduler or an allocation failure: nothing of the
      // current state can be trusted, so every sequence ends with the reason.
      FailAll(std::string("generation engine: ") + e.what());
    }
    Publish();
    if (stopping && live.empty()) return;
  }
}

void GenerationEngine::Impl::RunStep() {
  models::profile::Timer timer;
  scheduler.Schedule(plan);
  {
    // Submit's queue-full check counts what still waits now, not what waited before
    // this step admitted some (the step itself may take long).
    std::lock_guard<std::mutex> lock(mutex);
    queued = scheduler.waiting() + submitted.size();
  }
  if (plan.chunks.empty()) {
    // Nothing fits: cannot happen while Submit admits only sequences the whole cache
    // holds. Fail them rather than spin.
    FailAll("generation engine: no sequence can be scheduled in the KV cache");
    return;
  }
  chunks.clear();
  for (const ScheduledChunk& c : plan.chunks) {
    auto& s = static_cast<EngineSequence&>(*c.sequence);
    models::SequenceChunk m;
    m.tokens = std::span<const int32_t>(s.tokens.data() + c.first_position, static_cast<size_t>(c.num_tokens));
    m.first_position = c.first_position;
    m.block_table = s.block_table;
    m.want_logits = c.want_logits;
    const auto by_position = [](const models::InjectedEmbedding& e, int32_t p) { return e.position < p; };
    const auto begin = std::lower_bound(s.injected.begin(), s.injected.end(), c.first_position, by_position);
    const auto end = std::lower_bound(begin, s.injected.end(), c.first_position + c.num_tokens, by_position);
    m.injected = std::span<const models::InjectedEmbedding>(begin, end);
    m.sequence_state = s.sequence_state;
    chunks.push_back(std::move(m));
  }

  size_t rows = 0;
  for (const ScheduledChunk& c : plan.chunks) rows += c.want_logits ? 1 : 0;
  std::string failure;
  timer.Lap(models::profile::kSchedule);
  try {
    model.Step(chunks, cache, workspace, logits);
    if (logits.size() < rows * static_cast<size_t>(vocab)) {
      failure = "model step returned " + std::to_string(logits.size()) + " logits for " + std::to_string(rows) +
                " rows of " + std::to_string(vocab);
    }
  } catch (const std::exception& e) {
    failure = e.what();
    if (failure.empty()) failure = "model step failed";
  }
  ++counters.steps;
  if (!failure.empty()) {
    // Only this step's sequences: their new cache rows are undefined, and the blocks they
    // wrote are theirs alone (never shared, never keyed), so freeing them is enough.
    for (const ScheduledChunk& c : plan.chunks) Finish(static_cast<EngineSequence&>(*c.sequence), FinishReason::kError, failure);
    return;
  }
  models::profile::Timer after_step;  // the model's Step timed its own parts
  scheduler.Commit(plan);
  after_step.Lap(models::profile::kSchedule);

  size_t row = 0;
  for (const ScheduledChunk& c : plan.chunks) {
    auto& s = static_cast<EngineSequence&>(*c.sequence);
    if (c.first_position < s.prompt_length) {
      counters.prompt_tokens_computed +=
          static_cast<uint64_t>(std::min(c.first_position + c.num_tokens, s.prompt_length) - c.first_position);
    }
    if (!c.want_logits) continue;
    const std::span<float> row_logits(logits.data() + row * static_cast<size_t>(vocab), static_cast<size_t>(vocab));
    ++row;
    SampledToken token;
    SinkVerdict verdict = SinkVerdict::kContinue;
    try {
      token = s.sampler->Sample(row_logits);
      s.tokens.push_back(token.token);
      ++s.generated;
      ++counters.generated_tokens;
      verdict = s.sink->OnToken(token);
    } catch (const std::exception& e) {
      Finish(s, FinishReason::kError, e.what());
      continue;
    }
    FinishReason reason = FinishReason::kNone;
    if (!s.ignore_eos && std::binary_search(s.stop_token_ids.begin(), s.stop_token_ids.end(), token.token)) {
      reason = FinishReason::kStop;
    } else if (verdict == SinkVerdict::kStop) {
      reason = FinishReason::kStop;
    } else if (s.generated >= s.max_tokens || static_cast<int>(s.tokens.size()) >= s.max_length) {
      reason = FinishReason::kLength;
    }
    if (reason != FinishReason::kNone) Finish(s, reason, "");
  }
  if (models::profile::Enabled()) {
    after_step.Lap(models::profile::kSampling);
    int64_t step_rows = 0;
    for (const ScheduledChunk& c : plan.chunks) step_rows += c.num_tokens;
    models::profile::EndStep(step_rows, static_cast<int64_t>(rows));
  }
}

}  // namespace mms::generation
