// Memory budget and adaptive batching: the largest batch derived from a per-model budget
// through the model's memory estimate, allocation failures (injected through the runtime
// tests' fault hook, not real exhaustion) that split batches, lower the ceiling and never
// count as breaker failures, and reloads refused without room for a second copy.
#include "runtime/memory_budget.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <mutex>
#include <new>

#include "base/error.h"
#include "base/file_util.h"
#include "fault_injection_hook.h"
#include "runtime/clip_served_model.h"
#include "runtime/model_repository.h"
#include "test_support.h"

namespace mms::runtime {
namespace {

namespace fs = std::filesystem;

TEST(BatchCeilingTest, HalvesOnAllocationFailureAndRisesOneStepPerRunOfSuccesses) {
  BatchCeiling c(8, 4);
  EXPECT_EQ(c.current(), 8);
  c.OnAllocationFailure(8);
  EXPECT_EQ(c.current(), 4);
  for (int i = 0; i < 3; ++i) c.OnSuccess();
  EXPECT_EQ(c.current(), 4);
  c.OnSuccess();
  EXPECT_EQ(c.current(), 5);
  c.OnAllocationFailure(3);  // a failure resets the run of successes too
  EXPECT_EQ(c.current(), 1);
  for (int i = 0; i < 3; ++i) c.OnSuccess();
  EXPECT_EQ(c.current(), 1);
  for (int i = 0; i < 100; ++i) c.OnSuccess();
  EXPECT_EQ(c.current(), 8);  // never above the maximum
}

TEST(MaxBatchWithinBudgetTest, SharesTheRoomBesideTheWeightsAmongTheParts) {
  MemoryEstimate e{100, {{"image", 10}, {"text", 5}}};
  // 100 bytes of room, 50 per part: 5 images, 10 texts (capped at 8 configured).
  EXPECT_EQ(MaxBatchWithinBudget(e, 200, 1, 8, "m"), (std::vector<int>{5, 8}));
  // Two instances of each part share the same room.
  EXPECT_EQ(MaxBatchWithinBudget(e, 200, 2, 8, "m"), (std::vector<int>{2, 5}));
  try {
    MaxBatchWithinBudget(e, 115, 1, 8, "model \"m\"");
    FAIL() << "a budget without room for one image was accepted";
  } catch (const Error& err) {
    EXPECT_EQ(err.code(), ErrorCode::kInvalidModel);
    EXPECT_NE(std::string(err.what()).find("model \"m\": memory budget"), std::string::npos) << err.what();
    EXPECT_NE(std::string(err.what()).find("image"), std::string::npos) << err.what();
  }
  EXPECT_THROW(MaxBatchWithinBudget(e, 100, 1, 8, "m"), Error);  // not even the weights
}

std::shared_ptr<ClipServedModel> LoadClip(std::map<std::string, std::string> parameters = {}, int breaker_failures = 5) {
  io::ModelConfig config;
  config.name = "clip";
  config.max_batch_size = 8;
  config.dynamic_batching = io::DynamicBatching{};
  config.parameters = std::move(parameters);
  ServingDefaults defaults;
  defaults.clip.threads = 1;
  defaults.breaker.failure_threshold = breaker_failures;
  return ClipServedModel::Load("clip", 1, testing::TinyClipDir(), config, defaults);
}

std::string Mb(double bytes) {
  char text[64];
  std::snprintf(text, sizeof text, "%.6f", bytes / (1 << 20));
  return text;
}

TEST(ServedModelMemoryTest, TheBudgetDerivesEachTowersLargestBatch) {
  const MemoryEstimate e = LoadClip()->memory_estimate();
  ASSERT_EQ(e.parts.size(), 2u);
  EXPECT_GT(e.weights_bytes, 10u << 20);  // the tiny checkpoint's 14 MB of weights
  const uint64_t image = e.parts[0].bytes_per_item, text = e.parts[1].bytes_per_item;
  ASSERT_GT(image, 0u);
  ASSERT_GT(text, 0u);
  // Room for 3.5 images per tower share beside the weights: the image batch is 3.
  const double budget = static_cast<double>(e.weights_bytes) + 2 * 3.5 * static_cast<double>(image);
  auto model = LoadClip({{"memory_budget_mb", Mb(budget)}});
  EXPECT_EQ(model->max_batch_size("image"), 3);
  EXPECT_EQ(model->max_batch_size("text"), static_cast<int>(std::min<uint64_t>(8, static_cast<uint64_t>(3.5 * image) / text)));

  // Five images in one request run in batches of at most 3.
  const std::string png = ReadFileBytes(testing::SourcePath("tests/data/clip-reference/images/astronaut.png"));
  const auto out = model->EmbedImages({png, png, png, png, png});
  EXPECT_EQ(out.count, 5);
  for (const auto& b : model->Stats().batch_stats) EXPECT_LE(b.batch_size, 3);
}

TEST(ServedModelMemoryTest, ABudgetThatCannotHoldOneItemRefusesTheLoad) {
  try {
    LoadClip({{"memory_budget_mb", "1"}});
    FAIL() << "loaded within 1 MB";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidModel);
    EXPECT_NE(std::string(e.what()).find("memory budget"), std::string::npos) << e.what();
  }
  EXPECT_THROW(LoadClip({{"memory_budget_mb", "lots"}}), Error);
  EXPECT_THROW(LoadClip({{"memory_budget_mb", "-5"}}), Error);
}

// Records the batch sizes the text tower is asked to run; fails those above `fits`.
struct AllocationFailures {
  explicit AllocationFailures(size_t fits) : fits(fits) {}
  void operator()(const ExecutionSite& site) {
    if (std::string(site.part) != "text") return;
    {
      std::lock_guard<std::mutex> lock(mutex);
      sizes.push_back(site.batch_size);
    }
    if (site.batch_size > fits) throw std::bad_alloc();
  }
  std::vector<size_t> Sizes() {
    std::lock_guard<std::mutex> lock(mutex);
    auto out = sizes;
    sizes.clear();
    return out;
  }
  const size_t fits;
  std::mutex mutex;
  std::vector<size_t> sizes;
};

TEST(ServedModelMemoryTest, AnAllocationFailureSplitsTheBatchAndLowersTheCeiling) {
  auto model = LoadClip({}, /*breaker_failures=*/1);
  const std::vector<std::string> texts = {"a", "b", "c", "d", "e", "f", "g", "h"};
  const auto expected = model->EmbedTexts(texts).values;
  AllocationFailures failures(2);
  test_hooks::ScopedExecutionHook hook([&](const ExecutionSite& site) { failures(site); });

  EXPECT_EQ(model->EmbedTexts(texts).values, expected);
  // 8 fails, its halves of 4 fail, their halves of 2 run.
  EXPECT_EQ(failures.Sizes(), (std::vector<size_t>{8, 4, 2, 2, 4, 2, 2}));
  EXPECT_EQ(model->batch_ceiling("text"), 2);
  EXPECT_EQ(model->batch_ceiling("image"), 8);
  EXPECT_EQ(model->breaker_state(), BreakerState::kClosed);  // memory pressure is not a broken model

  // The next batch of 8 runs under the lowered ceiling at once.
  EXPECT_EQ(model->EmbedTexts(texts).values, expected);
  EXPECT_EQ(failures.Sizes(), (std::vector<size_t>{2, 2, 2, 2}));
}

TEST(ServedModelMemoryTest, OneItemThatCannotBeAllocatedIsUnavailableNotABreakerFailure) {
  auto model = LoadClip({}, /*breaker_failures=*/1);
  AllocationFailures failures(0);
  test_hooks::ScopedExecutionHook hook([&](const ExecutionSite& site) { failures(site); });
  try {
    model->EmbedTexts({"a", "b"});
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kUnavailable);
    EXPECT_NE(std::string(e.what()).find("out of memory running one text item"), std::string::npos) << e.what();
  }
  EXPECT_EQ(model->breaker_state(), BreakerState::kClosed);
  EXPECT_EQ(model->batch_ceiling("text"), 1);
}

