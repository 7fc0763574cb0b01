// The embedding cache across replicas, black-box: two real servers share a real
// redis-server on loopback. A request answered once is answered again without running
// the encoders, on the same server (memory level) and on the other one (Redis), as the
// Triton statistics show; Redis killed under continuous load fails no request and is
// warned about once; restarted, both servers reconnect and share entries again.
#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>
#include <unistd.h>

#include "../prometheus_text.h"
#include "base/base64.h"
#include "base/file_util.h"
#include "process.h"
#include "runtime/redis_cache.h"
#include "redis_server.h"
#include "test_support.h"

namespace mms::testing {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

std::string Image(const std::string& name) {
  return ReadFileBytes(SourcePath("tests/data/clip-reference/images/" + name));
}

httplib::Result Predict(int port, const std::string& image, const std::vector<std::string>& texts) {
  httplib::Client c("127.0.0.1", port);
  c.set_read_timeout(60, 0);
  return c.Post("/predict", {{"image", image, "x.png", "image/png"}, {"texts", json(texts).dump(), "", ""}});
}

json PredictOk(int port, const std::string& image, const std::vector<std::string>& texts) {
  auto res = Predict(port, image, texts);
  EXPECT_TRUE(res) << "no answer";
  if (!res) return json();
  EXPECT_EQ(res->status, 200) << res->body;
  return json::parse(res->body);
}

// The demo model's Triton statistics ($model_stat of its only version).
json Stats(int port) {
  httplib::Client c("127.0.0.1", port);
  auto res = c.Get("/v2/models/clip/stats");
  EXPECT_TRUE(res && res->status == 200);
  if (!res || res->status != 200) return json();
  return json::parse(res->body)["model_stats"][0];
}

uint64_t Executions(int port) { return Stats(port)["execution_count"].get<uint64_t>(); }

int Count(const std::string& text, const std::string& part) {
  int n = 0;
  for (size_t at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) ++n;
  return n;
}

bool WaitFor(const std::function<bool()>& condition, std::chrono::seconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return condition();
}

std::vector<std::string> Labels() { return ClipGolden()["labels"].get<std::vector<std::string>>(); }

constexpr char kUnavailable[] = "\"message\":\"redis cache unavailable";
constexpr char kReconnected[] = "\"message\":\"redis cache reconnected\"";

// A file holding `text`, removed when the object goes.
class TempFile {
 public:
  explicit TempFile(const std::string& text) {
    static int n = 0;
    path_ = ::testing::TempDir() + "/mms_redis_it_" + std::to_string(::getpid()) + "_" + std::to_string(n++);
    std::FILE* f = std::fopen(path_.c_str(), "w");
    std::fputs(text.c_str(), f);
    std::fclose(f);
  }
  ~TempFile() { std::remove(path_.c_str()); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

class RedisCacheIntegrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (RedisServer::Binary().empty()) {
      GTEST_SKIP() << "redis-server is not installed (scripts/setup.sh installs it): the Redis cache tests need it";
    }
    redis_.Start();
  }
  // The replicas share the HMAC secret of their Redis entries, as a deployment's do.
  std::vector<std::string> ReplicaArgs() const {
    return {"--threads", "1", "--redis-url", redis_.Url(), "--redis-timeout-ms", "50", "--cache-ttl-secs", "600",
            "--cache-hmac-secret-file", secret_.path()};
  }

