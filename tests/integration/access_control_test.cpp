// Authentication, model scopes and rate limits against the real server: API keys in both
// headers, HS256 tokens, 401 with WWW-Authenticate, 403 for a model outside the caller's
// scope on every API, 429 with Retry-After, open health endpoints, --protect-health.
#include <gtest/gtest.h>
#include <httplib.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "api/auth.h"
#include "base/file_util.h"
#include "process.h"
#include "test_support.h"

namespace mms::testing {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

const std::string kKey = "test-key-0123456789abcdef";
const std::string kScopedKey = "scoped-key-0123456789abcdef";
const std::string kSecret = "jwt-secret-for-tests-0123456789abcdef";

std::string WriteTemp(const std::string& name, const std::string& text) {
  const fs::path path = fs::temp_directory_path() / ("mms_access_" + std::to_string(::getpid()) + "_" + name);
  std::ofstream(path) << text;
  return path.string();
}

std::string Token(const json& payload) {
  const std::string input = api::Base64UrlEncode(R"({"alg":"HS256","typ":"JWT"})") + "." + api::Base64UrlEncode(payload.dump());
  return input + "." + api::Base64UrlEncode(api::HmacSha256(kSecret, input));
}

int64_t Now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

httplib::MultipartFormDataItems PredictForm() {
  return {{"image", ReadFileBytes(SourcePath("tests/data/clip-reference/images/coffee.png")), "a.png", "image/png"},
          {"texts", R"(["a cup of coffee","a cat"])", "", ""}};
}

class AccessControlTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    keys_file_ = WriteTemp("keys", "# test clients\n" + kKey + " alice\n" + kScopedKey + " bob models=other\n");
    secret_file_ = WriteTemp("secret", kSecret + "\n");
    server_ = new ServerProcess({"--threads", "1", "--api-keys-file", keys_file_, "--jwt-secret-file", secret_file_,
                                 "--jwt-audience", "mmserve"});
  }
  static void TearDownTestSuite() {
    delete server_;
    fs::remove(keys_file_);
    fs::remove(secret_file_);
  }
  static httplib::Client Client() { return httplib::Client("127.0.0.1", server_->port()); }

  static ServerProcess* server_;
  static std::string keys_file_, secret_file_;
};
ServerProcess* AccessControlTest::server_ = nullptr;
std::string AccessControlTest::keys_file_, AccessControlTest::secret_file_;

TEST_F(AccessControlTest, NoOrBadCredentialsAre401WithChallenge) {
  auto c = Client();
  for (const httplib::Headers& headers : {httplib::Headers{}, httplib::Headers{{"X-API-Key", "wrong-key-000000000000"}},
                                          httplib::Headers{{"Authorization", "Bearer wrong-key-000000000000"}},
                                          httplib::Headers{{"Authorization", "Basic dXNlcjpwYXNz"}}}) {
    auto res = c.Post("/predict", headers, PredictForm());
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 401) << res->body;
    EXPECT_EQ(res->get_header_value("WWW-Authenticate"), "Bearer realm=\"mmserve\"");
    EXPECT_EQ(json::parse(res->body)["status"], "error");
    EXPECT_EQ(res->body.find("wrong-key"), std::string::npos) << "the credential must not be echoed";
  }
  // Each API answers in its own error shape.
  auto v1 = c.Post("/v1/embeddings", R"({"model":"clip","input":"x"})", "application/json");
  EXPECT_EQ(v1->status, 401);
  EXPECT_TRUE(json::parse(v1->body)["error"].is_object());
  auto v2 = c.Post("/v2/models/clip/infer", R"({"inputs":[]})", "application/json");
  EXPECT_EQ(v2->status, 401);
  EXPECT_TRUE(json::parse(v2->body)["error"].is_string());
}

TEST_F(AccessControlTest, KeysInEitherHeaderAreAccepted) {
  auto c = Client();
  auto a = c.Post("/predict", httplib::Headers{{"X-API-Key", kKey}}, PredictForm());
  EXPECT_EQ(a->status, 200) << a->body;
  auto b = c.Post("/predict", httplib::Headers{{"Authorization", "Bearer " + kKey}}, PredictForm());
  EXPECT_EQ(b->status, 200) << b->body;
  EXPECT_NE(server_->Log().find("\"client\":\"alice\""), std::string::npos);
}

