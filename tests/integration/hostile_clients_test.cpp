// Issue 9's attacks, each against the real server: one request or a few sockets used to
// crash it, grow it by hundreds of megabytes or stop its health routes. Each test sends
// the attack, checks the answer (and, where memory was the problem, the server's RSS), and
// then that the server still answers its liveness probe.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "base/base64.h"
#include "base/file_util.h"
#include "process.h"
#include "temp_repository.h"
#include "test_support.h"

namespace mms::testing {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

// --- raw sockets: the attacks need control httplib's client does not give ---

int Connect(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    if (fd >= 0) ::close(fd);
    return -1;
  }
  return fd;
}

bool SendAll(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n <= 0) return false;
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

bool Readable(int fd, int timeout_ms) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, timeout_ms) == 1;
}

// What the server sent until it closed the connection or `timeout_ms` passed.
std::string ReadAll(int fd, int timeout_ms) {
  std::string out;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  char buf[65536];
  while (std::chrono::steady_clock::now() < deadline) {
    const int left = static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                          deadline - std::chrono::steady_clock::now()).count());
    if (!Readable(fd, std::max(left, 1))) break;
    const ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

// Whether the server has closed this connection (EOF or reset) within `timeout_ms`.
bool ClosedByServer(int fd, int timeout_ms) {
  if (!Readable(fd, timeout_ms)) return false;
  char c;
  return ::recv(fd, &c, 1, MSG_DONTWAIT) <= 0;
}

int StatusOf(const std::string& response) {
  if (response.rfind("HTTP/1.1 ", 0) != 0 || response.size() < 12) return -1;
  return std::stoi(response.substr(9, 3));
}

long RssKb(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  }
  return -1;
}

void ExpectLive(int port) {
  httplib::Client client("127.0.0.1", port);
  client.set_connection_timeout(2, 0);
  client.set_read_timeout(2, 0);
  const auto res = client.Get("/v2/health/live");
  ASSERT_TRUE(res) << "the server does not answer its liveness probe";
  EXPECT_EQ(res->status, 200);
}

httplib::Result PostJson(int port, const std::string& path, const std::string& body,
                         const httplib::Headers& headers = {}) {
  httplib::Client client("127.0.0.1", port);
  client.set_read_timeout(30, 0);
  return client.Post(path.c_str(), headers, body, "application/json");
}

std::string WriteTemp(const std::string& name, const std::string& text) {
  const fs::path path = fs::temp_directory_path() / ("mms_hostile_" + std::to_string(::getpid()) + "_" + name);
  std::ofstream(path) << text;
  return path.string();
}

// A GIF of one pixel: the smallest image a client can send many of.
std::string OnePixelGif() {
  static const unsigned char kGif[] = {
      'G', 'I', 'F', '8', '9', 'a', 1, 0, 1, 0, 0x80, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, ',', 0, 0, 0, 0, 1, 0, 1, 0,
      0, 2, 2, 'D', 1, 0, ';'};
  return std::string(reinterpret_cast<const char*>(kGif), sizeof(kGif));
}

// Holds the test process's own descriptor limit high enough for many sockets.
void RaiseOwnFileLimit() {
  rlimit limit{};
  getrlimit(RLIMIT_NOFILE, &limit);
  limit.rlim_cur = limit.rlim_max;
  setrlimit(RLIMIT_NOFILE, &limit);
}

// ---------------------------------------------------------------------------------------

class HostileClientsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    server_ = new ServerProcess({"--threads", "1", "--header-timeout-secs", "1", "--body-timeout-secs", "2"});
  }
  static void TearDownTestSuite() { delete server_; }
  int port() const { return server_->port(); }
  static ServerProcess* server_;
};
ServerProcess* HostileClientsTest::server_ = nullptr;

TEST_F(HostileClientsTest, DeeplyNestedJsonIsRefusedWithoutEchoingIt) {
  const std::string deep = std::string(200000, '[') + std::string(200000, ']');
  auto res = PostJson(port(), "/v1/embeddings", R"({"model":"clip","input":"a","encoding_format":)" + deep + "}");
  ASSERT_TRUE(res) << "no answer: the server crashed?";
  EXPECT_EQ(res->status, 400);
  EXPECT_NE(res->body.find("nested too deeply"), std::string::npos) << res->body.substr(0, 300);
  EXPECT_LT(res->body.size(), 1000u);

  std::string shape = "1";
  for (int i = 0; i < 100000; ++i) shape = "[" + shape;
  shape += std::string(100000, ']');
  res = PostJson(port(), "/v2/models/clip/infer",
                 R"({"inputs":[{"name":"TEXT","datatype":"BYTES","shape":)" + shape + R"(,"data":["a"]}]})");
  ASSERT_TRUE(res) << "no answer: the server crashed?";
  EXPECT_EQ(res->status, 400);
  ExpectLive(port());
}

