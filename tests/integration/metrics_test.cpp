// GET /metrics and the request log against the real server: a request moves the right
// counters, histograms have their buckets, the model state is there, the log line names
// the model and never the texts; and a real Prometheus server scraping mmserve on
// loopback sees the request through its query API.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "base/file_util.h"
#include "process.h"
#include "prometheus_text.h"
#include "test_support.h"

extern char** environ;

namespace mms::testing {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

const char kMarkerText[] = "a secret caption 7391 that must not be logged";

httplib::MultipartFormDataItems PredictForm(const std::string& image_bytes) {
  return {{"image", image_bytes, "a.png", "image/png"},
          {"texts", json::array({kMarkerText, "a cat"}).dump(), "", ""}};
}

std::string CoffeeImage() { return ReadFileBytes(SourcePath("tests/data/clip-reference/images/coffee.png")); }

httplib::Client ClientFor(int port) {
  httplib::Client c("127.0.0.1", port);
  c.set_read_timeout(60, 0);
  return c;
}

std::vector<PromSample> Scrape(int port, std::string* content_type = nullptr) {
  auto res = ClientFor(port).Get("/metrics");
  if (!res || res->status != 200) {
    ADD_FAILURE() << "GET /metrics failed: " << (res ? std::to_string(res->status) + " " + res->body : "no response");
    return {};
  }
  if (content_type) *content_type = res->get_header_value("Content-Type");
  return ParsePromSamples(res->body);
}

TEST(MetricsEndpoint, ARequestMovesItsCountersAndIsLoggedWithItsModel) {
  ServerProcess server({"--threads", "1", "--max-image-bytes", "600000"});
  std::string content_type;
  auto before = Scrape(server.port(), &content_type);
  EXPECT_EQ(content_type, "text/plain; version=0.0.4; charset=utf-8");
  const std::map<std::string, std::string> predict_ok = {{"route", "/predict"}, {"code", "200"}, {"model", "clip"}};
  const double count_before = PromValue(before, "mmserve_requests_total", predict_ok).value_or(0);

  auto res = ClientFor(server.port()).Post("/predict", {{"X-Request-ID", "metrics-check-1"}}, PredictForm(CoffeeImage()));
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  EXPECT_EQ(res->get_header_value("X-Request-ID"), "metrics-check-1");

  auto after = Scrape(server.port());
  EXPECT_EQ(PromValue(after, "mmserve_requests_total", predict_ok), count_before + 1);
  // The scrape itself is the one request in flight.
  EXPECT_EQ(PromValue(after, "mmserve_inflight_requests"), 1.0);
  // The duration histogram has its buckets, cumulative up to +Inf.
  const std::map<std::string, std::string> route = {{"route", "/predict"}};
  EXPECT_EQ(PromValue(after, "mmserve_request_duration_seconds_count", route), 1.0);
  EXPECT_EQ(PromValue(after, "mmserve_request_duration_seconds_bucket", {{"route", "/predict"}, {"le", "+Inf"}}), 1.0);
  EXPECT_EQ(PromValue(after, "mmserve_request_duration_seconds_bucket", {{"route", "/predict"}, {"le", "60"}}), 1.0);
  EXPECT_TRUE(PromValue(after, "mmserve_request_duration_seconds_bucket", {{"route", "/predict"}, {"le", "0.001"}}));
  // Per model version: its state, and one image and two texts inferred.
  const std::map<std::string, std::string> v1 = {{"model", "clip"}, {"version", "1"}};
  auto with = [&v1](const char* k, const char* v) {
    auto l = v1;
    l[k] = v;
    return l;
  };
  EXPECT_EQ(PromValue(after, "mmserve_model_state", with("state", "READY")), 1.0);
  EXPECT_EQ(PromValue(after, "mmserve_model_state", with("state", "UNAVAILABLE")), 0.0);
  EXPECT_GT(PromValue(after, "mmserve_model_load_seconds", v1).value_or(0), 0.0);
  EXPECT_EQ(PromValue(after, "mmserve_inference_items_total", v1), 3.0);
  EXPECT_EQ(PromValue(after, "mmserve_inference_requests_total", with("result", "success")), 1.0);
  EXPECT_GE(PromValue(after, "mmserve_batch_size_count", v1).value_or(0), 2.0);  // the image batch and the text batch
  EXPECT_GT(PromValue(after, "mmserve_inference_compute_seconds_sum", with("phase", "infer")).value_or(0), 0.0);
  // The embedding cache (on by default) missed all three, and holds them now.
  EXPECT_EQ(PromValue(after, "mmserve_cache_requests_total", {{"model", "clip"}, {"level", "memory"}, {"result", "miss"}}),
            3.0);
  EXPECT_EQ(PromValue(after, "mmserve_cache_entries", {{"level", "memory"}}), 3.0);
  EXPECT_GT(PromValue(after, "process_resident_memory_bytes").value_or(0), 1e6);
  EXPECT_GE(PromValue(after, "process_threads").value_or(0), 2.0);

  // An image over --max-image-bytes is refused as too large, and counted so.
  auto big = ClientFor(server.port()).Post("/predict", PredictForm(std::string(700000, 'x')));
  ASSERT_TRUE(big);
  EXPECT_EQ(big->status, 413);
  after = Scrape(server.port());
  EXPECT_EQ(PromValue(after, "mmserve_rejected_requests_total", {{"reason", "too_large"}}), 1.0);
  EXPECT_EQ(PromValue(after, "mmserve_requests_total", {{"route", "/predict"}, {"code", "413"}}), 1.0);

  // The log line of the request names the model version and its duration, and no log line
  // carries the texts.
  const std::string log = server.Log();
  EXPECT_EQ(log.find("7391"), std::string::npos) << log;
  bool found = false;
  std::istringstream lines(log);
  for (std::string line; std::getline(lines, line);) {
    const json j = json::parse(line);
    if (j.value("request_id", "") != "metrics-check-1") continue;
    found = true;
    EXPECT_EQ(j["level"], "info");
    EXPECT_EQ(j["route"], "/predict");
    EXPECT_EQ(j["status"], 200);
    EXPECT_EQ(j["model"], "clip");
    EXPECT_EQ(j["version"], 1);
    EXPECT_TRUE(j["duration_ms"].is_number());
  }
  EXPECT_TRUE(found) << log;
}

TEST(MetricsEndpoint, OpenWithoutCredentialsUnlessProtectHealth) {
  const std::string keys = "/tmp/mms_metrics_keys_" + std::to_string(::getpid());
  std::ofstream(keys) << "metrics-test-key-0123456789 alice\n";
  {
    ServerProcess server({"--threads", "1", "--api-keys-file", keys});
    auto c = ClientFor(server.port());
    EXPECT_EQ(c.Post("/predict", PredictForm(CoffeeImage()))->status, 401);
    const auto samples = Scrape(server.port());  // no key needed
    EXPECT_EQ(PromValue(samples, "mmserve_rejected_requests_total", {{"reason", "unauthenticated"}}), 1.0);
    EXPECT_EQ(PromValue(samples, "mmserve_requests_total", {{"route", "/predict"}, {"code", "401"}, {"model", ""}}), 1.0);
  }
  {
    ServerProcess server({"--threads", "1", "--api-keys-file", keys, "--protect-health"});
    auto c = ClientFor(server.port());
    EXPECT_EQ(c.Get("/metrics")->status, 401);
    auto res = c.Get("/metrics", {{"X-API-Key", "metrics-test-key-0123456789"}});
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 200);
  }
  fs::remove(keys);
}

