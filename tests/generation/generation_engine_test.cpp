// The generation engine end to end over FakeModel (fake_model.h), whose logits depend on
// every key and value row read back through the block tables: outputs are compared with
// ReferenceGreedy, computed from the plain token lists with no cache, so a wrong block,
// a stale shared block or a wrong position anywhere in the engine shows up as a token.
#include "generation/generation_engine.h"

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "base/error.h"
#include "generation/fake_model.h"

namespace mms::generation {
namespace {

using testing::FakeModel;
using testing::ReferenceGreedy;

constexpr int kVocab = 64;

class CollectingSink : public TokenSink {
 public:
  // Called on the loop thread after each token is recorded; its verdict is returned.
  std::function<SinkVerdict(size_t)> on_token;
  std::function<void()> on_finish;

  SinkVerdict OnToken(const SampledToken& token) override {
    size_t count = 0;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      tokens_.push_back(token.token);
      count = tokens_.size();
    }
    changed_.notify_all();
    return on_token ? on_token(count) : SinkVerdict::kContinue;
  }
  void OnFinish(FinishReason reason, const std::string& error) override {
    if (on_finish) on_finish();
    {
      std::lock_guard<std::mutex> lock(mutex_);
      reason_ = reason;
      error_ = error;
      ++finishes_;
    }
    changed_.notify_all();
  }

  bool WaitFinished(std::chrono::seconds timeout = std::chrono::seconds(30)) {
    std::unique_lock<std::mutex> lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] { return finishes_ > 0; });
  }
  bool WaitTokens(size_t n) {
    std::unique_lock<std::mutex> lock(mutex_);
    return changed_.wait_for(lock, std::chrono::seconds(30), [&] { return tokens_.size() >= n || finishes_ > 0; });
  }
  std::vector<int32_t> tokens() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return tokens_;
  }
  FinishReason reason() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return reason_;
  }
  std::string error() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return error_;
  }
  int finishes() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return finishes_;
  }

 private:
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<int32_t> tokens_;
  FinishReason reason_ = FinishReason::kNone;
  std::string error_;
  int finishes_ = 0;
};

// A prompt of `length` tokens in [1, 60) that differs per seed.
std::vector<int32_t> Prompt(int length, int seed) {
  std::vector<int32_t> p;
  for (int i = 0; i < length; ++i) p.push_back(1 + (seed * 37 + i * 13 + (i * i) % 7) % 59);
  return p;
}

GenerationRequest Greedy(std::vector<int32_t> prompt, int max_tokens) {
  GenerationRequest r;
  r.prompt = std::move(prompt);
  r.sampling.temperature = 0.0f;
  r.max_tokens = max_tokens;
  return r;
}

EngineConfig Config(const FakeModel& model, int block_tokens, int num_blocks) {
  EngineConfig c;
  c.block_tokens = block_tokens;
  c.kv_cache_bytes = model.kv_cache_shape(block_tokens).block_bytes() * static_cast<size_t>(num_blocks);
  return c;
}

// Polls Stats until `done` holds (the loop publishes after each iteration).
bool WaitForStats(const GenerationEngine& engine, const std::function<bool(const EngineStats&)>& done) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < until) {
    if (done(engine.Stats())) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return false;
}

ErrorCode SubmitError(GenerationEngine& engine, GenerationRequest request) {
  try {
    engine.Submit(std::move(request), std::make_shared<CollectingSink>());
  } catch (const Error& e) {
    return e.code();
  }
  ADD_FAILURE() << "Submit accepted the request";
  return ErrorCode::kInternal;
}

TEST(GenerationEngine, GreedyOutputsMatchTheCachelessReference) {
  FakeModel model(kVocab);
  GenerationEngine engine(model, Config(model, 4, 256));
  for (int len : {1, 3, 4, 5, 17}) {
    auto sink = std::make_shared<CollectingSink>();
    engine.Submit(Greedy(Prompt(len, len), 9), sink);
    ASSERT_TRUE(sink->WaitFinished());
    EXPECT_EQ(sink->tokens(), ReferenceGreedy(Prompt(len, len), 9, kVocab, kVocab)) << "prompt length " << len;
    EXPECT_EQ(sink->reason(), FinishReason::kLength);
    EXPECT_EQ(sink->finishes(), 1);
  }
  // Published after the last sequence's OnFinish.
  EXPECT_TRUE(WaitForStats(engine, [](const EngineStats& s) { return s.generated_tokens == 5u * 9u && s.running == 0; }));
  EXPECT_EQ(engine.Stats().kv_blocks_total, 256);
}