TEST_F(HostileClientsTest, CompressedBodiesAre415) {
  auto res = PostJson(port(), "/v1/embeddings", "\x1f\x8b not really gzip", {{"Content-Encoding", "gzip"}});
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 415);
  EXPECT_NE(res->body.find("Content-Encoding"), std::string::npos);
  ExpectLive(port());
}

TEST_F(HostileClientsTest, ManyImagesInOneRequestAre413) {
  const std::string gif = Base64Encode(OnePixelGif());
  json data = json::array();
  for (int i = 0; i < 2000; ++i) data.push_back(gif);
  const long rss_before = RssKb(server_->pid());
  auto res = PostJson(port(), "/v2/models/clip/infer",
                      json{{"inputs", {{{"name", "IMAGE"}, {"datatype", "BYTES"}, {"shape", {2000}}, {"data", data}}}}}.dump());
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 413) << res->body;
  EXPECT_NE(res->body.find("limit is 64"), std::string::npos) << res->body;

  json inputs = json::array();
  for (int i = 0; i < 1000; ++i) inputs.push_back("data:image/gif;base64," + gif);
  res = PostJson(port(), "/v1/embeddings", json{{"model", "clip"}, {"input", inputs}}.dump());
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 413) << res->body;
  EXPECT_LT(RssKb(server_->pid()) - rss_before, 100 * 1024) << "the refused images still cost memory";
  ExpectLive(port());
}

TEST_F(HostileClientsTest, InvalidUtf8TextIsRefusedAtOnce) {
  // 16 MB of continuation bytes as one binary BYTES element: 4-byte length, then the bytes.
  const std::string text(16u << 20, '\x80');
  const uint32_t n = static_cast<uint32_t>(text.size());
  std::string binary(reinterpret_cast<const char*>(&n), 4);
  binary += text;
  const std::string header = json{{"inputs", {{{"name", "TEXT"}, {"datatype", "BYTES"}, {"shape", {1}},
                                               {"parameters", {{"binary_data_size", binary.size()}}}}}}}.dump();
  httplib::Client client("127.0.0.1", port());
  client.set_read_timeout(30, 0);
  const auto start = std::chrono::steady_clock::now();
  auto res = client.Post("/v2/models/clip/infer", {{"Inference-Header-Content-Length", std::to_string(header.size())}},
                         header + binary, "application/octet-stream");
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 400) << res->body;
  // Over the length limit before any decoding: the message says so; the 20 s of CPU are gone.
  EXPECT_NE(res->body.find("text 0"), std::string::npos) << res->body;
  EXPECT_LT(seconds, 5.0);

  res = PostJson(port(), "/v1/embeddings", json{{"model", "clip"}, {"input", "ok"}}.dump());  // still serving
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  // A short text with one bad byte is named with its offset.
  const std::string bad = "a cat \xff";
  const uint32_t m = static_cast<uint32_t>(bad.size());
  std::string small(reinterpret_cast<const char*>(&m), 4);
  small += bad;
  const std::string small_header = json{{"inputs", {{{"name", "TEXT"}, {"datatype", "BYTES"}, {"shape", {1}},
                                                     {"parameters", {{"binary_data_size", small.size()}}}}}}}.dump();
  res = client.Post("/v2/models/clip/infer", {{"Inference-Header-Content-Length", std::to_string(small_header.size())}},
                    small_header + small, "application/octet-stream");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 400);
  EXPECT_NE(res->body.find("not valid UTF-8 (byte offset 6)"), std::string::npos) << res->body;
}

TEST_F(HostileClientsTest, SlowHeadersCostNoWorkerAndMeetTheirDeadline) {
  RaiseOwnFileLimit();
  std::vector<int> sockets;
  for (int i = 0; i < 1000; ++i) {
    const int fd = Connect(port());
    ASSERT_GE(fd, 0) << "connection " << i;
    ASSERT_TRUE(SendAll(fd, "GET /v2/health/live HTTP/1.1\r\nHost: x\r\n"));  // never finished
    sockets.push_back(fd);
  }
  for (int i = 0; i < 20; ++i) ExpectLive(port());
  // Each keeps sending a byte now and then, as slowloris does: the deadline covers the
  // whole header, so the server closes every one after --header-timeout-secs (1 s).
  for (int round = 0; round < 3; ++round) {
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    for (int fd : sockets) SendAll(fd, "X");
  }
  size_t closed = 0;
  for (int fd : sockets) closed += ClosedByServer(fd, 2000);
  EXPECT_EQ(closed, sockets.size());
  for (int fd : sockets) ::close(fd);
  ExpectLive(port());
}