// ---------------------------------------------------------------------------------------
// A real Prometheus server.

std::string FindOnPath(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::istringstream dirs(std::string(path ? path : "") + ":/usr/bin:/usr/local/bin");
  for (std::string dir; std::getline(dirs, dir, ':');) {
    if (dir.empty()) continue;
    const std::string candidate = dir + "/" + name;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return "";
}

// Prometheus in a temporary folder, scraping one target every second. The destructor
// stops it by its PID (SIGTERM, then SIGKILL) and removes the folder, whatever happened.
class PrometheusProcess {
 public:
  PrometheusProcess(const std::string& binary, int target_port) {
    dir_ = "/tmp/mms_prometheus_" + std::to_string(::getpid());
    fs::remove_all(dir_);
    fs::create_directories(dir_ + "/data");
    port_ = FreePort();
    std::ofstream(dir_ + "/prometheus.yml") << "global:\n"
                                               "  scrape_interval: 1s\n"
                                               "  scrape_timeout: 1s\n"
                                               "scrape_configs:\n"
                                               "  - job_name: mmserve\n"
                                               "    static_configs:\n"
                                               "      - targets: ['127.0.0.1:"
                                            << target_port << "']\n";
    std::vector<std::string> args = {binary,
                                     "--config.file=" + dir_ + "/prometheus.yml",
                                     "--storage.tsdb.path=" + dir_ + "/data",
                                     "--web.listen-address=127.0.0.1:" + std::to_string(port_),
                                     "--log.level=warn"};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    const std::string log = log_path();
    posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    const int rc = posix_spawn(&pid_, binary.c_str(), &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) pid_ = -1;
  }
  ~PrometheusProcess() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
      while (::waitpid(pid_, nullptr, WNOHANG) == 0) {
        if (std::chrono::steady_clock::now() > deadline) {
          ::kill(pid_, SIGKILL);
          ::waitpid(pid_, nullptr, 0);
          break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
    }
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  PrometheusProcess(const PrometheusProcess&) = delete;
  PrometheusProcess& operator=(const PrometheusProcess&) = delete;

  bool started() const { return pid_ > 0; }
  int port() const { return port_; }
  std::string log_path() const { return dir_ + "/prometheus.log"; }
  std::string Log() const { return ReadFileBytes(log_path()); }

 private:
  std::string dir_;
  int port_ = 0;
  pid_t pid_ = -1;
};

TEST(PrometheusScrape, ARequestShowsUpInPrometheusQueries) {
  const std::string binary = FindOnPath("prometheus");
  if (binary.empty()) {
    GTEST_SKIP() << "the prometheus server binary is not installed (Debian package `prometheus`; scripts/setup.sh "
                    "installs it), so this test cannot scrape mmserve with it";
  }
  ServerProcess server({"--threads", "1"});
  auto res = ClientFor(server.port()).Post("/predict", PredictForm(CoffeeImage()));
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;

  PrometheusProcess prometheus(binary, server.port());
  ASSERT_TRUE(prometheus.started()) << "cannot start " << binary;
  httplib::Client api("127.0.0.1", prometheus.port());
  api.set_connection_timeout(1, 0);
  api.set_read_timeout(5, 0);
  const httplib::Params query = {{"query", R"(mmserve_requests_total{job="mmserve",route="/predict",code="200"})"}};
  std::string last;
  bool seen = false;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (!seen && std::chrono::steady_clock::now() < deadline) {
    if (auto r = api.Get("/api/v1/query", query, httplib::Headers{}); r && r->status == 200) {
      last = r->body;
      const json body = json::parse(r->body);
      for (const auto& series : body["data"]["result"]) {
        // value: [timestamp, "1"]
        if (series["metric"].value("model", "") == "clip" && std::stod(series["value"][1].get<std::string>()) >= 1) {
          seen = true;
        }
      }
    }
    if (!seen) std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  std::string targets;
  if (!seen) {
    if (auto t = api.Get("/api/v1/targets")) targets = t->body;
  }
  EXPECT_TRUE(seen) << "Prometheus did not report the request within 60 s.\nlast query answer: " << last
                    << "\ntargets: " << targets << "\nprometheus log:\n"
                    << prometheus.Log();
}

}  // namespace
}  // namespace mms::testing