TEST(GenerationEngine, SixteenConcurrentSequencesGiveTheirAloneOutputs) {
  FakeModel model(kVocab);
  EngineConfig config = Config(model, 4, 512);
  config.max_tokens_per_step = 64;  // prefill chunks interleave with decodes
  GenerationEngine engine(model, config);
  std::vector<std::shared_ptr<CollectingSink>> greedy, seeded;
  std::vector<GenerationRequest> seeded_requests;
  for (int i = 0; i < 16; ++i) {
    greedy.push_back(std::make_shared<CollectingSink>());
    seeded.push_back(std::make_shared<CollectingSink>());
  }
  auto seeded_request = [](int i) {
    GenerationRequest r;
    r.prompt = Prompt(3 + i * 5, 100 + i);
    r.sampling.temperature = 0.9f;
    r.sampling.top_p = 0.95f;
    r.sampling.seed = 1234 + i;
    r.max_tokens = 12;
    return r;
  };
  // Held while they arrive, so that all of them share the batch from the start.
  model.Hold();
  auto warmup = std::make_shared<CollectingSink>();
  engine.Submit(Greedy(Prompt(2, 99), 1), warmup);
  ASSERT_TRUE(model.WaitForSteps(1));
  for (int i = 0; i < 16; ++i) {
    engine.Submit(Greedy(Prompt(2 + i * 3, i), 24 + i), greedy[static_cast<size_t>(i)]);
    engine.Submit(seeded_request(i), seeded[static_cast<size_t>(i)]);
  }
  model.Release();
  for (int i = 0; i < 16; ++i) {
    ASSERT_TRUE(greedy[static_cast<size_t>(i)]->WaitFinished());
    EXPECT_EQ(greedy[static_cast<size_t>(i)]->tokens(), ReferenceGreedy(Prompt(2 + i * 3, i), 24 + i, kVocab, kVocab))
        << "sequence " << i;
  }
  size_t widest = 0;
  for (const auto& step : model.step_records()) widest = std::max(widest, step.size());
  EXPECT_GE(widest, 16u) << "the sequences never shared a step";
  // Seeded sampling: the same tokens alone as among the others.
  for (int i = 0; i < 16; ++i) {
    ASSERT_TRUE(seeded[static_cast<size_t>(i)]->WaitFinished());
    auto alone = std::make_shared<CollectingSink>();
    engine.Submit(seeded_request(i), alone);
    ASSERT_TRUE(alone->WaitFinished());
    EXPECT_EQ(alone->tokens(), seeded[static_cast<size_t>(i)]->tokens()) << "seeded sequence " << i;
    EXPECT_EQ(alone->tokens().size(), 12u);
  }
}

TEST(GenerationEngine, ABurstUnderASmallKvBudgetIsPreemptedAndFinishesUnchanged) {
  FakeModel model(kVocab);
  // 12 blocks of 4 positions; each sequence needs up to 8 of them: all at once never fit.
  EngineConfig config = Config(model, 4, 12);
  GenerationEngine engine(model, config);
  // The seeded ones' outputs alone, from an engine with room for everything.
  auto seeded_request = [](int i) {
    GenerationRequest r;
    r.prompt = Prompt(10 + i, 300 + i);
    r.sampling.temperature = 1.0f;
    r.sampling.seed = 99 + i;
    r.max_tokens = 20;
    return r;
  };
  std::vector<std::vector<int32_t>> seeded_alone;
  {
    GenerationEngine roomy(model, Config(model, 4, 256));
    for (int i = 0; i < 4; ++i) {
      auto sink = std::make_shared<CollectingSink>();
      roomy.Submit(seeded_request(i), sink);
      ASSERT_TRUE(sink->WaitFinished());
      seeded_alone.push_back(sink->tokens());
    }
    EXPECT_EQ(roomy.Stats().preemptions, 0u);
  }

  std::vector<std::shared_ptr<CollectingSink>> greedy, seeded;
  model.Hold();  // all of the burst arrives during the first step
  auto warmup = std::make_shared<CollectingSink>();
  engine.Submit(Greedy(Prompt(2, 99), 1), warmup);
  ASSERT_TRUE(model.WaitForSteps(1));
  for (int i = 0; i < 8; ++i) {
    greedy.push_back(std::make_shared<CollectingSink>());
    engine.Submit(Greedy(Prompt(9 + i, 200 + i), 20), greedy.back());
    if (i < 4) {
      seeded.push_back(std::make_shared<CollectingSink>());
      engine.Submit(seeded_request(i), seeded.back());
    }
  }
  model.Release();
  for (int i = 0; i < 8; ++i) {
    ASSERT_TRUE(greedy[static_cast<size_t>(i)]->WaitFinished());
    EXPECT_EQ(greedy[static_cast<size_t>(i)]->reason(), FinishReason::kLength);
    EXPECT_EQ(greedy[static_cast<size_t>(i)]->tokens(), ReferenceGreedy(Prompt(9 + i, 200 + i), 20, kVocab, kVocab))
        << "sequence " << i;
  }
  for (int i = 0; i < 4; ++i) {
    ASSERT_TRUE(seeded[static_cast<size_t>(i)]->WaitFinished());
    EXPECT_EQ(seeded[static_cast<size_t>(i)]->tokens(), seeded_alone[static_cast<size_t>(i)]) << "seeded " << i;
  }
  ASSERT_TRUE(WaitForStats(engine, [](const EngineStats& s) { return s.running == 0 && s.waiting == 0; }));
  const EngineStats stats = engine.Stats();
  EXPECT_GT(stats.preemptions, 0u) << "steps " << stats.steps << " prompt tokens " << stats.prompt_tokens_computed;
  EXPECT_EQ(stats.kv_blocks_used, 0);
}