  RedisServer redis_;  // declared first: the servers go before it
  TempFile secret_{"integration-test-cache-secret-0123456789abcdef\n"};
};

// A vision-language model's image features go through the same levels: the second
// replica asked about an image the first one encoded answers from Redis, encoding nothing,
// with the same answer.
TEST_F(RedisCacheIntegrationTest, ImageFeaturesOfAVisionModelAreSharedAcrossReplicas) {
  namespace fs = std::filesystem;
  const fs::path root = fs::temp_directory_path() / ("mms-redis-llava-" + std::to_string(getpid()));
  fs::remove_all(root);
  fs::create_directories(root / "llava" / "1");
  for (const auto& entry : fs::directory_iterator(SourcePath("tests/data/llava-reference/model"))) {
    fs::create_symlink(entry.path(), root / "llava" / "1" / entry.path().filename());
  }
  const std::string png = ReadFileBytes(SourcePath("tests/data/llava-reference/golden/image.png"));
  const json chat = {{"model", "llava"},
                     {"max_tokens", 6},
                     {"temperature", 0},
                     {"messages", {{{"role", "user"},
                                    {"content", {{{"type", "image_url"},
                                                  {"image_url", {{"url", "data:image/png;base64," + Base64Encode(png)}}}},
                                                 {{"type", "text"}, {"text", "What is in this image?"}}}}}}}};
  const auto ask = [&](int port) {
    httplib::Client c("127.0.0.1", port);
    c.set_read_timeout(120, 0);
    auto res = c.Post("/v1/chat/completions", chat.dump(), "application/json");
    EXPECT_TRUE(res && res->status == 200) << (res ? res->body : "no response");
    return res ? json::parse(res->body)["choices"][0]["message"]["content"] : json();
  };
  const auto features = [](int port, const std::string& source) {
    httplib::Client c("127.0.0.1", port);
    auto res = c.Get("/metrics");
    EXPECT_TRUE(res && res->status == 200);
    return PromValue(ParsePromSamples(res ? res->body : ""), "mmserve_image_features_total",
                     {{"model", "llava"}, {"source", source}})
        .value_or(-1);
  };
  {
    ServerProcess a(ReplicaArgs(), root.string()), b(ReplicaArgs(), root.string());
    const json first = ask(a.port());
    EXPECT_EQ(features(a.port(), "encoded"), 1);
    EXPECT_EQ(ask(b.port()), first);
    EXPECT_EQ(features(b.port(), "encoded"), 0) << "the second replica encoded the image again";
    EXPECT_EQ(features(b.port(), "cache"), 1);
  }
  fs::remove_all(root);
}

TEST_F(RedisCacheIntegrationTest, IdenticalRequestsRunNoEncoderOnEitherReplica) {
  ServerProcess a(ReplicaArgs()), b(ReplicaArgs());
  EXPECT_NE(a.Log().find("\"message\":\"redis cache connected\""), std::string::npos) << a.Log();
  const std::string image = Image("astronaut.png");

  const json first = PredictOk(a.port(), image, Labels());
  const json a_before = Stats(a.port());
  EXPECT_GT(a_before["execution_count"].get<uint64_t>(), 0u);

  // The same /predict again on A: from its memory level.
  EXPECT_EQ(PredictOk(a.port(), image, Labels()), first);
  const json a_after = Stats(a.port());
  EXPECT_EQ(a_after["execution_count"], a_before["execution_count"]);
  EXPECT_EQ(a_after["inference_count"], a_before["inference_count"]);
  EXPECT_EQ(a_after["inference_stats"]["cache_hit"]["count"].get<uint64_t>(),
            a_before["inference_stats"]["cache_hit"]["count"].get<uint64_t>() + 1);

  // On B, which never saw it: from Redis, what A stored.
  const json b_before = Stats(b.port());
  EXPECT_EQ(PredictOk(b.port(), image, Labels()), first);
  const json b_after = Stats(b.port());
  EXPECT_EQ(b_after["execution_count"], b_before["execution_count"]);
  EXPECT_EQ(b_after["inference_count"], b_before["inference_count"]);
  EXPECT_EQ(b_after["inference_stats"]["cache_hit"]["count"], 1);
  EXPECT_EQ(b_after["inference_stats"]["success"]["count"], 1);

  // The entries are in Redis under the documented prefix.
  EXPECT_EQ(redis_.Command("DBSIZE\r\n"), ":" + std::to_string(1 + Labels().size()) + "\r\n");
  const std::string keys = redis_.Command("KEYS mms:emb:*\r\n");
  EXPECT_EQ(Count(keys, "mms:emb:"), static_cast<int>(1 + Labels().size())) << keys;

  // Labels seen before, a new image: only the image is computed.
  const uint64_t before = Executions(b.port());
  PredictOk(b.port(), Image("coffee.png"), Labels());
  EXPECT_EQ(Executions(b.port()), before + 1);
}

// Clients sending /predict to both replicas without pause, until stopped; every answer
// must be a 200. Each request carries a text never sent before, so each computes and
// writes to the cache, and Redis is in use all along.
class ContinuousPredicts {
 public:
  ContinuousPredicts(std::vector<int> ports, int clients) {
    const std::vector<std::string> images = {Image("coffee.png"), Image("camera.png")};
    for (int c = 0; c < clients; ++c) {
      threads_.emplace_back([this, ports, images, c] {
        for (int n = 0; !stop_; ++n) {
          const int port = ports[(c + n) % ports.size()];
          const std::vector<std::string> texts = {"a cup of coffee",
                                                  "client " + std::to_string(c) + " request " + std::to_string(n)};
          auto res = Predict(port, images[n % images.size()], texts);
          if (res && res->status == 200) {
            ++ok_;
          } else {
            ++failed_;
            std::lock_guard<std::mutex> lock(mutex_);
            failures_.push_back(res ? std::to_string(res->status) + " " + res->body : httplib::to_string(res.error()));
          }
        }
      });
    }
  }
  ~ContinuousPredicts() { Stop(); }
  void Stop() {
    stop_ = true;
    for (auto& t : threads_) {
      if (t.joinable()) t.join();
    }
  }
  int ok() const { return ok_; }
  int failed() const { return failed_; }
  std::string Failures() {
    std::lock_guard<std::mutex> lock(mutex_);
    std::string all;
    for (const auto& f : failures_) all += f + "\n";
    return all;
  }

