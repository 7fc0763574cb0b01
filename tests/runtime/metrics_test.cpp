// The Prometheus exposition: names, labels and types of every family; the HTTP counters
// move as requests are reported; model values are read from a real repository at scrape
// time; process values come from /proc/self.
#include "runtime/metrics.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <set>

#include "prometheus_text.h"
#include "runtime/embedding_cache.h"
#include "runtime/clip_served_model.h"
#include "runtime/metrics_collectors.h"
#include "runtime/model_repository.h"
#include "test_support.h"

namespace mms::runtime {
namespace {

namespace fs = std::filesystem;
using testing::ParsePromSamples;
using testing::PromTypes;
using testing::PromValue;

class MetricsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("mms_metrics_" + std::to_string(::getpid()) + "_" +
                                         ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    fs::create_directories(root_);
  }
  void TearDown() override { fs::remove_all(root_); }

  void AddVersion(const std::string& model, int version) {
    const fs::path dir = root_ / model / std::to_string(version);
    fs::create_directories(dir);
    for (const auto& f : fs::directory_iterator(testing::TinyClipDir())) {
      fs::create_symlink(fs::absolute(f.path()), dir / f.path().filename());
    }
  }
  std::unique_ptr<ModelRepository> Repository(std::shared_ptr<EmbeddingCache> cache = nullptr) {
    RepositoryOptions o;
    o.root = root_.string();
    o.defaults.clip.threads = 1;
    o.defaults.cache = std::move(cache);
    auto repo = std::make_unique<ModelRepository>(o, logger_);
    repo->Start();
    return repo;
  }