TEST(GenerationEngine, ACancelledSequencesBlocksAreFreeWithinOneStep) {
  FakeModel model(kVocab);
  GenerationEngine engine(model, Config(model, 16, 256));
  // A neighbour keeps the loop stepping.
  auto neighbour = std::make_shared<CollectingSink>();
  engine.Submit(Greedy(Prompt(5, 1), 3000), neighbour);
  auto sink = std::make_shared<CollectingSink>();
  const uint64_t id = engine.Submit(Greedy(Prompt(30, 2), 1000), sink);
  ASSERT_TRUE(sink->WaitTokens(5));
  uint64_t steps_at_finish = 0;
  sink->on_finish = [&] { steps_at_finish = model.steps(); };
  const uint64_t steps_at_cancel = model.steps();
  engine.Cancel(id);
  ASSERT_TRUE(sink->WaitFinished());
  EXPECT_EQ(sink->reason(), FinishReason::kCancelled);
  EXPECT_LE(steps_at_finish, steps_at_cancel + 1);  // at most the step under way when Cancel came
  engine.Cancel(id);  // a second cancel of a finished id is ignored
  engine.Cancel(987654);
  EXPECT_EQ(neighbour->finishes(), 0);
  engine.Cancel(1);
  ASSERT_TRUE(neighbour->WaitFinished());
  ASSERT_TRUE(WaitForStats(engine, [](const EngineStats& s) { return s.running == 0; }));
  EXPECT_EQ(engine.Stats().kv_blocks_used, 0);
  EXPECT_EQ(sink->finishes(), 1);
}