 private:
  std::atomic<bool> stop_{false};
  std::atomic<int> ok_{0}, failed_{0};
  std::mutex mutex_;
  std::vector<std::string> failures_;
  std::vector<std::thread> threads_;
};

TEST_F(RedisCacheIntegrationTest, RedisKilledUnderLoadFailsNoRequestAndIsRejoined) {
  ServerProcess a(ReplicaArgs()), b(ReplicaArgs());
  ContinuousPredicts load({a.port(), b.port()}, 4);
  const auto more_answers = [&load](int n) {
    const int from = load.ok();
    return WaitFor([&] { return load.ok() >= from + n; }, std::chrono::seconds(30));
  };
  ASSERT_TRUE(more_answers(20)) << load.Failures();
  EXPECT_GT(std::stoi(redis_.Command("DBSIZE\r\n").substr(1)), 0);

  // Redis dies mid-load: requests go on from the memory level and the model.
  redis_.Kill();
  EXPECT_TRUE(more_answers(40)) << load.Failures();
  EXPECT_TRUE(WaitFor([&] { return Count(a.Log(), kUnavailable) >= 1 && Count(b.Log(), kUnavailable) >= 1; },
                      std::chrono::seconds(10)));
  std::this_thread::sleep_for(std::chrono::seconds(2));  // a few retry intervals, all failing
  EXPECT_TRUE(more_answers(20)) << load.Failures();

  // Back on the same port (empty: no persistence): both replicas reconnect on their own.
  redis_.Start();
  EXPECT_TRUE(WaitFor([&] { return Count(a.Log(), kReconnected) == 1 && Count(b.Log(), kReconnected) == 1; },
                      std::chrono::seconds(15)))
      << a.Log() << b.Log();
  EXPECT_TRUE(more_answers(20)) << load.Failures();
  load.Stop();
  EXPECT_EQ(load.failed(), 0) << load.Failures();
  ::testing::Test::RecordProperty("answered_requests", load.ok());

  // One warning per server for the whole outage (shorter than the 10 s warning interval).
  EXPECT_EQ(Count(a.Log(), kUnavailable), 1) << a.Log();
  EXPECT_EQ(Count(b.Log(), kUnavailable), 1) << b.Log();

  // Shared again: what A computes now (an image and a text neither has seen), B reads
  // from Redis without running its encoders.
  const std::string image = Image("chelsea.png");
  const std::vector<std::string> texts = {"written by replica A after the restart"};
  const json from_a = PredictOk(a.port(), image, texts);
  const uint64_t b_before = Executions(b.port());
  EXPECT_EQ(PredictOk(b.port(), image, texts), from_a);
  EXPECT_EQ(Executions(b.port()), b_before);
}

// The keys of Redis's reply to KEYS mms:emb:*.
std::vector<std::string> CacheKeys(const RedisServer& redis) {
  std::vector<std::string> keys;
  std::istringstream reply(redis.Command("KEYS mms:emb:*\r\n"));
  for (std::string line; std::getline(reply, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.rfind("mms:emb:", 0) == 0) keys.push_back(line);
  }
  return keys;
}

// Whoever reaches Redis overwrites every entry with a well-formed value of its own: a
// replica that has not seen the request computes it again rather than serve the plant.
TEST_F(RedisCacheIntegrationTest, EntriesPlantedInRedisAreNotServed) {
  const std::string image = Image("astronaut.png");
  json first;
  {
    ServerProcess a(ReplicaArgs());
    first = PredictOk(a.port(), image, Labels());
  }
  const std::vector<std::string> keys = CacheKeys(redis_);
  ASSERT_EQ(keys.size(), 1 + Labels().size());
  for (const auto& key : keys) {
    const std::vector<float> forged(32, 0.25f);  // the demo model's 32-dimensional embeddings
    const std::string value = runtime::EncodeRedisValue(forged);
    const std::string set = "*3\r\n$3\r\nSET\r\n$" + std::to_string(key.size()) + "\r\n" + key + "\r\n$" +
                            std::to_string(value.size()) + "\r\n" + value + "\r\n";
    ASSERT_EQ(redis_.Command(set), "+OK\r\n");
  }
  ServerProcess b(ReplicaArgs());
  EXPECT_EQ(PredictOk(b.port(), image, Labels()), first);  // computed, not the plant
  EXPECT_GT(Executions(b.port()), 0u);
  EXPECT_EQ(Count(b.Log(), "failed its HMAC check"), 1) << b.Log();
  httplib::Client c("127.0.0.1", b.port());
  auto metrics = c.Get("/metrics");
  ASSERT_TRUE(metrics && metrics->status == 200);
  const std::string counter = "mmserve_cache_rejected_total{level=\"redis\"} " + std::to_string(keys.size());
  EXPECT_NE(metrics->body.find(counter), std::string::npos) << metrics->body;
}

// requirepass on the Redis: the password in the URL works; a wrong one is a down cache
// (requests still answered) whose warning names AUTH and never the password.
TEST(RedisAuthIntegrationTest, PasswordInTheUrlAndAWrongOne) {
  if (RedisServer::Binary().empty()) GTEST_SKIP() << "redis-server is not installed (scripts/setup.sh installs it)";
  RedisServer redis(RedisServer::Auth{"right-password-7a41", "", ""});
  redis.Start();
  const std::string where = "127.0.0.1:" + std::to_string(redis.port()) + "/0";
  {
    ServerProcess good({"--threads", "1", "--redis-url", "redis://:right-password-7a41@" + where});
    EXPECT_NE(good.Log().find("\"message\":\"redis cache connected\""), std::string::npos) << good.Log();
    PredictOk(good.port(), Image("coffee.png"), Labels());
    EXPECT_GT(CacheKeys(redis).size(), 0u);
    EXPECT_EQ(good.Log().find("right-password"), std::string::npos) << good.Log();
  }
  ServerProcess wrong({"--threads", "1", "--redis-url", "redis://:wrong-password-5c0d@" + where});
  PredictOk(wrong.port(), Image("camera.png"), Labels());
  EXPECT_EQ(Count(wrong.Log(), kUnavailable), 1) << wrong.Log();
  EXPECT_NE(wrong.Log().find("AUTH"), std::string::npos) << wrong.Log();
  EXPECT_NE(wrong.Log().find("redis://:***@"), std::string::npos) << wrong.Log();
  EXPECT_EQ(wrong.Log().find("wrong-password"), std::string::npos) << wrong.Log();
}

TEST(RedisCacheFlagsTest, SecretsAreNeverEchoedAndPlaceholdersRefused) {
  const std::string repo = SourcePath("model_repository");
  auto run = [&](std::vector<std::string> flags) {
    std::vector<std::string> args = {"serve", "--model-repository", repo, "--port", "0"};
    args.insert(args.end(), flags.begin(), flags.end());
    return RunMmserve(args);
  };
  for (const char* url : {"redis://app:hunter2", "rediss://app:hunter2@cache:6380/0", "redis://:hunter2@"}) {
    const CommandResult r = run({"--redis-url", url});
    EXPECT_NE(r.exit_code, 0) << url;
    EXPECT_NE(r.err.find("--redis-url"), std::string::npos) << r.err;
    EXPECT_EQ(r.err.find("hunter2"), std::string::npos) << r.err;
  }
  const TempFile placeholder("REPLACE-ME-placeholder-cache-hmac-secret-at-least-32-bytes\n");
  CommandResult r = run({"--redis-url", "redis://127.0.0.1:1/0", "--cache-hmac-secret-file", placeholder.path()});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find(placeholder.path()), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("REPLACE-ME"), std::string::npos) << r.err;
  // The same file through the environment, as deploy/k8s/configmap.yaml gives it.
  ::setenv("MMSERVE_CACHE_HMAC_SECRET_FILE", placeholder.path().c_str(), 1);
  r = run({"--redis-url", "redis://127.0.0.1:1/0"});
  ::unsetenv("MMSERVE_CACHE_HMAC_SECRET_FILE");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("--cache-hmac-secret-file"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("REPLACE-ME"), std::string::npos) << r.err;
  const TempFile short_secret("only-20-bytes-secret\n");
  r = run({"--redis-url", "redis://127.0.0.1:1/0", "--cache-hmac-secret-file", short_secret.path()});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("at least 32"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("only-20"), std::string::npos) << r.err;
}

