// The dynamic batcher's behaviour, asserted on which batches ran rather than on timing:
// tests queue items while the batcher is paused and then look at the batches the executor
// saw. Where time matters (delays, timeouts) only lower bounds or outcomes are checked.
#include "runtime/dynamic_batcher.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <future>
#include <memory>
#include <mutex>
#include <numeric>
#include <optional>
#include <set>
#include <stdexcept>
#include <thread>
#include <vector>

#if defined(__SANITIZE_THREAD__)
// A future's exception is reference-counted inside libstdc++, which is not built with
// ThreadSanitizer: when a batcher thread drops the last reference after the caller has read
// the exception, TSan cannot see the (atomic) ordering and reports a race on the free.
// Suppress exactly that: the destruction of a future's shared state and of the exception
// stored in it (several names, because which frames survive inlining depends on -O).
extern "C" const char* __tsan_default_suppressions() {
  return "race:std::__future_base::_State_baseV2::~_State_baseV2\n"
         "race:std::__future_base::_Result_base::_Deleter\n"
         "race:std::__future_base::_Result<*>::_M_destroy\n"
         "race:std::__exception_ptr::exception_ptr::_M_release\n";
}
#endif

namespace mms::runtime {
namespace {

using namespace std::chrono_literals;
using IntBatcher = DynamicBatcher<int, int>;
using Batches = std::vector<std::vector<int>>;

// Records every batch the executor received and answers each item with item * 2.
class Recorder {
 public:
  IntBatcher::Executor Doubler() {
    return [this](std::vector<int>& batch, int instance) {
      Record(batch, instance);
      std::vector<int> out;
      for (int x : batch) out.push_back(x * 2);
      return out;
    };
  }
  void Record(const std::vector<int>& batch, int instance) {
    std::lock_guard lock(mutex_);
    batches_.push_back(batch);
    instances_.insert(instance);
  }
  Batches batches() const {
    std::lock_guard lock(mutex_);
    return batches_;
  }
  std::vector<size_t> sizes() const {
    std::vector<size_t> out;
    for (const auto& b : batches()) out.push_back(b.size());
    return out;
  }
  std::set<int> instances() const {
    std::lock_guard lock(mutex_);
    return instances_;
  }
  bool Saw(int item) const {
    for (const auto& b : batches())
      if (std::find(b.begin(), b.end(), item) != b.end()) return true;
    return false;
  }