TEST(GenerationEngine, ARepeatedSystemPromptHitsThePrefixCacheAndComputesOnlyTheNewTokens) {
  FakeModel model(kVocab);
  GenerationEngine engine(model, Config(model, 4, 128));
  const std::vector<int32_t> system = Prompt(32, 7);
  auto with_user = [&](int seed, int length) {
    std::vector<int32_t> p = system;
    const auto user = Prompt(length, seed);
    p.insert(p.end(), user.begin(), user.end());
    return p;
  };
  auto first = std::make_shared<CollectingSink>();
  engine.Submit(Greedy(with_user(1, 5), 4), first);
  ASSERT_TRUE(first->WaitFinished());
  ASSERT_TRUE(WaitForStats(engine, [](const EngineStats& s) { return s.running == 0; }));
  const EngineStats before = engine.Stats();
  EXPECT_EQ(before.prefix_cache_hits, 0u);
  const uint64_t computed_before = model.tokens_computed();

  auto second = std::make_shared<CollectingSink>();
  engine.Submit(Greedy(with_user(2, 6), 4), second);
  ASSERT_TRUE(second->WaitFinished());
  EXPECT_EQ(second->tokens(), ReferenceGreedy(with_user(2, 6), 4, kVocab, kVocab));
  ASSERT_TRUE(WaitForStats(engine, [](const EngineStats& s) { return s.running == 0; }));
  const EngineStats after = engine.Stats();
  EXPECT_EQ(after.prefix_cache_hits - before.prefix_cache_hits, 8u);      // the 32 system tokens
  EXPECT_EQ(after.prefix_cache_queries - before.prefix_cache_queries, 9u);  // (38 - 1) / 4 full blocks
  // The model ran the 6 new prompt tokens and 3 decode tokens (the 4th is never fed back).
  EXPECT_EQ(model.tokens_computed() - computed_before, 6u + 3u);
  EXPECT_EQ(after.prompt_tokens_computed - before.prompt_tokens_computed, 6u);

  // Another salt (other image content in the same token positions) shares nothing.
  auto salted = std::make_shared<CollectingSink>();
  GenerationRequest r = Greedy(with_user(2, 6), 4);
  r.prefix_salt = 0xabcdef;
  engine.Submit(std::move(r), salted);
  ASSERT_TRUE(salted->WaitFinished());
  ASSERT_TRUE(WaitForStats(engine, [](const EngineStats& s) { return s.running == 0; }));
  EXPECT_EQ(engine.Stats().prefix_cache_hits, after.prefix_cache_hits);
  EXPECT_EQ(salted->tokens(), second->tokens());
}

TEST(GenerationEngine, ALongPromptsPrefillInterleavesWithARunningDecode) {
  FakeModel model(kVocab);
  EngineConfig config = Config(model, 4, 1024);
  config.max_tokens_per_step = 8;
  GenerationEngine engine(model, config);
  auto running = std::make_shared<CollectingSink>();
  const uint64_t running_id = engine.Submit(Greedy(Prompt(3, 1), 2000), running);
  ASSERT_TRUE(running->WaitTokens(2));
  auto longp = std::make_shared<CollectingSink>();
  engine.Submit(Greedy(Prompt(64, 2), 2), longp);
  ASSERT_TRUE(longp->WaitFinished());
  EXPECT_EQ(longp->tokens(), ReferenceGreedy(Prompt(64, 2), 2, kVocab, kVocab));
  engine.Cancel(running_id);
  ASSERT_TRUE(running->WaitFinished());

  const auto records = model.step_records();
  ASSERT_FALSE(records.empty());
  const int32_t running_block = records[0][0].first_block;
  int prefill_steps = 0;
  for (const auto& step : records) {
    int tokens = 0;
    bool prefill = false, decode = false;
    for (const auto& c : step) {
      tokens += c.num_tokens;
      if (c.first_block != running_block && !c.want_logits) prefill = true;
      if (c.first_block == running_block && c.num_tokens == 1) decode = true;
    }
    EXPECT_LE(tokens, 8);
    if (prefill) {
      ++prefill_steps;
      EXPECT_TRUE(decode) << "a prefill step without the running sequence's decode";
    }
  }
  EXPECT_GE(prefill_steps, 64 / 7);
}

TEST(GenerationEngine, AFullWaitingQueueRefusesAtOnce) {
  FakeModel model(kVocab);
  EngineConfig config = Config(model, 4, 64);
  config.max_running_sequences = 1;
  config.max_waiting = 2;
  GenerationEngine engine(model, config);
  model.Hold();
  auto a = std::make_shared<CollectingSink>(), b = std::make_shared<CollectingSink>(),
       c = std::make_shared<CollectingSink>();
  engine.Submit(Greedy(Prompt(4, 1), 3), a);
  ASSERT_TRUE(model.WaitForSteps(1));  // A runs; the loop is inside its step
  engine.Submit(Greedy(Prompt(4, 2), 3), b);
  engine.Submit(Greedy(Prompt(4, 3), 3), c);
  EXPECT_EQ(SubmitError(engine, Greedy(Prompt(4, 4), 3)), ErrorCode::kUnavailable);
  model.Release();
  for (auto& [sink, seed] : {std::pair{a, 1}, std::pair{b, 2}, std::pair{c, 3}}) {
    ASSERT_TRUE(sink->WaitFinished());
    EXPECT_EQ(sink->tokens(), ReferenceGreedy(Prompt(4, seed), 3, kVocab, kVocab));
  }
}