TEST(RedisCacheFlagsTest, BadCacheFlagsAreRefusedAtStart) {
  const std::string repo = SourcePath("model_repository");
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"--redis-url", "http://127.0.0.1:6379/0"}, "--redis-url"},
      {{"--redis-url", "redis://127.0.0.1:99999/0"}, "port"},
      {{"--cache-bytes", "lots"}, "--cache-bytes"},
      {{"--cache-ttl-secs", "-1"}, "--cache-ttl-secs"},
      {{"--redis-timeout-ms", "0"}, "--redis-timeout-ms"}};
  for (const auto& [flags, part] : cases) {
    std::vector<std::string> args = {"serve", "--model-repository", repo, "--port", "0"};
    args.insert(args.end(), flags.begin(), flags.end());
    const CommandResult r = RunMmserve(args);
    EXPECT_NE(r.exit_code, 0) << flags[0];
    EXPECT_NE(r.err.find(part), std::string::npos) << r.err;
  }
}

TEST(RedisCacheFlagsTest, ServesWhenRedisIsDownAtStart) {
  // Nothing listens on this port: the server starts, warns, and answers from the model.
  ServerProcess server({"--threads", "1", "--redis-url", "redis://127.0.0.1:" + std::to_string(FreePort()) + "/0"});
  EXPECT_EQ(Count(server.Log(), kUnavailable), 1) << server.Log();
  PredictOk(server.port(), Image("coffee.png"), Labels());
  PredictOk(server.port(), Image("coffee.png"), Labels());
  EXPECT_EQ(Stats(server.port())["inference_stats"]["cache_hit"]["count"], 1);  // the memory level still works
}

}  // namespace
}  // namespace mms::testing
