// SIGTERM while requests are queued: the server stops accepting, answers every request
// it had accepted, and exits 0.
#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <signal.h>
#include <thread>

#include "base/file_util.h"
#include "process.h"
#include "prometheus_text.h"
#include "test_support.h"

namespace mms::testing {
namespace {

TEST(ShutdownTest, SigtermFinishesAcceptedRequests) {
  // A long batching delay keeps requests waiting in the queue when the signal arrives.
  ServerProcess server({"--threads", "1", "--max-queue-delay-us", "2000000", "--max-batch-size", "64",
                        "--cache-bytes", "0"});
  const std::string image = ReadFileBytes(SourcePath("tests/data/clip-reference/images/coffee.png"));
  constexpr int kClients = 12;
  std::atomic<int> ok{0}, answered{0}, sending{0};
  std::vector<std::thread> clients;
  for (int i = 0; i < kClients; ++i) {
    clients.emplace_back([&, i] {
      httplib::Client c("127.0.0.1", server.port());
      c.set_read_timeout(60, 0);
      httplib::MultipartFormDataItems items = {{"image", image, "a.png", "image/png"},
                                               {"texts", R"(["a cup of coffee", "text )" + std::to_string(i) + R"("])", "", ""}};
      ++sending;
      auto res = c.Post("/predict", items);
      if (res) {
        ++answered;
        if (res->status == 200) ++ok;
      } else {
        ADD_FAILURE() << "client " << i << " got no answer: " << httplib::to_string(res.error());
      }
    });
  }
  // Signal only once the server has taken in all of them (the 2 s batching delay keeps
  // them queued): its in-flight gauge counts them, plus the /metrics request asking. A
  // fixed sleep was not enough on a loaded CI machine, where a client could still be
  // connecting.
  httplib::Client probe("127.0.0.1", server.port());
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  double inflight = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    if (auto res = probe.Get("/metrics")) {
      inflight = PromValue(ParsePromSamples(res->body), "mmserve_inflight_requests").value_or(0);
      if (inflight >= kClients + 1) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_GE(inflight, kClients + 1) << "not every client reached the server";
  EXPECT_EQ(server.SignalAndWait(SIGTERM), 0);
  for (auto& t : clients) t.join();
  EXPECT_EQ(answered, kClients);
  EXPECT_EQ(ok, kClients);
  // After the exit nothing listens any more.
  httplib::Client c("127.0.0.1", server.port());
  EXPECT_FALSE(c.Get("/health"));
}

TEST(ShutdownTest, ExitTimeoutBoundsTheDrain) {
  // The queue delay is far longer than the exit timeout: the server must not wait for it.
  ServerProcess server({"--threads", "1", "--max-queue-delay-us", "30000000", "--max-batch-size", "64",
                        "--exit-timeout-secs", "1"});
  std::thread client([&] {
    httplib::Client c("127.0.0.1", server.port());
    c.set_read_timeout(60, 0);
    httplib::MultipartFormDataItems items = {
        {"image", ReadFileBytes(SourcePath("tests/data/clip-reference/images/coffee.png")), "a.png", "image/png"},
        {"texts", R"(["a"])", "", ""}};
    c.Post("/predict", items);
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(150));
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(server.SignalAndWait(SIGTERM, 15000), 0);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
  client.join();
}

}  // namespace
}  // namespace mms::testing