TEST(GenerationEngine, RefusesWhatCouldNeverRun) {
  FakeModel model(kVocab, /*context=*/128);
  GenerationEngine engine(model, Config(model, 4, 16));  // 64 positions in the whole cache
  EXPECT_EQ(SubmitError(engine, Greedy(Prompt(100, 1), 29)), ErrorCode::kInvalidArgument);  // context
  EXPECT_EQ(SubmitError(engine, Greedy(Prompt(40, 1), 26)), ErrorCode::kInvalidArgument);   // 65 positions
  EXPECT_EQ(SubmitError(engine, Greedy({}, 4)), ErrorCode::kInvalidArgument);
  EXPECT_EQ(SubmitError(engine, Greedy(Prompt(4, 1), 0)), ErrorCode::kInvalidArgument);
  EXPECT_EQ(SubmitError(engine, Greedy({1, kVocab}, 4)), ErrorCode::kInvalidArgument);
  EXPECT_EQ(SubmitError(engine, Greedy({1, -1}, 4)), ErrorCode::kInvalidArgument);
  GenerationRequest bad_sampling = Greedy(Prompt(4, 1), 4);
  bad_sampling.sampling.top_p = 2.0f;
  EXPECT_EQ(SubmitError(engine, std::move(bad_sampling)), ErrorCode::kInvalidArgument);
  GenerationRequest bad_injected = Greedy(Prompt(4, 1), 4);
  static const float values[FakeModel::kHeadDim] = {};
  bad_injected.injected.push_back({4, values});
  EXPECT_EQ(SubmitError(engine, std::move(bad_injected)), ErrorCode::kInvalidArgument);
  // Exactly at both limits is fine: 40 + 25 = 65 tokens, 64 positions with keys.
  auto sink = std::make_shared<CollectingSink>();
  engine.Submit(Greedy(Prompt(40, 1), 25), sink);
  ASSERT_TRUE(sink->WaitFinished());
  EXPECT_EQ(sink->tokens(), ReferenceGreedy(Prompt(40, 1), 25, kVocab, kVocab));
}

TEST(GenerationEngine, AStepThatThrowsFailsOnlyItsOwnSequences) {
  FakeModel model(kVocab);
  constexpr int32_t kPoison = 62;
  model.set_poison_token(kPoison);
  EngineConfig config = Config(model, 4, 64);
  config.max_running_sequences = 1;  // the poisoned one steps alone
  GenerationEngine engine(model, config);
  auto request = [](std::vector<int32_t> prompt) {
    GenerationRequest r = Greedy(std::move(prompt), 6);
    r.valid_vocab = 60;  // never samples the poison
    return r;
  };
  std::vector<int32_t> poisoned = Prompt(9, 1);
  poisoned[7] = kPoison;
  auto bad = std::make_shared<CollectingSink>(), next = std::make_shared<CollectingSink>();
  engine.Submit(request(poisoned), bad);
  engine.Submit(request(Prompt(9, 2)), next);
  ASSERT_TRUE(bad->WaitFinished());
  EXPECT_EQ(bad->reason(), FinishReason::kError);
  EXPECT_NE(bad->error().find("poisoned"), std::string::npos) << bad->error();
  EXPECT_TRUE(bad->tokens().empty());
  ASSERT_TRUE(next->WaitFinished());
  EXPECT_EQ(next->reason(), FinishReason::kLength);
  EXPECT_EQ(next->tokens(), ReferenceGreedy(Prompt(9, 2), 6, kVocab, 60));
  ASSERT_TRUE(WaitForStats(engine, [](const EngineStats& s) { return s.running == 0; }));
  EXPECT_EQ(engine.Stats().kv_blocks_used, 0);
  // The poisoned prompt's blocks were never indexed: the same prefix runs again in full.
  auto again = std::make_shared<CollectingSink>();
  std::vector<int32_t> healed = poisoned;
  healed[7] = 5;
  engine.Submit(request(healed), again);
  ASSERT_TRUE(again->WaitFinished());
  EXPECT_EQ(again->tokens(), ReferenceGreedy(healed, 6, kVocab, 60));
}