  fs::path root_;
  Logger logger_{LogLevel::kError};
};

TEST_F(MetricsTest, EveryFamilyIsDeclaredWithItsType) {
  Metrics metrics;
  auto repo = Repository();  // empty: the model families are declared without series
  // Labelled families of the registry appear with their first series.
  metrics.RequestStarted();
  metrics.RequestFinished("/health", 200, "", 0.001);
  metrics.CountRejection(ErrorCode::kTimeout);
  const std::string text = metrics.Exposition(*repo);
  const auto types = PromTypes(text);
  const std::map<std::string, std::string> expected = {
      {"mmserve_requests_total", "counter"},
      {"mmserve_request_duration_seconds", "histogram"},
      {"mmserve_inflight_requests", "gauge"},
      {"mmserve_rate_limited_requests_total", "counter"},
      {"mmserve_rejected_requests_total", "counter"},
      {"mmserve_cache_requests_total", "counter"},
      {"mmserve_model_state", "gauge"},
      {"mmserve_model_load_seconds", "gauge"},
      {"mmserve_circuit_breaker_state", "gauge"},
      {"mmserve_inference_requests_total", "counter"},
      {"mmserve_inference_items_total", "counter"},
      {"mmserve_executions_total", "counter"},
      {"mmserve_queue_length", "gauge"},
      {"mmserve_inference_queue_seconds", "summary"},
      {"mmserve_inference_compute_seconds", "summary"},
      {"mmserve_batch_size", "histogram"},
      {"process_cpu_seconds_total", "counter"},
      {"process_resident_memory_bytes", "gauge"},
      {"process_threads", "gauge"},
  };
  for (const auto& [name, type] : expected) {
    auto it = types.find(name);
    ASSERT_NE(it, types.end()) << name << " is not declared in:\n" << text;
    EXPECT_EQ(it->second, type) << name;
  }
  // Prometheus's naming rules: our prefix, base units, counters end in _total.
  for (const auto& [name, type] : types) {
    EXPECT_TRUE(name.rfind("mmserve_", 0) == 0 || name.rfind("process_", 0) == 0) << name;
    if (type == "counter") {
      EXPECT_TRUE(name.size() > 6 && name.substr(name.size() - 6) == "_total") << name;
    }
    EXPECT_EQ(name.find("_ms"), std::string::npos) << name;
  }
  EXPECT_EQ(PromValue(ParsePromSamples(text), "mmserve_inflight_requests"), 0.0);
}

TEST_F(MetricsTest, RequestCountersMoveAsRequestsAreReported) {
  Metrics metrics;
  auto repo = Repository();
  metrics.RequestStarted();
  metrics.RequestStarted();
  metrics.RequestFinished("/predict", 200, "clip", 0.003);
  auto samples = ParsePromSamples(metrics.Exposition(*repo));
  EXPECT_EQ(PromValue(samples, "mmserve_inflight_requests"), 1.0);
  EXPECT_EQ(PromValue(samples, "mmserve_requests_total", {{"route", "/predict"}, {"code", "200"}, {"model", "clip"}}),
            1.0);
  EXPECT_EQ(PromValue(samples, "mmserve_request_duration_seconds_count", {{"route", "/predict"}}), 1.0);
  EXPECT_NEAR(*PromValue(samples, "mmserve_request_duration_seconds_sum", {{"route", "/predict"}}), 0.003, 1e-9);
  EXPECT_EQ(PromValue(samples, "mmserve_request_duration_seconds_bucket", {{"route", "/predict"}, {"le", "0.0025"}}),
            0.0);
  EXPECT_EQ(PromValue(samples, "mmserve_request_duration_seconds_bucket", {{"route", "/predict"}, {"le", "0.005"}}),
            1.0);
  EXPECT_EQ(PromValue(samples, "mmserve_request_duration_seconds_bucket", {{"route", "/predict"}, {"le", "+Inf"}}),
            1.0);

  metrics.RequestFinished("/predict", 503, "clip", 0.5);
  metrics.RequestUnrouted(404);
  samples = ParsePromSamples(metrics.Exposition(*repo));
  EXPECT_EQ(PromValue(samples, "mmserve_inflight_requests"), 0.0);
  EXPECT_EQ(PromValue(samples, "mmserve_requests_total", {{"route", "/predict"}}), 2.0);
  EXPECT_EQ(PromValue(samples, "mmserve_requests_total", {{"route", "/predict"}, {"code", "503"}}), 1.0);
  EXPECT_EQ(PromValue(samples, "mmserve_requests_total", {{"route", "(none)"}, {"code", "404"}, {"model", ""}}), 1.0);
  // Unrouted requests have no duration to report.
  EXPECT_FALSE(PromValue(samples, "mmserve_request_duration_seconds_count", {{"route", "(none)"}}));
}

TEST_F(MetricsTest, RejectionsAreCountedByReason) {
  Metrics metrics;
  auto repo = Repository();
  metrics.CountRejection(ErrorCode::kUnauthenticated);
  metrics.CountRejection(ErrorCode::kPermissionDenied);
  metrics.CountRejection(ErrorCode::kRateLimited);
  metrics.CountRejection(ErrorCode::kRateLimited);
  metrics.CountRejection(ErrorCode::kUnavailable);
  metrics.CountRejection(ErrorCode::kTimeout);
  metrics.CountRejection(ErrorCode::kInvalidArgument);  // bad input is not a refusal
  metrics.CountRejection(ErrorCode::kInternal);
  metrics.RequestUnrouted(413);  // httplib refused a body over the limit
  const auto samples = ParsePromSamples(metrics.Exposition(*repo));
  EXPECT_EQ(PromValue(samples, "mmserve_rate_limited_requests_total"), 2.0);
  EXPECT_EQ(PromValue(samples, "mmserve_rejected_requests_total", {{"reason", "unauthenticated"}}), 1.0);
  EXPECT_EQ(PromValue(samples, "mmserve_rejected_requests_total", {{"reason", "forbidden"}}), 1.0);
  EXPECT_EQ(PromValue(samples, "mmserve_rejected_requests_total", {{"reason", "rate_limited"}}), 2.0);
  EXPECT_EQ(PromValue(samples, "mmserve_rejected_requests_total", {{"reason", "unavailable"}}), 1.0);
  EXPECT_EQ(PromValue(samples, "mmserve_rejected_requests_total", {{"reason", "timeout"}}), 1.0);
  EXPECT_EQ(PromValue(samples, "mmserve_rejected_requests_total", {{"reason", "too_large"}}), 1.0);
  EXPECT_EQ(PromValue(samples, "mmserve_rejected_requests_total"), 7.0);
}

TEST_F(MetricsTest, CacheLookupsAndLevelsAreReadFromTheCache) {
  AddVersion("clip", 1);
  auto cache = std::make_shared<EmbeddingCache>(std::make_unique<MemoryCache>(1 << 20), nullptr);
  Metrics metrics;
  metrics.WatchCache(cache);
  auto repo = Repository(cache);
  repo->Find("clip")->AsClip()->EmbedTexts({"a photo of a cat", "a dog"});
  repo->Find("clip")->AsClip()->EmbedTexts({"a photo of a cat", "a bird"});  // one hit, one miss
  const std::string text = metrics.Exposition(*repo);
  const auto samples = ParsePromSamples(text);
  const auto lookups = [&](const char* level, const char* result) {
    return PromValue(samples, "mmserve_cache_requests_total",
                     {{"model", "clip"}, {"version", "1"}, {"level", level}, {"result", result}});
  };
  EXPECT_EQ(lookups("memory", "hit"), 1.0) << text;
  EXPECT_EQ(lookups("memory", "miss"), 3.0);
  EXPECT_FALSE(lookups("redis", "miss"));  // no redis level: no series for it
  EXPECT_EQ(PromValue(samples, "mmserve_cache_entries", {{"level", "memory"}}), 3.0);
  EXPECT_GT(PromValue(samples, "mmserve_cache_bytes", {{"level", "memory"}}).value_or(0), 0.0);
  EXPECT_EQ(PromValue(samples, "mmserve_cache_capacity_bytes", {{"level", "memory"}}), double(1 << 20));
  EXPECT_EQ(PromValue(samples, "mmserve_cache_evictions_total", {{"level", "memory"}}), 0.0);
  EXPECT_EQ(PromValue(samples, "mmserve_cache_up", {{"level", "memory"}}), 1.0);
  EXPECT_FALSE(PromValue(samples, "mmserve_cache_up", {{"level", "redis"}}));
  const auto types = PromTypes(text);
  EXPECT_EQ(types.at("mmserve_cache_requests_total"), "counter");
  EXPECT_EQ(types.at("mmserve_cache_evictions_total"), "counter");
  EXPECT_EQ(types.at("mmserve_cache_bytes"), "gauge");
}

TEST_F(MetricsTest, NoCacheNoCacheSeries) {
  AddVersion("clip", 1);
  Metrics metrics;
  auto repo = Repository();
  repo->Find("clip")->AsClip()->EmbedTexts({"a photo of a cat"});
  const auto samples = ParsePromSamples(metrics.Exposition(*repo));
  EXPECT_FALSE(PromValue(samples, "mmserve_cache_requests_total"));
  EXPECT_FALSE(PromValue(samples, "mmserve_cache_entries"));
}

TEST_F(MetricsTest, ModelValuesAreReadFromTheRepositoryAtScrapeTime) {
  AddVersion("clip", 1);
  fs::create_directories(root_ / "empty");  // a model with no version: UNAVAILABLE, version 0
  Metrics metrics;
  auto repo = Repository();
  const std::map<std::string, std::string> v1 = {{"model", "clip"}, {"version", "1"}};
  auto with = [&v1](const char* k, const char* v) {
    auto l = v1;
    l[k] = v;
    return l;
  };

  auto samples = ParsePromSamples(metrics.Exposition(*repo));
  EXPECT_EQ(PromValue(samples, "mmserve_model_state", with("state", "READY")), 1.0);
  EXPECT_EQ(PromValue(samples, "mmserve_model_state", with("state", "LOADING")), 0.0);
  EXPECT_EQ(PromValue(samples, "mmserve_model_state", v1), 1.0);  // exactly one state is current
  EXPECT_EQ(PromValue(samples, "mmserve_model_state", {{"model", "empty"}, {"state", "UNAVAILABLE"}}), 1.0);
  EXPECT_GT(*PromValue(samples, "mmserve_model_load_seconds", v1), 0.0);
  EXPECT_EQ(PromValue(samples, "mmserve_circuit_breaker_state", with("state", "closed")), 1.0);
  EXPECT_EQ(PromValue(samples, "mmserve_circuit_breaker_state", with("state", "open")), 0.0);
  EXPECT_EQ(PromValue(samples, "mmserve_executions_total", v1), 0.0);
  EXPECT_EQ(PromValue(samples, "mmserve_batch_size_count", v1), 0.0);

  // Two texts in one request: one batch of two items (batching keeps a request's items together).
  repo->Find("clip")->AsClip()->EmbedTexts({"a photo of a cat", "a dog"});
  samples = ParsePromSamples(metrics.Exposition(*repo));
  EXPECT_EQ(PromValue(samples, "mmserve_inference_requests_total", with("result", "success")), 1.0);
  EXPECT_EQ(PromValue(samples, "mmserve_inference_requests_total", with("result", "failure")), 0.0);
  EXPECT_EQ(PromValue(samples, "mmserve_inference_items_total", v1), 2.0);
  EXPECT_EQ(PromValue(samples, "mmserve_executions_total", v1), 1.0);
  EXPECT_EQ(PromValue(samples, "mmserve_queue_length", v1), 0.0);
  EXPECT_EQ(PromValue(samples, "mmserve_inference_queue_seconds_count", v1), 2.0);  // one per item
  EXPECT_EQ(PromValue(samples, "mmserve_inference_compute_seconds_count", with("phase", "infer")), 1.0);
  EXPECT_GT(*PromValue(samples, "mmserve_inference_compute_seconds_sum", with("phase", "infer")), 0.0);
  EXPECT_EQ(PromValue(samples, "mmserve_inference_compute_seconds_count", with("phase", "preprocess")), 1.0);
  EXPECT_EQ(PromValue(samples, "mmserve_inference_compute_seconds_count", with("phase", "postprocess")), 1.0);
  EXPECT_EQ(PromValue(samples, "mmserve_batch_size_bucket", with("le", "1")), 0.0);
  EXPECT_EQ(PromValue(samples, "mmserve_batch_size_bucket", with("le", "2")), 1.0);
  EXPECT_EQ(PromValue(samples, "mmserve_batch_size_bucket", with("le", "+Inf")), 1.0);
  EXPECT_EQ(PromValue(samples, "mmserve_batch_size_count", v1), 1.0);
  EXPECT_EQ(PromValue(samples, "mmserve_batch_size_sum", v1), 2.0);
}

TEST(ProcessMetrics, ReadFromProcSelf) {
  const auto p = ReadProcessStats();
  ASSERT_TRUE(p);
  EXPECT_GE(p->threads, 1);
  EXPECT_GT(p->resident_bytes, 1 << 20);
  EXPECT_GE(p->virtual_bytes, p->resident_bytes);
  EXPECT_GE(p->cpu_seconds, 0);
  EXPECT_GT(p->open_fds, 2);  // at least stdin, stdout, stderr
  EXPECT_GT(p->start_time_seconds, 1.5e9);
  // Burn some CPU: the counter must move (ticks are 10 ms).
  const double before = p->cpu_seconds;
  volatile double x = 0;
  for (int i = 0; i < 100000000 && ReadProcessStats()->cpu_seconds < before + 0.05; ++i) {
    for (int j = 0; j < 100000; ++j) x = x + j;
  }
  EXPECT_GE(ReadProcessStats()->cpu_seconds, before + 0.05);
}

}  // namespace
}  // namespace mms::runtime
