// Health probes and the health checker on the tiny demo model, with the runtime tests'
// fault-injection hook (fault_injection_hook.h) holding or failing executions: a probe
// covers both towers and has a deadline, and only failed executions count towards a
// reload, never a busy queue.
#include "runtime/health_checker.h"

#include <gtest/gtest.h>

#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <set>
#include <thread>

#include "base/error.h"
#include "fault_injection_hook.h"
#include "runtime/clip_served_model.h"
#include "runtime/model_repository.h"
#include "test_support.h"

namespace mms::runtime {
namespace {

namespace fs = std::filesystem;
using Outcome = ServedModel::ProbeOutcome;

// Holds the executions of one part of the model until opened, so that a test knows a
// batch is running (and what is queued behind it) without sleeping.
class Gate {
 public:
  explicit Gate(std::string part) : part_(std::move(part)) {}
  void Pass(const ExecutionSite& site) {
    if (site.part != part_) return;
    std::unique_lock<std::mutex> lock(mutex_);
    ++held_;
    changed_.notify_all();
    changed_.wait(lock, [&] { return open_; });
  }
  void WaitUntilHeld(int n) {
    std::unique_lock<std::mutex> lock(mutex_);
    ASSERT_TRUE(changed_.wait_for(lock, std::chrono::seconds(30), [&] { return held_ >= n; }));
  }
  void Open() {
    std::lock_guard<std::mutex> lock(mutex_);
    open_ = true;
    changed_.notify_all();
  }

 private:
  const std::string part_;
  std::mutex mutex_;
  std::condition_variable changed_;
  int held_ = 0;
  bool open_ = false;
};

io::ModelConfig SmallQueueConfig() {
  io::ModelConfig config;
  config.name = "clip";
  config.max_batch_size = 8;
  io::DynamicBatching batching;
  batching.default_queue_policy.max_queue_size = 1;  // one request waiting at most
  config.dynamic_batching = batching;
  return config;
}

std::shared_ptr<ClipServedModel> LoadClip(const io::ModelConfig& config = SmallQueueConfig()) {
  ServingDefaults defaults;
  defaults.clip.threads = 1;
  return ClipServedModel::Load("clip", 1, testing::TinyClipDir(), config, defaults);
}

// Waits until `model` has `n` items queued (a state the test cannot be told of otherwise).
void WaitForQueued(ClipServedModel& model, size_t n) {
  const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (model.Stats().queue_length < n && std::chrono::steady_clock::now() < end) std::this_thread::yield();
  ASSERT_GE(model.Stats().queue_length, n);
}

TEST(HealthProbeTest, ProbesTheImageAndTheTextTower) {
  auto model = LoadClip();
  std::mutex mutex;
  std::set<std::string> parts;
  test_hooks::ScopedExecutionHook hook([&](const ExecutionSite& site) {
    std::lock_guard<std::mutex> lock(mutex);
    parts.insert(site.part);
  });
  const auto probe = model->Probe(std::chrono::seconds(30));
  EXPECT_EQ(probe.outcome, Outcome::kHealthy) << probe.detail;
  EXPECT_EQ(parts, (std::set<std::string>{"image", "text"}));
}

TEST(HealthProbeTest, AFailingImageTowerFailsTheProbe) {
  auto model = LoadClip();
  test_hooks::ScopedExecutionHook hook([](const ExecutionSite& site) {
    if (std::string(site.part) == "image") ThrowInternal("image tower broken on purpose");
  });
  const auto probe = model->Probe(std::chrono::seconds(30));
  EXPECT_EQ(probe.outcome, Outcome::kFailed);
  EXPECT_NE(probe.detail.find("image: image tower broken on purpose"), std::string::npos) << probe.detail;
  EXPECT_EQ(probe.detail.find("text:"), std::string::npos) << probe.detail;
}

TEST(HealthProbeTest, AFullQueueMakesTheProbeBusyNotFailed) {
  auto model = LoadClip();
  Gate gate("text");
  test_hooks::ScopedExecutionHook hook([&](const ExecutionSite& site) { gate.Pass(site); });
  std::thread running([&] { model->EmbedTexts({"held while running"}); });
  gate.WaitUntilHeld(1);
  std::thread queued([&] { model->EmbedTexts({"waiting behind it"}); });
  WaitForQueued(*model, 1);

  const auto probe = model->Probe(std::chrono::seconds(30));
  EXPECT_EQ(probe.outcome, Outcome::kBusy) << probe.detail;
  EXPECT_NE(probe.detail.find("text: queue of clip:1 texts is full"), std::string::npos) << probe.detail;
  gate.Open();
  running.join();
  queued.join();
}

TEST(HealthProbeTest, TheProbeHasADeadline) {
  io::ModelConfig config = SmallQueueConfig();
  config.dynamic_batching->default_queue_policy.max_queue_size = 0;
  auto model = LoadClip(config);
  Gate gate("text");
  test_hooks::ScopedExecutionHook hook([&](const ExecutionSite& site) { gate.Pass(site); });
  std::thread running([&] { model->EmbedTexts({"held while running"}); });
  gate.WaitUntilHeld(1);

  const auto start = std::chrono::steady_clock::now();
  const auto probe = model->Probe(std::chrono::milliseconds(200));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
  EXPECT_EQ(probe.outcome, Outcome::kBusy) << probe.detail;
  EXPECT_NE(probe.detail.find("text:"), std::string::npos) << probe.detail;
  gate.Open();
  running.join();
}

class HealthCheckerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("mms_health_" + std::to_string(::getpid()) + "_" +
                                         ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    const fs::path dir = root_ / "clip" / "1";
    fs::create_directories(dir);
    for (const auto& f : fs::directory_iterator(testing::TinyClipDir()))
      fs::create_symlink(fs::absolute(f.path()), dir / f.path().filename());
    RepositoryOptions o;
    o.root = root_.string();
    o.defaults.clip.threads = 1;
    repository_ = std::make_unique<ModelRepository>(o, logger_);
    repository_->Start();
  }
  void TearDown() override {
    repository_.reset();
    fs::remove_all(root_);
  }
  HealthChecker Checker() {
    HealthCheckOptions o;
    o.failures_before_reload = 1;
    o.probe_timeout = std::chrono::milliseconds(200);
    return HealthChecker(*repository_, o, logger_);
  }

  fs::path root_;
  Logger logger_{LogLevel::kError};
  std::unique_ptr<ModelRepository> repository_;
};

TEST_F(HealthCheckerTest, ABusyModelIsNeverReloaded) {
  const auto before = repository_->Find("clip");
  Gate gate("text");
  test_hooks::ScopedExecutionHook hook([&](const ExecutionSite& site) { gate.Pass(site); });
  std::thread running([&] { before->AsClip()->EmbedTexts({"held while running"}); });
  gate.WaitUntilHeld(1);
  {
    HealthChecker checker = Checker();
    for (int round = 0; round < 3; ++round) checker.CheckOnce();
  }
  EXPECT_EQ(repository_->Find("clip"), before);
  gate.Open();
  running.join();
}

TEST_F(HealthCheckerTest, AModelWhoseExecutionsFailIsReloaded) {
  const auto before = repository_->Find("clip");
  {
    test_hooks::ScopedExecutionHook hook([](const ExecutionSite&) { ThrowInternal("broken on purpose"); });
    HealthChecker checker = Checker();
    checker.CheckOnce();
  }
  const auto after = repository_->Find("clip");
  EXPECT_NE(after, before);
  EXPECT_EQ(after->Probe(std::chrono::seconds(30)).outcome, Outcome::kHealthy);
}

}  // namespace
}  // namespace mms::runtime