TEST(GenerationEngine, StopTokensAndTheSinksVerdictFinishWithStop) {
  FakeModel model(kVocab);
  GenerationEngine engine(model, Config(model, 4, 64));
  const auto prompt = Prompt(6, 3);
  const auto expected = ReferenceGreedy(prompt, 10, kVocab, kVocab);

  GenerationRequest stop = Greedy(prompt, 10);
  stop.stop_token_ids = {expected[3]};
  auto stopped = std::make_shared<CollectingSink>();
  engine.Submit(std::move(stop), stopped);
  ASSERT_TRUE(stopped->WaitFinished());
  EXPECT_EQ(stopped->reason(), FinishReason::kStop);
  // Up to the first occurrence of that token, which is handed to the sink too.
  const auto first = std::find(expected.begin(), expected.end(), expected[3]);
  EXPECT_EQ(stopped->tokens(), std::vector<int32_t>(expected.begin(), first + 1));

  GenerationRequest ignoring = Greedy(prompt, 10);
  ignoring.stop_token_ids = {expected[3]};
  ignoring.ignore_eos = true;
  auto ignored = std::make_shared<CollectingSink>();
  engine.Submit(std::move(ignoring), ignored);
  ASSERT_TRUE(ignored->WaitFinished());
  EXPECT_EQ(ignored->reason(), FinishReason::kLength);
  EXPECT_EQ(ignored->tokens(), expected);

  auto verdict = std::make_shared<CollectingSink>();
  verdict->on_token = [](size_t count) { return count == 2 ? SinkVerdict::kStop : SinkVerdict::kContinue; };
  engine.Submit(Greedy(prompt, 10), verdict);
  ASSERT_TRUE(verdict->WaitFinished());
  EXPECT_EQ(verdict->reason(), FinishReason::kStop);
  EXPECT_EQ(verdict->tokens(), std::vector<int32_t>(expected.begin(), expected.begin() + 2));
}

TEST(GenerationEngine, InjectedEmbeddingsReachTheirPositionsAcrossChunks) {
  FakeModel model(kVocab);
  EngineConfig config = Config(model, 4, 64);
  config.max_tokens_per_step = 5;
  GenerationEngine engine(model, config);
  static const float image_a[FakeModel::kHeadDim] = {3, 1, 4, 1};
  static const float image_b[FakeModel::kHeadDim] = {5, 9, 2, 6};
  const std::vector<models::InjectedEmbedding> injected = {{9, image_b}, {4, image_a}, {5, image_b}};
  GenerationRequest r = Greedy(Prompt(12, 4), 5);
  r.injected = injected;
  r.prefix_salt = 77;
  auto sink = std::make_shared<CollectingSink>();
  engine.Submit(std::move(r), sink);
  ASSERT_TRUE(sink->WaitFinished());
  const auto expected = ReferenceGreedy(Prompt(12, 4), 5, kVocab, kVocab, injected);
  EXPECT_EQ(sink->tokens(), expected);
  EXPECT_NE(expected, ReferenceGreedy(Prompt(12, 4), 5, kVocab, kVocab));  // the injection matters
}

TEST(GenerationEngine, ShutdownCancelsWhatIsLeftAndRefusesNewWork) {
  FakeModel model(kVocab);
  EngineConfig config = Config(model, 4, 64);
  config.max_running_sequences = 2;
  auto engine = std::make_unique<GenerationEngine>(model, config);
  std::vector<std::shared_ptr<CollectingSink>> sinks;
  for (int i = 0; i < 5; ++i) {
    sinks.push_back(std::make_shared<CollectingSink>());
    engine->Submit(Greedy(Prompt(6, i), 200), sinks.back());
  }
  auto quick = std::make_shared<CollectingSink>();
  engine->Submit(Greedy(Prompt(3, 9), 1), quick);
  engine->Shutdown(std::chrono::milliseconds(0));
  for (auto& s : sinks) {
    EXPECT_EQ(s->finishes(), 1);
    EXPECT_TRUE(s->reason() == FinishReason::kCancelled || s->reason() == FinishReason::kLength);
  }
  EXPECT_EQ(quick->finishes(), 1);
  EXPECT_EQ(SubmitError(*engine, Greedy(Prompt(3, 1), 2)), ErrorCode::kUnavailable);
  engine->Shutdown(std::chrono::milliseconds(0));  // twice is fine
  engine.reset();

  // With time to spare, running work completes.
  GenerationEngine patient(model, config);
  auto done = std::make_shared<CollectingSink>();
  patient.Submit(Greedy(Prompt(6, 1), 8), done);
  patient.Shutdown(std::chrono::seconds(30));
  EXPECT_EQ(done->reason(), FinishReason::kLength);
  EXPECT_EQ(done->tokens(), ReferenceGreedy(Prompt(6, 1), 8, kVocab, kVocab));
}

}  // namespace
}  // namespace mms::generation
