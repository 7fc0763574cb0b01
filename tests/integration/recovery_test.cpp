// Circuit breaker and health-check recovery on the real server. A fault file, which only
// the test build of the server (mmserve-testing) reads, breaks the loaded instance (as memory corruption would: it stays broken once hit):
// requests fail, the breaker opens (fast 503s, readiness false, index says why), the
// health checker's probes keep failing and reload the model from the repository, and the
// fresh instance serves again.
#include <gtest/gtest.h>
#include <httplib.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "process.h"
#include "test_support.h"

namespace mms::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// A new text each time, so that no embedding cache can answer without running the model.
int Embed(httplib::Client& c) {
  static int counter = 0;
  const std::string body = R"({"model":"clip","input":"a photo of cat number )" + std::to_string(++counter) + R"("})";
  auto res = c.Post("/v1/embeddings", body, "application/json");
  return res ? res->status : -1;
}

template <typename Condition>
bool WaitFor(Condition condition, std::chrono::seconds deadline = std::chrono::seconds(60)) {
  const auto end = std::chrono::steady_clock::now() + deadline;
  while (std::chrono::steady_clock::now() < end) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return false;
}

TEST(RecoveryTest, BreakerOpensAndHealthCheckReloadsTheModel) {
  const fs::path fault = fs::temp_directory_path() / ("mms_fault_" + std::to_string(::getpid()));
  fs::remove(fault);
  // No embedding cache: the repeated request must reach the broken model, not its cached answer.
  ServerProcess server({"--threads", "1", "--circuit-breaker-failures", "3", "--circuit-breaker-cooldown-secs", "30",
                        "--health-check-secs", "0.5", "--health-check-failures", "2", "--fault-injection-file",
                        fault.string(), "--cache-bytes", "0"},
                       "", ServerBinary::kTesting);
  httplib::Client c("127.0.0.1", server.port());
  ASSERT_EQ(Embed(c), 200);

  std::ofstream(fault) << "clip\n";
  // Executions fail (500) until the breaker opens after 3 in a row; then 503 at once.
  int failures = 0;
  ASSERT_TRUE(WaitFor([&] {
    const int status = Embed(c);
    failures += status == 500;
    return status == 503;
  }));
  EXPECT_GE(failures, 1);
  auto res = c.Post("/v1/embeddings", R"({"model":"clip","input":"x"})", "application/json");
  EXPECT_EQ(res->status, 503);
  EXPECT_NE(res->body.find("circuit breaker"), std::string::npos) << res->body;
  EXPECT_EQ(c.Get("/v2/models/clip/ready")->status, 400);
  EXPECT_EQ(c.Get("/v2/health/ready")->status, 400);
  auto index = json::parse(c.Post("/v2/repository/index", "", "application/json")->body);
  ASSERT_FALSE(index.empty());
  EXPECT_EQ(index[0]["state"], "UNAVAILABLE");
  EXPECT_NE(index[0]["reason"].get<std::string>().find("circuit breaker"), std::string::npos);

  // The fault is gone from the disk, but the loaded instance stays broken: only a reload
  // by the health checker (its probes keep failing) brings the model back.
  fs::remove(fault);
  ASSERT_TRUE(WaitFor([&] { return c.Get("/v2/models/clip/ready")->status == 200; })) << server.Log();
  EXPECT_EQ(Embed(c), 200);
  EXPECT_EQ(c.Get("/v2/health/ready")->status, 200);
  const std::string log = server.Log();
  EXPECT_NE(log.find("\"to\":\"open\""), std::string::npos);
  EXPECT_NE(log.find("reloading the model after repeated health check failures"), std::string::npos);
  EXPECT_NE(log.find("\"message\":\"model loaded\""), std::string::npos);
}

// Fault injection exists only in the test build: the production server has no such flag,
// and ignores the environment variable that would set it.
TEST(RecoveryTest, ProductionServerRefusesTheFaultInjectionFlag) {
  // The bad port makes a server that took the flag exit at once instead of serving.
  const CommandResult r = RunMmserve({"serve", "--model-repository", SourcePath("model_repository"),
                                      "--fault-injection-file", "/tmp/mms_fault_never_read", "--port", "-1"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("unknown option --fault-injection-file"), std::string::npos) << r.err;
}

TEST(RecoveryTest, ProductionServerIgnoresTheFaultInjectionEnvironment) {
  const fs::path fault = fs::temp_directory_path() / ("mms_fault_env_" + std::to_string(::getpid()));
  std::ofstream(fault) << "clip\n";
  ::setenv("MMSERVE_FAULT_INJECTION_FILE", fault.string().c_str(), 1);
  ServerProcess server({"--threads", "1", "--cache-bytes", "0", "--circuit-breaker-failures", "1"});
  ::unsetenv("MMSERVE_FAULT_INJECTION_FILE");
  httplib::Client c("127.0.0.1", server.port());
  for (int i = 0; i < 3; ++i) EXPECT_EQ(Embed(c), 200) << server.Log();
  fs::remove(fault);
}

// The fault file names models by whole lines: "clip" is not broken by a fault meant for
// another model whose name contains it, nor by a prefix of its name.
TEST(RecoveryTest, FaultFileMatchesTheModelNameExactly) {
  const fs::path fault = fs::temp_directory_path() / ("mms_fault_exact_" + std::to_string(::getpid()));
  std::ofstream(fault) << "clip-large\ncli\n";
  ServerProcess server({"--threads", "1", "--cache-bytes", "0", "--circuit-breaker-failures", "0",
                        "--fault-injection-file", fault.string()},
                       "", ServerBinary::kTesting);
  httplib::Client c("127.0.0.1", server.port());
  for (int i = 0; i < 3; ++i) EXPECT_EQ(Embed(c), 200);
  std::ofstream(fault, std::ios::app) << "clip\n";
  EXPECT_EQ(Embed(c), 500);
  fs::remove(fault);
}

// --memory-budget-mb reaches the models: one too small for a single item leaves the model
// unavailable with the reason in the repository index; a bad value is refused at start.
TEST(RecoveryTest, MemoryBudgetFlag) {
  const CommandResult bad = RunMmserve({"serve", "--model-repository", SourcePath("model_repository"),
                                        "--memory-budget-mb", "-1"});
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_NE(bad.err.find("--memory-budget-mb must be between 0 (none) and 1e9"), std::string::npos) << bad.err;

  ServerProcess server({"--threads", "1", "--memory-budget-mb", "1"});
  httplib::Client c("127.0.0.1", server.port());
  EXPECT_EQ(c.Get("/v2/models/clip/ready")->status, 400);
  auto index = json::parse(c.Post("/v2/repository/index", "{}", "application/json")->body);
  ASSERT_TRUE(index.is_array() && !index.empty()) << index.dump();
  EXPECT_NE(index[0]["reason"].get<std::string>().find("memory budget 1.0 MB does not hold the weights"),
            std::string::npos)
      << index.dump();
}

TEST(RecoveryTest, HealthyModelIsNeverReloaded) {
  ServerProcess server({"--threads", "1", "--health-check-secs", "0.2"});
  httplib::Client c("127.0.0.1", server.port());
  std::this_thread::sleep_for(std::chrono::seconds(2));
  EXPECT_EQ(Embed(c), 200);
  EXPECT_EQ(server.Log().find("health check failed"), std::string::npos);
  EXPECT_EQ(server.Log().find("reloading"), std::string::npos);
}

}  // namespace
}  // namespace mms::testing
