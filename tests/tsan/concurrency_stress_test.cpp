// The concurrent parts driven from many threads at once, for ThreadSanitizer: every
// public entry point of each class is called while others run, with fake compute (an
// executor doing arithmetic) standing in for the model. The assertions are the counts
// that must balance; TSan's own reports are the real check (tests/tsan/CMakeLists.txt).
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "api/rate_limiter.h"
#include "base/error.h"
#include "runtime/circuit_breaker.h"
#include "runtime/dynamic_batcher.h"
#include "runtime/embedding_cache.h"
#include "runtime/memory_budget.h"

namespace mms::runtime {
namespace {

constexpr int kThreads = 8;

// A model's serving path in miniature, as ServedModel wires it: the breaker admits a
// request, the batcher runs it, the executor reports to the breaker. Some items fail on
// purpose, some time out, a reader takes statistics and a pauser holds batches meanwhile.
TEST(ConcurrencyStressTest, BatcherAndBreakerUnderManyClients) {
  std::atomic<int> breaker_changes{0};
  CircuitBreaker breaker({/*failure_threshold=*/3, std::chrono::milliseconds(1)},
                         [&](BreakerState, BreakerState, const std::string&) { ++breaker_changes; });
  BatcherConfig config;
  config.max_batch_size = 8;
  config.max_queue_delay = std::chrono::microseconds(200);
  config.instance_count = 3;
  config.max_queue_size = 64;
  std::atomic<int> observed{0};
  DynamicBatcher<int, int> batcher(
      "fake:1", config,
      [&](std::vector<int>& batch, int instance) {
        std::vector<int> out;
        for (int v : batch) {
          if (v % 97 == 0) {
            breaker.RecordFailure("item " + std::to_string(v) + " fails on purpose");
            ThrowInternal("fake model failure");
          }
          out.push_back(v * 2);
        }
        breaker.RecordSuccess();
        return out;
      },
      [&](int, std::chrono::nanoseconds, std::chrono::nanoseconds) { ++observed; });

  std::atomic<bool> stop{false};
  std::thread reader([&] {
    while (!stop) {
      const BatcherStats s = batcher.Stats();
      EXPECT_LE(s.timeout_count, s.failure_count);
      (void)breaker.state();
      (void)breaker.consecutive_failures();
    }
  });
  std::thread pauser([&] {
    for (int i = 0; i < 50 && !stop; ++i) {
      batcher.Pause();
      std::this_thread::yield();
      batcher.Resume();
    }
  });
  std::atomic<int> answered{0}, refused{0};
  std::vector<std::thread> clients;
  for (int t = 0; t < kThreads; ++t) {
    clients.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        const int base = (t * 1000 + i) * 3;
        try {
          breaker.Admit("fake:1");
          auto futures = batcher.SubmitMany({base, base + 1, base + 2},
                                            i % 5 == 0 ? std::optional(std::chrono::microseconds(50)) : std::nullopt);
          for (auto& f : futures) {
            try {
              EXPECT_EQ(f.get() % 2, 0);
            } catch (const Error&) {
            }
            ++answered;
          }
        } catch (const Error& e) {
          EXPECT_EQ(e.code(), ErrorCode::kUnavailable) << e.what();  // breaker open or queue full
          ++refused;
        }
      }
    });
  }
  for (auto& c : clients) c.join();
  stop = true;
  reader.join();
  pauser.join();
  batcher.Shutdown(std::chrono::milliseconds(1000));
  const BatcherStats s = batcher.Stats();
  EXPECT_EQ(s.success_count + s.failure_count, static_cast<uint64_t>(answered.load()));
  EXPECT_EQ(static_cast<uint64_t>(observed.load()), s.execution_count);
  EXPECT_GT(answered.load(), 0);
}

// Submitting while another thread shuts the batcher down: every future is satisfied.
TEST(ConcurrencyStressTest, ShutdownWhileClientsSubmit) {
  BatcherConfig config;
  config.max_batch_size = 4;
  config.instance_count = 2;
  DynamicBatcher<int, int> batcher("fake:2", config, [](std::vector<int>& batch, int) { return batch; });
  std::vector<std::thread> clients;
  std::atomic<int> settled{0};
  for (int t = 0; t < kThreads; ++t) {
    clients.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        try {
          auto f = batcher.Submit(t * 1000 + i);
          try {
            EXPECT_EQ(f.get(), t * 1000 + i);
          } catch (const Error&) {  // shut down before it ran
          }
          ++settled;
        } catch (const Error& e) {
          EXPECT_EQ(e.code(), ErrorCode::kUnavailable);
          ++settled;
        }
      }
    });
  }
  std::this_thread::yield();
  batcher.Shutdown(std::chrono::milliseconds(100));
  for (auto& c : clients) c.join();
  EXPECT_EQ(settled.load(), kThreads * 200);
}

CacheDigest Key(int i) { return TextCacheKey({"m", 1, "fp32", "hf"}, {i}); }

// Readers and writers over overlapping keys in a cache small enough to evict all the time.
TEST(ConcurrencyStressTest, MemoryCacheUnderReadersAndWriters) {
  EmbeddingCache cache(std::make_unique<MemoryCache>(64 * MemoryCache::EntryBytes(4), 4), nullptr);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 300; ++i) {
        const int k = (t * 7 + i) % 200;
        std::vector<CacheDigest> keys = {Key(k), Key(k + 1)};
        const auto found = cache.GetMany(keys, 4);
        for (size_t j = 0; j < keys.size(); ++j) {
          if (found.values[j]) {
            EXPECT_EQ((*found.values[j])[0], static_cast<float>(k + static_cast<int>(j)));
          }
        }
        const std::vector<float> a(4, static_cast<float>(k)), b(4, static_cast<float>(k + 1));
        cache.PutMany(keys, {std::span<const float>(a), std::span<const float>(b)});
        if (i % 50 == 0) (void)cache.GetStats();
      }
    });
  }
  for (auto& t : threads) t.join();
  const auto stats = cache.GetStats();
  ASSERT_TRUE(stats.memory.has_value());
  EXPECT_LE(stats.memory->bytes, stats.memory->capacity_bytes);
  EXPECT_EQ(stats.memory->hits + stats.memory->misses, static_cast<uint64_t>(kThreads) * 300 * 2);
}

// The batch ceiling the instances of one tower share: failures and successes reported
// from every instance at once, read by all of them.
TEST(ConcurrencyStressTest, BatchCeilingSharedByInstances) {
  BatchCeiling ceiling(32, 2);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 2000; ++i) {
        const int now = ceiling.current();
        EXPECT_GE(now, 1);
        EXPECT_LE(now, 32);
        if ((i + t) % 17 == 0) ceiling.OnAllocationFailure(now);
        else ceiling.OnSuccess();
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_GE(ceiling.current(), 1);
}

// Many clients, some sharing a bucket, with the idle sweep running among them.
TEST(ConcurrencyStressTest, RateLimiterUnderManyClients) {
  api::RateLimiter limiter(1000, 5);
  std::atomic<int> allowed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 500; ++i) {
        const std::string client = "client-" + std::to_string((t + i) % 13);
        allowed += limiter.Acquire(client).allowed;
        if (i % 100 == 0) (void)limiter.tracked_clients();
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_GT(allowed.load(), 0);
  EXPECT_LE(limiter.tracked_clients(), 13u);
}

}  // namespace
}  // namespace mms::runtime
