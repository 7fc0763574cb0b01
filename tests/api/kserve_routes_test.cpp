// The HTTP answers of the KServe routes that need no loaded model, through the real
// HttpServer on a repository whose only model has no version (so it is never ready):
// readiness as KServe defines it (200 = yes, 4xx = no), bodies of requests that carry no
// Content-Length, and Triton's {"error":...} shape for paths no route serves.
#include "api/http_server.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <thread>

#include "runtime/model_repository.h"

namespace mms::api {
namespace {

using nlohmann::json;

int UnusedPort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

// Sends `request` as it is on a new connection and returns everything the server sends
// back before it closes the connection or `timeout` passes.
std::string RawExchange(int port, const std::string& request, std::chrono::seconds timeout) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  timeval tv{static_cast<time_t>(timeout.count()), 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  std::string reply;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      ::send(fd, request.data(), request.size(), 0) == static_cast<ssize_t>(request.size())) {
    char buf[4096];
    for (ssize_t n; (n = ::recv(fd, buf, sizeof(buf), 0)) > 0;) reply.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return reply;
}

class KServeRoutesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = "/tmp/mms_kserve_routes_" + std::to_string(::getpid());
    std::filesystem::remove_all(root_);
    std::filesystem::create_directories(root_ + "/no_versions");
    runtime::RepositoryOptions options;
    options.root = root_;
    repository_ = std::make_unique<runtime::ModelRepository>(options, logger_);
    repository_->Start();
    ServerOptions server_options;
    server_options.host = "127.0.0.1";
    server_options.port = UnusedPort();
    port_ = server_options.port;
    server_ = std::make_unique<HttpServer>(server_options, *repository_, logger_, metrics_);
    thread_ = std::thread([this] { server_->Run(); });
    httplib::Client client("127.0.0.1", port_);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (!client.Get("/v2/health/live") && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  void TearDown() override {
    server_->Stop();
    thread_.join();
    server_.reset();
    repository_.reset();
    std::filesystem::remove_all(root_);
  }

  httplib::Client Client() const {
    httplib::Client c("127.0.0.1", port_);
    c.set_read_timeout(30, 0);
    return c;
  }

  Logger logger_{LogLevel::kError};
  runtime::Metrics metrics_;
  std::string root_;
  int port_ = 0;
  std::unique_ptr<runtime::ModelRepository> repository_;
  std::unique_ptr<HttpServer> server_;
  std::thread thread_;
};

TEST_F(KServeRoutesTest, NotReadyIsA400AsKServeAndTritonAnswer) {
  auto live = Client().Get("/v2/health/live");
  ASSERT_TRUE(live);
  EXPECT_EQ(live->status, 200);

  auto ready = Client().Get("/v2/health/ready");
  ASSERT_TRUE(ready);
  EXPECT_EQ(ready->status, 400);
  EXPECT_EQ(ready->body, "");  // KServe: "the HTTP response body should be empty"

  auto model = Client().Get("/v2/models/no_versions/ready");
  ASSERT_TRUE(model);
  EXPECT_EQ(model->status, 400);
  EXPECT_EQ(json::parse(model->body), json({{"error", "model 'no_versions' is not ready"}}));

  auto unknown = Client().Get("/v2/models/nope/ready");
  ASSERT_TRUE(unknown);
  EXPECT_EQ(unknown->status, 404);
  EXPECT_NE(json::parse(unknown->body)["error"].get<std::string>().find("nope"), std::string::npos);
}

TEST_F(KServeRoutesTest, PostWithoutContentLengthHasAnEmptyBody) {
  // What `curl -X POST URL` sends: no Content-Length, no body. Without the fix the server
  // waited for a body until its 30 s read timeout and then answered 400.
  const auto start = std::chrono::steady_clock::now();
  const std::string request = "POST /v2/repository/index HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
  const std::string reply = RawExchange(port_, request, std::chrono::seconds(20));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
  ASSERT_EQ(reply.rfind("HTTP/1.1 200", 0), 0u) << reply;
  const json index = json::parse(reply.substr(reply.find("\r\n\r\n") + 4));
  ASSERT_EQ(index.size(), 1u);
  EXPECT_EQ(index[0]["name"], "no_versions");
  EXPECT_EQ(index[0]["state"], "UNAVAILABLE");
}

TEST_F(KServeRoutesTest, PathsWithoutARouteAnswerInTheirApisErrorShape) {
  auto v2 = Client().Get("/v2/models/x/versions/1/nothing");
  ASSERT_TRUE(v2);
  EXPECT_EQ(v2->status, 404);
  EXPECT_EQ(json::parse(v2->body), json({{"error", "no route for GET /v2/models/x/versions/1/nothing"}}));

  auto v1 = Client().Get("/v1/nothing");
  ASSERT_TRUE(v1);
  EXPECT_EQ(v1->status, 404);
  EXPECT_EQ(json::parse(v1->body)["error"]["type"], "not_found_error");

  auto other = Client().Get("/nothing");
  ASSERT_TRUE(other);
  EXPECT_EQ(other->status, 404);
  EXPECT_EQ(json::parse(other->body)["status"], "error");
}

}  // namespace
}  // namespace mms::api