 private:
  mutable std::mutex mutex_;
  Batches batches_;
  std::set<int> instances_;
};

// Lets a test hold executions inside the executor. Waits are bounded so that a failing
// test cannot hang the suite (the batcher's destructor waits for running batches).
class Gate {
 public:
  void Enter() {
    std::unique_lock lock(mutex_);
    ++entered_;
    cv_.notify_all();
    cv_.wait_for(lock, 10s, [this] { return open_; });
  }
  bool WaitEntered(int n) {
    std::unique_lock lock(mutex_);
    return cv_.wait_for(lock, 10s, [&] { return entered_ >= n; });
  }
  void Open() {
    std::lock_guard lock(mutex_);
    open_ = true;
    cv_.notify_all();
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  int entered_ = 0;
  bool open_ = false;
};

std::optional<Error> ErrorOf(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e;
  }
  return std::nullopt;
}

// The code of the mms::Error that f throws; none when it throws none.
std::optional<ErrorCode> CodeOf(const std::function<void()>& f) {
  std::optional<Error> e = ErrorOf(f);
  return e ? std::optional<ErrorCode>(e->code()) : std::nullopt;
}

template <typename T>
std::optional<ErrorCode> CodeOfFuture(std::future<T>& f) {
  return CodeOf([&] { f.get(); });
}

BatcherConfig Config(int max_batch_size, std::chrono::microseconds delay = 0us) {
  BatcherConfig config;
  config.max_batch_size = max_batch_size;
  config.max_queue_delay = delay;
  return config;
}

TEST(ReadyBatchSize, FollowsMaxPreferredAndDelay) {
  BatcherConfig plain = Config(8);
  EXPECT_EQ(ReadyBatchSize(plain, 0, true), 0u);
  EXPECT_EQ(ReadyBatchSize(plain, 3, false), 0u);   // waits for more
  EXPECT_EQ(ReadyBatchSize(plain, 3, true), 3u);    // delay over: what is there
  EXPECT_EQ(ReadyBatchSize(plain, 8, false), 8u);   // full batch at once
  EXPECT_EQ(ReadyBatchSize(plain, 20, false), 8u);  // never above max

  BatcherConfig preferred = Config(8);
  preferred.preferred_batch_sizes = {2, 6};
  EXPECT_EQ(ReadyBatchSize(preferred, 5, false), 0u);  // 6 may still come
  EXPECT_EQ(ReadyBatchSize(preferred, 6, false), 6u);  // largest preferred reached
  EXPECT_EQ(ReadyBatchSize(preferred, 7, false), 6u);
  EXPECT_EQ(ReadyBatchSize(preferred, 20, false), 6u);
  EXPECT_EQ(ReadyBatchSize(preferred, 5, true), 2u);  // delay over: largest preferred that fits
  EXPECT_EQ(ReadyBatchSize(preferred, 3, true), 2u);
  EXPECT_EQ(ReadyBatchSize(preferred, 1, true), 1u);  // none fits: what is there
}

TEST(DynamicBatcher, RejectsBadConfig) {
  Recorder rec;
  auto make = [&](BatcherConfig c) { return CodeOf([&] { IntBatcher b("m:1", c, rec.Doubler()); }); };
  BatcherConfig c = Config(0);
  EXPECT_EQ(make(c), ErrorCode::kInvalidArgument);
  c = Config(4);
  c.preferred_batch_sizes = {8};
  EXPECT_EQ(make(c), ErrorCode::kInvalidArgument);
  c = Config(4);
  c.instance_count = 0;
  EXPECT_EQ(make(c), ErrorCode::kInvalidArgument);
  EXPECT_EQ(CodeOf([] { IntBatcher b("m:1", Config(1), nullptr); }), ErrorCode::kInvalidArgument);
}

TEST(DynamicBatcher, ItemsFromManyThreadsRunTogetherUpToMax) {
  Recorder rec;
  IntBatcher batcher("m:1", Config(4, 1h), rec.Doubler());
  batcher.Pause();
  constexpr int kThreads = 8;
  std::vector<std::vector<std::future<int>>> futures(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      for (int k = 0; k < 2; ++k) futures[t].push_back(batcher.Submit(t * 100 + k));
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(batcher.Stats().queue_length, 16u);
  EXPECT_TRUE(rec.batches().empty());  // paused: nothing formed

  batcher.Resume();
  // Each caller gets the answer to its own item.
  for (int t = 0; t < kThreads; ++t)
    for (int k = 0; k < 2; ++k) EXPECT_EQ(futures[t][k].get(), 2 * (t * 100 + k));
  EXPECT_EQ(rec.sizes(), (std::vector<size_t>{4, 4, 4, 4}));
}

TEST(DynamicBatcher, PreferredSizeRunsAtOnceAndTheRestWaits) {
  Recorder rec;
  BatcherConfig config = Config(8, 1h);
  config.preferred_batch_sizes = {2, 6};
  IntBatcher batcher("m:1", config, rec.Doubler());
  batcher.Pause();
  std::vector<std::future<int>> futures;
  for (int i = 0; i < 7; ++i) futures.push_back(batcher.Submit(i));
  batcher.Resume();
  for (int i = 0; i < 6; ++i) EXPECT_EQ(futures[i].get(), 2 * i);
  EXPECT_EQ(rec.sizes(), (std::vector<size_t>{6}));
  EXPECT_EQ(batcher.Stats().queue_length, 1u);  // waits for its (hour-long) delay
  EXPECT_EQ(futures[6].wait_for(0s), std::future_status::timeout);

  batcher.Shutdown(1s);  // shutting down waits for nobody
  EXPECT_EQ(futures[6].get(), 12);
  EXPECT_EQ(rec.sizes(), (std::vector<size_t>{6, 1}));
}

TEST(DynamicBatcher, DelayExpiryRunsPartialBatch) {
  Recorder rec;
  IntBatcher batcher("m:1", Config(8, 30ms), rec.Doubler());
  const auto start = std::chrono::steady_clock::now();
  batcher.Pause();
  auto a = batcher.Submit(1);
  auto b = batcher.Submit(2);
  auto c = batcher.Submit(3);
  batcher.Resume();
  EXPECT_EQ(a.get() + b.get() + c.get(), 12);
  EXPECT_GE(std::chrono::steady_clock::now() - start, 30ms);  // not before the delay
  EXPECT_EQ(rec.batches(), (Batches{{1, 2, 3}}));
}

TEST(DynamicBatcher, DelayExpiryPrefersThePreferredSizeThatFits) {
  Recorder rec;
  BatcherConfig config = Config(8, 5ms);
  config.preferred_batch_sizes = {2, 6};
  IntBatcher batcher("m:1", config, rec.Doubler());
  batcher.Pause();
  auto futures = batcher.SubmitMany({1, 2, 3, 4, 5});
  batcher.Resume();
  for (auto& f : futures) f.get();
  EXPECT_EQ(rec.batches(), (Batches{{1, 2}, {3, 4}, {5}}));
}

TEST(DynamicBatcher, ZeroDelayRunsWhatIsQueued) {
  Recorder rec;
  IntBatcher batcher("m:1", Config(4), rec.Doubler());
  batcher.Pause();
  std::vector<std::future<int>> futures;
  for (int i = 0; i < 10; ++i) futures.push_back(batcher.Submit(i));
  batcher.Resume();
  for (int i = 0; i < 10; ++i) EXPECT_EQ(futures[i].get(), 2 * i);
  EXPECT_EQ(rec.sizes(), (std::vector<size_t>{4, 4, 2}));
}

TEST(DynamicBatcher, ExecutorThrowingFailsOnlyThatBatch) {
  Recorder rec;
  IntBatcher batcher("m:1", Config(2), [&](std::vector<int>& batch, int instance) {
    rec.Record(batch, instance);
    if (std::find(batch.begin(), batch.end(), 3) != batch.end()) throw std::runtime_error("boom");
    return std::vector<int>(batch.size(), 7);
  });
  batcher.Pause();
  std::vector<std::future<int>> f;
  for (int i = 1; i <= 6; ++i) f.push_back(batcher.Submit(i));
  batcher.Resume();
  EXPECT_EQ(f[0].get(), 7);
  EXPECT_EQ(f[1].get(), 7);
  for (int i : {2, 3}) {
    try {
      f[i].get();
      ADD_FAILURE() << "item " << i + 1 << " should have failed";
    } catch (const std::runtime_error& e) {
      EXPECT_STREQ(e.what(), "boom");
    }
  }
  EXPECT_EQ(f[4].get(), 7);
  EXPECT_EQ(f[5].get(), 7);
  const BatcherStats stats = batcher.Stats();
  EXPECT_EQ(stats.success_count, 4u);
  EXPECT_EQ(stats.failure_count, 2u);
  EXPECT_EQ(stats.execution_count, 3u);
}

TEST(DynamicBatcher, WrongNumberOfResultsFailsTheBatch) {
  IntBatcher batcher("m:1", Config(2), [](std::vector<int>&, int) { return std::vector<int>{1}; });
  batcher.Pause();
  auto a = batcher.Submit(1);
  auto b = batcher.Submit(2);
  batcher.Resume();
  EXPECT_EQ(CodeOfFuture(a), ErrorCode::kInternal);
  EXPECT_EQ(CodeOfFuture(b), ErrorCode::kInternal);
}

TEST(DynamicBatcher, FullQueueRejectsAtOnce) {
  Recorder rec;
  BatcherConfig config = Config(8);
  config.max_queue_size = 2;  // requests, not items
  IntBatcher batcher("m:1", config, rec.Doubler());
  batcher.Pause();
  auto many = batcher.SubmitMany({1, 2, 3});
  auto one = batcher.Submit(4);
  std::optional<Error> e = ErrorOf([&] { batcher.Submit(5); });
  ASSERT_TRUE(e);
  EXPECT_EQ(e->code(), ErrorCode::kUnavailable);
  EXPECT_STREQ(e->what(), "queue of m:1 is full (2 requests); retry later");
  EXPECT_EQ(CodeOf([&] { batcher.SubmitMany({6, 7}); }), ErrorCode::kUnavailable);

  BatcherStats stats = batcher.Stats();
  EXPECT_EQ(stats.queued_requests, 2u);
  EXPECT_EQ(stats.queue_length, 4u);
  EXPECT_EQ(stats.rejected_count, 3u);

  batcher.Resume();
  for (auto& f : many) f.get();
  one.get();
  EXPECT_EQ(batcher.Submit(8).get(), 16);  // room again
  EXPECT_FALSE(rec.Saw(5));
  EXPECT_FALSE(rec.Saw(6));
}

TEST(DynamicBatcher, TimedOutItemFailsAndNeverRuns) {
  Recorder rec;
  IntBatcher batcher("m:1", Config(4), rec.Doubler());
  batcher.Pause();
  auto late = batcher.Submit(1, 2ms);
  auto patient = batcher.Submit(2);
  // Fails while still paused: no batch has to form for a timeout to be noticed.
  std::optional<Error> e = ErrorOf([&] { late.get(); });
  ASSERT_TRUE(e);
  EXPECT_EQ(e->code(), ErrorCode::kTimeout);
  EXPECT_NE(std::string(e->what()).find("m:1"), std::string::npos);
  batcher.Resume();
  EXPECT_EQ(patient.get(), 4);
  EXPECT_EQ(rec.batches(), (Batches{{2}}));
  const BatcherStats stats = batcher.Stats();
  EXPECT_EQ(stats.timeout_count, 1u);
  EXPECT_EQ(stats.failure_count, 1u);
  EXPECT_EQ(stats.success_count, 1u);
}

TEST(DynamicBatcher, DefaultTimeoutAppliesUnlessTheRequestSaysOtherwise) {
  Recorder rec;
  BatcherConfig config = Config(4);
  config.default_timeout = 2ms;
  IntBatcher batcher("m:1", config, rec.Doubler());
  batcher.Pause();
  auto defaulted = batcher.SubmitMany({1, 2});
  auto no_timeout = batcher.Submit(3, 0us);  // <= 0: none
  for (auto& f : defaulted) EXPECT_EQ(CodeOfFuture(f), ErrorCode::kTimeout);
  batcher.Resume();
  EXPECT_EQ(no_timeout.get(), 6);
  EXPECT_EQ(rec.batches(), (Batches{{3}}));
}

TEST(DynamicBatcher, TimeoutFiresWhileEveryInstanceIsBusy) {
  Recorder rec;
  Gate gate;
  IntBatcher batcher("m:1", Config(1), [&](std::vector<int>& batch, int instance) {
    rec.Record(batch, instance);
    gate.Enter();
    return std::vector<int>(batch.size(), 0);
  });
  auto running = batcher.Submit(1);
  ASSERT_TRUE(gate.WaitEntered(1));
  auto waiting = batcher.Submit(2, 5ms);
  EXPECT_EQ(CodeOfFuture(waiting), ErrorCode::kTimeout);  // the instance is still busy
  gate.Open();
  EXPECT_EQ(running.get(), 0);
  EXPECT_EQ(rec.batches(), (Batches{{1}}));
}

TEST(DynamicBatcher, ShutdownRunsQueuedWorkThenRejects) {
  Recorder rec;
  IntBatcher batcher("m:1", Config(2, 1h), rec.Doubler());
  batcher.Pause();
  std::vector<std::future<int>> f;
  for (int i = 0; i < 5; ++i) f.push_back(batcher.Submit(i));
  batcher.Shutdown(5s);  // lifts the pause, ignores the hour-long delay
  for (int i = 0; i < 5; ++i) {
    ASSERT_EQ(f[i].wait_for(0s), std::future_status::ready);
    EXPECT_EQ(f[i].get(), 2 * i);
  }
  EXPECT_EQ(rec.sizes(), (std::vector<size_t>{2, 2, 1}));
  std::optional<Error> e = ErrorOf([&] { batcher.Submit(9); });
  ASSERT_TRUE(e);
  EXPECT_EQ(e->code(), ErrorCode::kUnavailable);
  EXPECT_NE(std::string(e->what()).find("shutting down"), std::string::npos);
  batcher.Shutdown(1s);  // a second call is harmless
}

TEST(DynamicBatcher, ShutdownDeadlineFailsWhatIsStillQueued) {
  Recorder rec;
  Gate gate;
  IntBatcher batcher("m:1", Config(1), [&](std::vector<int>& batch, int instance) {
    rec.Record(batch, instance);
    gate.Enter();
    return std::vector<int>(batch.size(), 1);
  });
  auto running = batcher.Submit(1);
  ASSERT_TRUE(gate.WaitEntered(1));
  auto queued = batcher.SubmitMany({2, 3});
  std::thread stopper([&] { batcher.Shutdown(20ms); });
  for (auto& f : queued) EXPECT_EQ(CodeOfFuture(f), ErrorCode::kUnavailable);
  EXPECT_EQ(CodeOf([&] { batcher.Submit(4); }), ErrorCode::kUnavailable);
  gate.Open();  // the batch already running is finished, not abandoned
  stopper.join();
  EXPECT_EQ(running.get(), 1);
  EXPECT_EQ(rec.batches(), (Batches{{1}}));
  const BatcherStats stats = batcher.Stats();
  EXPECT_EQ(stats.success_count, 1u);
  EXPECT_EQ(stats.failure_count, 2u);
  EXPECT_EQ(stats.queue_length, 0u);
}

TEST(DynamicBatcher, InstancesRunBatchesConcurrently) {
  Recorder rec;
  std::mutex mutex;
  std::condition_variable cv;
  int inside = 0;
  std::atomic<int> saw_both{0};
  BatcherConfig config = Config(1);
  config.instance_count = 2;
  IntBatcher batcher("m:1", config, [&](std::vector<int>& batch, int instance) {
    rec.Record(batch, instance);
    std::unique_lock lock(mutex);
    ++inside;
    cv.notify_all();
    // Only possible if the other batch is executing at the same time.
    if (cv.wait_for(lock, 10s, [&] { return inside >= 2; })) ++saw_both;
    return std::vector<int>(batch.size(), instance);
  });
  auto a = batcher.Submit(1);
  auto b = batcher.Submit(2);
  std::set<int> instances = {a.get(), b.get()};
  EXPECT_EQ(saw_both.load(), 2);
  EXPECT_EQ(instances, (std::set<int>{0, 1}));
  EXPECT_EQ(rec.instances(), (std::set<int>{0, 1}));
}

TEST(DynamicBatcher, DisabledBatchingKeepsRequestsSeparate) {
  Recorder rec;
  BatcherConfig config = Config(2, 1h);  // the delay must not matter when disabled
  config.enabled = false;
  IntBatcher batcher("m:1", config, rec.Doubler());
  batcher.Pause();
  auto r1 = batcher.SubmitMany({1, 2, 3});
  auto r2 = batcher.Submit(4);
  auto r3 = batcher.SubmitMany({5, 6});
  batcher.Resume();
  for (auto& f : r1) f.get();
  r2.get();
  for (auto& f : r3) f.get();
  // A request larger than max_batch_size is split; requests are never mixed.
  EXPECT_EQ(rec.batches(), (Batches{{1, 2}, {3}, {4}, {5, 6}}));

  EXPECT_EQ(batcher.Submit(7).get(), 14);  // runs at once, not after the delay
}

TEST(DynamicBatcher, SubmitManyKeepsARequestTogetherInOrder) {
  Recorder rec;
  IntBatcher batcher("m:1", Config(4, 1h), rec.Doubler());
  batcher.Pause();
  std::vector<std::future<int>> fa, fb;
  std::thread ta([&] { fa = batcher.SubmitMany({10, 11, 12}); });
  std::thread tb([&] { fb = batcher.SubmitMany({20, 21, 22}); });
  ta.join();
  tb.join();
  batcher.Resume();
  batcher.Shutdown(5s);  // flushes the remainder that would wait an hour for its delay
  for (int i = 0; i < 3; ++i) EXPECT_EQ(fa[i].get(), 2 * (10 + i));
  for (int i = 0; i < 3; ++i) EXPECT_EQ(fb[i].get(), 2 * (20 + i));

  std::vector<int> order;
  for (const auto& b : rec.batches()) order.insert(order.end(), b.begin(), b.end());
  const std::vector<int> a_first = {10, 11, 12, 20, 21, 22}, b_first = {20, 21, 22, 10, 11, 12};
  EXPECT_TRUE(order == a_first || order == b_first);
  EXPECT_EQ(rec.sizes(), (std::vector<size_t>{4, 2}));
}

TEST(DynamicBatcher, StatsAndObserverMatchTheExecutions) {
  std::mutex mutex;
  std::vector<int> observed_sizes;
  bool times_ok = true;
  auto observer = [&](int size, std::chrono::nanoseconds queue_time, std::chrono::nanoseconds compute) {
    std::lock_guard lock(mutex);
    observed_sizes.push_back(size);
    times_ok = times_ok && queue_time > 0ns && compute >= 1ms;
  };
  IntBatcher batcher(
      "m:1", Config(4),
      [](std::vector<int>& batch, int) {
        std::this_thread::sleep_for(1ms);
        if (batch.front() == 8) throw std::runtime_error("last batch fails");
        return batch;
      },
      observer);
  batcher.Pause();
  std::vector<std::future<int>> f;
  for (int i = 0; i < 10; ++i) f.push_back(batcher.Submit(i));
  EXPECT_EQ(batcher.Stats().queue_length, 10u);
  batcher.Resume();
  for (auto& x : f) x.wait();

  const BatcherStats stats = batcher.Stats();
  EXPECT_EQ(stats.success_count, 8u);
  EXPECT_EQ(stats.failure_count, 2u);
  EXPECT_EQ(stats.timeout_count, 0u);
  EXPECT_EQ(stats.queue_count, 10u);
  EXPECT_GT(stats.queue_ns, 0u);
  EXPECT_EQ(stats.execution_count, 3u);
  EXPECT_GE(stats.compute_ns, 3'000'000u);
  ASSERT_EQ(stats.batch_stats.size(), 2u);
  EXPECT_EQ(stats.batch_stats.at(4).count, 2u);
  EXPECT_EQ(stats.batch_stats.at(2).count, 1u);
  EXPECT_EQ(stats.batch_stats.at(4).compute_ns + stats.batch_stats.at(2).compute_ns, stats.compute_ns);
  EXPECT_EQ(stats.queue_length, 0u);
  EXPECT_EQ(stats.queued_requests, 0u);

  std::lock_guard lock(mutex);
  EXPECT_EQ(observed_sizes, (std::vector<int>{4, 4, 2}));
  EXPECT_TRUE(times_ok);
}

TEST(DynamicBatcher, DestructorRunsQueuedWork) {
  Recorder rec;
  std::vector<std::future<int>> f;
  {
    IntBatcher batcher("m:1", Config(2, 1h), rec.Doubler());
    batcher.Pause();
    for (int i = 0; i < 3; ++i) f.push_back(batcher.Submit(i));
  }
  for (int i = 0; i < 3; ++i) EXPECT_EQ(f[i].get(), 2 * i);
  EXPECT_EQ(rec.sizes(), (std::vector<size_t>{2, 1}));
}

TEST(DynamicBatcher, MoveOnlyItemsAndResults) {
  using Ptr = std::unique_ptr<int>;
  DynamicBatcher<Ptr, Ptr> batcher("m:1", Config(4), [](std::vector<Ptr>& batch, int) {
    std::vector<Ptr> out;
    for (auto& p : batch) out.push_back(std::make_unique<int>(*p * 2));
    return out;
  });
  EXPECT_EQ(*batcher.Submit(std::make_unique<int>(21)).get(), 42);
}

TEST(DynamicBatcher, ManyThreadsManyRequestsAllAnswered) {
  Recorder rec;
  BatcherConfig config = Config(8, 200us);
  config.instance_count = 2;
  IntBatcher batcher("m:1", config, rec.Doubler());
  constexpr int kThreads = 4, kRequests = 100;
  std::atomic<int> wrong{0}, items{0};
  std::atomic<bool> done{false};
  // Statistics are read while batches run (as a metrics endpoint would).
  std::thread reader([&] {
    while (!done) {
      const BatcherStats s = batcher.Stats();
      if (s.success_count > static_cast<uint64_t>(kThreads) * kRequests * 3) ++wrong;
      std::this_thread::sleep_for(100us);
    }
  });
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      for (int r = 0; r < kRequests; ++r) {
        std::vector<int> request;
        for (int k = 0; k <= r % 3; ++k) request.push_back(t * 100000 + r * 10 + k);
        auto futures = batcher.SubmitMany(request);
        for (size_t k = 0; k < futures.size(); ++k)
          if (futures[k].get() != 2 * request[k]) ++wrong;
        items += static_cast<int>(request.size());
      }
    });
  for (auto& th : threads) th.join();
  done = true;
  reader.join();
  EXPECT_EQ(wrong.load(), 0);
  const BatcherStats stats = batcher.Stats();
  EXPECT_EQ(stats.success_count, static_cast<uint64_t>(items.load()));
  EXPECT_EQ(stats.failure_count, 0u);
  uint64_t in_batches = 0;
  for (const auto& [size, s] : stats.batch_stats) {
    EXPECT_LE(size, 8);
    in_batches += static_cast<uint64_t>(size) * s.count;
  }
  EXPECT_EQ(in_batches, stats.success_count);
}

}  // namespace
}  // namespace mms::runtime