TEST_F(HostileClientsTest, SlowBodyMeetsItsDeadline) {
  const int fd = Connect(port());
  ASSERT_GE(fd, 0);
  ASSERT_TRUE(SendAll(fd, "POST /v1/embeddings HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                          "Content-Length: 1000\r\n\r\n{\"model\":"));
  const auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(ClosedByServer(fd, 5000));  // --body-timeout-secs 2
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), 4.0);
  ::close(fd);
  ExpectLive(port());
}

TEST_F(HostileClientsTest, RepositoryIndexTakesSmallBodiesOnly) {
  std::string body = "[";
  for (int i = 0; i < 1000000; ++i) body += i ? ",{}" : "{}";
  body += "]";
  const long rss_before = RssKb(server_->pid());
  auto res = PostJson(port(), "/v2/repository/index", body);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 413);
  EXPECT_LT(RssKb(server_->pid()) - rss_before, 50 * 1024);
  ExpectLive(port());
}

TEST_F(HostileClientsTest, TextLogsCannotBeForged) {
  ServerProcess server({"--threads", "1", "--log-format", "text"});
  httplib::Client client("127.0.0.1", server.port());
  auto res = client.Get("/nothing%0a2026-01-01T00:00:00Z%20ERROR%20forged");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 404);
  bool logged = false;
  std::istringstream log(server.Log());
  for (std::string line; std::getline(log, line);) {
    EXPECT_NE(line.rfind("2026-01-01T00:00:00Z", 0), 0u) << "a forged log line: " << line;
    logged |= line.find("forged") != std::string::npos;
  }
  EXPECT_TRUE(logged) << "the request's line is missing";
}

// --- bodies that must not be read: over the limit, or from callers without credentials ---

class BodyLimitTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    keys_file_ = WriteTemp("keys", "key-for-body-tests-0123456789 alice\n");
    server_ = new ServerProcess({"--threads", "1", "--max-body-bytes", "1048576", "--api-keys-file", keys_file_});
  }
  static void TearDownTestSuite() {
    delete server_;
    fs::remove(keys_file_);
  }
  // Streams up to `total` bytes of chunked body after `head` until the server answers.
  // Returns the server's answer and how many body bytes were sent.
  static std::pair<std::string, size_t> StreamChunked(int port, const std::string& head, size_t total) {
    const int fd = Connect(port);
    if (fd < 0) return {"", 0};
    SendAll(fd, head + "Transfer-Encoding: chunked\r\n\r\n");
    const std::string chunk(64 * 1024, 'x');
    char size_line[32];
    std::snprintf(size_line, sizeof(size_line), "%zx\r\n", chunk.size());
    size_t sent = 0;
    while (sent < total && !Readable(fd, 0)) {
      if (!SendAll(fd, std::string(size_line) + chunk + "\r\n")) break;
      sent += chunk.size();
    }
    std::string answer = ReadAll(fd, 5000);
    ::close(fd);
    return {answer, sent};
  }
  static std::string keys_file_;
  static ServerProcess* server_;
};
std::string BodyLimitTest::keys_file_;
ServerProcess* BodyLimitTest::server_ = nullptr;

TEST_F(BodyLimitTest, UnauthenticatedBodiesAreNeverRead) {
  const long rss_before = RssKb(server_->pid());
  auto [answer, sent] = StreamChunked(server_->port(), "POST /v1/embeddings HTTP/1.1\r\nHost: x\r\n", 300u << 20);
  EXPECT_EQ(StatusOf(answer), 401) << answer.substr(0, 200);
  EXPECT_LT(sent, 100u << 20) << "the server read the body before answering";
  // A declared length is refused before a byte of the body is sent.
  const int fd = Connect(server_->port());
  ASSERT_GE(fd, 0);
  SendAll(fd, "POST /v2/models/clip/infer HTTP/1.1\r\nHost: x\r\nContent-Length: 314572800\r\n\r\n");
  EXPECT_EQ(StatusOf(ReadAll(fd, 3000)), 401);
  ::close(fd);
  EXPECT_LT(RssKb(server_->pid()) - rss_before, 50 * 1024);
  ExpectLive(server_->port());
}

TEST_F(BodyLimitTest, ChunkedBodiesOverTheLimitAre413) {
  const long rss_before = RssKb(server_->pid());
  auto [answer, sent] = StreamChunked(server_->port(),
                                      "POST /v1/embeddings HTTP/1.1\r\nHost: x\r\n"
                                      "Authorization: Bearer key-for-body-tests-0123456789\r\n",
                                      300u << 20);
  EXPECT_EQ(StatusOf(answer), 413) << answer.substr(0, 200);
  EXPECT_NE(answer.find("1048576"), std::string::npos);
  EXPECT_LT(sent, 100u << 20);
  EXPECT_LT(RssKb(server_->pid()) - rss_before, 50 * 1024);
  ExpectLive(server_->port());
}