TEST(ModelRepositoryMemoryTest, NoReloadWithoutRoomForASecondCopy) {
  const fs::path root = fs::temp_directory_path() / ("mms_memory_repo_" + std::to_string(::getpid()));
  fs::remove_all(root);
  fs::create_directories(root / "clip" / "1");
  for (const auto& f : fs::directory_iterator(testing::TinyClipDir()))
    fs::create_symlink(fs::absolute(f.path()), root / "clip" / "1" / f.path().filename());
  std::atomic<uint64_t> available{1 << 10};
  RepositoryOptions o;
  o.root = root.string();
  o.defaults.clip.threads = 1;
  o.available_memory = [&] { return available.load(); };
  Logger logger(LogLevel::kError);
  {
    ModelRepository repository(o, logger);
    repository.Start();  // the first copy loads: nothing serves yet to make room beside
    const auto first = repository.Find("clip");

    repository.Reload("clip");
    EXPECT_EQ(repository.Find("clip"), first);
    const auto index = repository.Index();
    ASSERT_EQ(index.size(), 1u);
    EXPECT_EQ(index[0].state, ModelState::kReady);
    EXPECT_NE(index[0].reason.find("not enough memory to load another copy"), std::string::npos) << index[0].reason;

    available = uint64_t{1} << 40;
    repository.Reload("clip");
    EXPECT_NE(repository.Find("clip"), first);
  }
  fs::remove_all(root);
}

}  // namespace
}  // namespace mms::runtime