TEST_F(AccessControlTest, ScopedCallerGets403OnEveryApi) {
  auto c = Client();
  const httplib::Headers h = {{"Authorization", "Bearer " + kScopedKey}};
  EXPECT_EQ(c.Post("/predict", h, PredictForm())->status, 403);
  EXPECT_EQ(c.Post("/v1/embeddings", h, R"({"model":"clip","input":"x"})", "application/json")->status, 403);
  EXPECT_EQ(c.Get("/v2/models/clip", h)->status, 403);
  EXPECT_EQ(c.Post("/v2/models/clip/infer", h, R"({"inputs":[{"name":"TEXT","datatype":"BYTES","shape":[1],"data":["x"]}]})",
                   "application/json")->status, 403);
  EXPECT_EQ(c.Get("/v2/models/stats", h)->status, 403);
  // Model lists show only what the caller may use.
  auto models = c.Get("/v1/models", h);
  ASSERT_EQ(models->status, 200);
  EXPECT_TRUE(json::parse(models->body)["data"].empty());
}

TEST_F(AccessControlTest, TokensAreCheckedAndScoped) {
  auto c = Client();
  auto bearer = [](const json& payload) { return httplib::Headers{{"Authorization", "Bearer " + Token(payload)}}; };
  const json good = {{"sub", "carol"}, {"exp", Now() + 600}, {"aud", "mmserve"}};
  auto ok = c.Post("/v1/embeddings", bearer(good), R"({"model":"clip","input":"a photo of a cat"})", "application/json");
  EXPECT_EQ(ok->status, 200) << ok->body;
  json expired = good;
  expired["exp"] = Now() - 3600;
  EXPECT_EQ(c.Post("/predict", bearer(expired), PredictForm())->status, 401);
  json wrong_audience = good;
  wrong_audience["aud"] = "someone-else";
  EXPECT_EQ(c.Post("/predict", bearer(wrong_audience), PredictForm())->status, 401);
  json scoped = good;
  scoped["models"] = {"other"};
  EXPECT_EQ(c.Post("/predict", bearer(scoped), PredictForm())->status, 403);
  scoped["models"] = {"clip"};
  EXPECT_EQ(c.Post("/predict", bearer(scoped), PredictForm())->status, 200);
}

TEST_F(AccessControlTest, HealthEndpointsStayOpen) {
  auto c = Client();
  EXPECT_EQ(c.Get("/health")->status, 200);
  EXPECT_EQ(c.Get("/v2/health/live")->status, 200);
  EXPECT_EQ(c.Get("/v2/health/ready")->status, 200);
  EXPECT_EQ(c.Get("/v2")->status, 200);
}

TEST(AccessControlFlags, ProtectHealthAndRateLimit) {
  const std::string keys = WriteTemp("keys2", kKey + " alice\n");
  ServerProcess server({"--threads", "1", "--api-keys-file", keys, "--protect-health", "--rate-limit", "0.5",
                        "--rate-burst", "3"});
  httplib::Client c("127.0.0.1", server.port());
  EXPECT_EQ(c.Get("/v2/health/ready")->status, 401);
  const httplib::Headers h = {{"X-API-Key", kKey}};
  // The start-up probe's /health was refused before the bucket was touched; three fit the burst.
  int ok = 0;
  for (int i = 0; i < 3; ++i) ok += c.Get("/v2/health/ready", h)->status == 200;
  EXPECT_EQ(ok, 3);
  auto limited = c.Get("/v2/health/ready", h);
  EXPECT_EQ(limited->status, 429);
  EXPECT_EQ(limited->get_header_value("Retry-After"), "2");  // one token per 2 s
  EXPECT_NE(json::parse(limited->body)["error"].get<std::string>().find("rate limit"), std::string::npos);
  fs::remove(keys);
}

TEST(AccessControlFlags, AnonymousCallersAreLimitedByAddress) {
  ServerProcess server({"--threads", "1", "--rate-limit", "0.2", "--rate-burst", "2"});
  httplib::Client c("127.0.0.1", server.port());
  EXPECT_EQ(c.Get("/v1/models")->status, 200);
  EXPECT_EQ(c.Get("/v1/models")->status, 200);
  auto limited = c.Get("/v1/models");
  EXPECT_EQ(limited->status, 429);
  EXPECT_EQ(limited->get_header_value("Retry-After"), "5");
  EXPECT_EQ(c.Get("/health")->status, 200);  // open routes are not counted
}

TEST(AccessControlFlags, BadFilesStopTheStart) {
  const std::string keys = WriteTemp("keys3", "short\n");
  auto r = RunMmserve({"serve", "--model-repository", SourcePath("model_repository"), "--api-keys-file", keys});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("shorter than 16"), std::string::npos) << r.err;
  const std::string secret = WriteTemp("secret3", "too-short\n");
  r = RunMmserve({"serve", "--model-repository", SourcePath("model_repository"), "--jwt-secret-file", secret});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("at least 32 bytes"), std::string::npos) << r.err;
  fs::remove(keys);
  fs::remove(secret);
}

}  // namespace
}  // namespace mms::testing