TEST_F(BodyLimitTest, FailedAuthenticationIsRateLimitedByAddress) {
  const std::string keys = WriteTemp("keys_rl", "key-for-rate-tests-0123456789 alice\n");
  ServerProcess server({"--threads", "1", "--api-keys-file", keys, "--rate-limit", "0.01", "--rate-burst", "2"});
  httplib::Client client("127.0.0.1", server.port());
  const httplib::Headers wrong = {{"Authorization", "Bearer guessed-key"}};
  EXPECT_EQ(client.Get("/v1/models", wrong)->status, 401);
  EXPECT_EQ(client.Get("/v1/models", wrong)->status, 401);
  const auto third = client.Get("/v1/models", wrong);
  EXPECT_EQ(third->status, 429);
  EXPECT_TRUE(third->has_header("Retry-After"));
  fs::remove(keys);
}

// --- the connection cap ---

TEST(ConnectionCapTest, ConnectionsBeyondTheCapAre503AndHealthReturns) {
  ServerProcess server({"--threads", "1", "--max-connections", "16", "--header-timeout-secs", "60"});
  std::vector<int> held;
  for (int i = 0; i < 16; ++i) {
    const int fd = Connect(server.port());
    ASSERT_GE(fd, 0);
    held.push_back(fd);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // all 16 accepted
  const int extra = Connect(server.port());
  ASSERT_GE(extra, 0);
  const std::string answer = ReadAll(extra, 3000);
  EXPECT_EQ(StatusOf(answer), 503) << answer;
  EXPECT_NE(answer.find("too many connections"), std::string::npos);
  ::close(extra);
  for (int fd : held) ::close(fd);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  ExpectLive(server.port());
}

// --- repository control needs the administrative scope ---

TEST(AdminScopeTest, OnlyAdminKeysControlTheRepository) {
  TempRepository repo;
  repo.AddModel("clip", {1});
  const std::string keys = WriteTemp("keys_admin", "scoped-key-0123456789abcdef bob models=clip\n"
                                                   "admin-key-0123456789abcdef ops scope=admin\n");
  ServerProcess server({"--threads", "1", "--model-control-mode", "explicit", "--load-model", "clip",
                        "--api-keys-file", keys},
                       repo.root());
  httplib::Client client("127.0.0.1", server.port());
  const httplib::Headers scoped = {{"Authorization", "Bearer scoped-key-0123456789abcdef"}};
  const httplib::Headers admin = {{"Authorization", "Bearer admin-key-0123456789abcdef"}};
  auto res = client.Post("/v2/repository/models/clip/unload", scoped, "", "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 403) << res->body;
  EXPECT_NE(res->body.find("admin"), std::string::npos);
  EXPECT_EQ(client.Post("/v2/repository/index", scoped, "", "application/json")->status, 403);
  EXPECT_EQ(client.Get("/v2/models/clip/ready", scoped)->status, 200);  // still serving
  EXPECT_EQ(client.Post("/v2/repository/index", admin, "", "application/json")->status, 200);
  EXPECT_EQ(client.Post("/v2/repository/models/clip/unload", admin, "", "application/json")->status, 200);
  fs::remove(keys);
}

}  // namespace
}  // namespace mms::testing

namespace mms::testing {
namespace {

// Many large images in one request cost decoding time in proportion to their pixels:
// the request's images together are held to --max-request-pixels.
// With --threads 2 the images decode on two threads at once (ClipServedModel's pool) and
// still share the one budget.
class RequestPixelsTest : public ::testing::TestWithParam<const char*> {};

TEST_P(RequestPixelsTest, ImagesOfOneRequestShareAPixelBudget) {
  // chelsea_q90.jpg is 451 x 300 = 135,300 pixels: two fit in 300,000, three do not.
  ServerProcess server({"--threads", GetParam(), "--max-request-pixels", "300000", "--cache-bytes", "0"});
  const std::string image = Base64Encode(ReadFileBytes(SourcePath("tests/data/clip-reference/images/chelsea_q90.jpg")));
  auto request = [&](int n) {
    json inputs = json::array();
    for (int i = 0; i < n; ++i) inputs.push_back({{"type", "image"}, {"image", image}});
    return PostJson(server.port(), "/v1/embeddings", json{{"model", "clip"}, {"input", inputs}}.dump());
  };
  auto res = request(2);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200) << res->body;
  res = request(3);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 413) << res->body;
  EXPECT_NE(res->body.find("together have more than 300000 pixels"), std::string::npos) << res->body;
  ExpectLive(server.port());
}

INSTANTIATE_TEST_SUITE_P(DecodeThreads, RequestPixelsTest, ::testing::Values("1", "2"));

}  // namespace
}  // namespace mms::testing
