#include "base/worker_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <thread>
#include <vector>

namespace mms {
namespace {

TEST(WorkerPoolTest, ResultsComeBackThroughTheirFutures) {
  WorkerPool pool(3);
  EXPECT_EQ(pool.size(), 3);
  std::vector<std::future<int>> results;
  for (int i = 0; i < 50; ++i) results.push_back(pool.Submit([i] { return i * i; }));
  for (int i = 0; i < 50; ++i) EXPECT_EQ(results[i].get(), i * i);
}

TEST(WorkerPoolTest, AnExceptionReachesItsFutureAndTheWorkerGoesOn) {
  WorkerPool pool(1);
  auto bad = pool.Submit([]() -> int { throw std::runtime_error("image 2 is corrupt"); });
  auto good = pool.Submit([] { return 7; });
  try {
    bad.get();
    FAIL() << "no exception";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "image 2 is corrupt");
  }
  EXPECT_EQ(good.get(), 7);
}

// Two tasks that each wait for the other finish only if they run at the same time.
TEST(WorkerPoolTest, TasksRunConcurrently) {
  WorkerPool pool(2);
  std::atomic<int> arrived{0};
  auto meet = [&arrived] {
    arrived.fetch_add(1);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (arrived.load() < 2 && std::chrono::steady_clock::now() < deadline) std::this_thread::yield();
    return arrived.load() == 2;
  };
  auto a = pool.Submit(meet), b = pool.Submit(meet);
  EXPECT_TRUE(a.get());
  EXPECT_TRUE(b.get());
}

TEST(WorkerPoolTest, DestructionRunsWhatWasQueued) {
  std::atomic<int> ran{0};
  {
    WorkerPool pool(1);
    for (int i = 0; i < 20; ++i) {
      pool.Submit([&ran] {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
        ran.fetch_add(1);
      });
    }
  }
  EXPECT_EQ(ran.load(), 20);
}

TEST(WorkerPoolTest, AtLeastOneThread) { EXPECT_EQ(WorkerPool(0).size(), 1); }

}  // namespace
}  // namespace mms
