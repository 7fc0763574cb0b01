// Black-box tests of /predict and /health against the real server on the demo model.
// Every bad input is sent, and the server must answer it with the right code and then
// keep serving.
#include <gtest/gtest.h>
#include <httplib.h>

#include <nlohmann/json.hpp>
#include <filesystem>
#include <signal.h>
#include <sstream>

#include "base/file_util.h"
#include "process.h"
#include "test_support.h"

namespace mms::testing {
namespace {

class PredictApiTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { server_ = new ServerProcess({"--threads", "1"}); }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }

  httplib::Client Client() const {
    httplib::Client c("127.0.0.1", server_->port());
    c.set_read_timeout(60, 0);
    return c;
  }

  httplib::Result Predict(const httplib::MultipartFormDataItems& items) { return Client().Post("/predict", items); }

  static std::string Image(const std::string& name) {
    return ReadFileBytes(SourcePath("tests/data/clip-reference/images/" + name));
  }
  static httplib::MultipartFormData ImageItem(const std::string& bytes) { return {"image", bytes, "x.png", "image/png"}; }
  static httplib::MultipartFormData TextsItem(const std::string& json) { return {"texts", json, "", ""}; }
  static std::string LabelsJson() { return ClipGolden()["labels"].dump(); }

  // The status code, the error shape, and that the server still serves afterwards.
  void ExpectError(const httplib::Result& res, int status, const std::string& message_part) {
    ASSERT_TRUE(res) << "no response";
    EXPECT_EQ(res->status, status) << res->body;
    const auto body = nlohmann::json::parse(res->body);
    EXPECT_EQ(body["status"], "error");
    EXPECT_NE(body["message"].get<std::string>().find(message_part), std::string::npos) << body["message"];
    auto health = Client().Get("/health");
    ASSERT_TRUE(health);
    EXPECT_EQ(health->status, 200);
  }

  static ServerProcess* server_;
};

ServerProcess* PredictApiTest::server_ = nullptr;

TEST_F(PredictApiTest, Health) {
  auto res = Client().Get("/health");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(nlohmann::json::parse(res->body), nlohmann::json({{"status", "healthy"}}));
}

TEST_F(PredictApiTest, ScoresMatchReferenceSortedHighestFirst) {
  for (const auto& image : ClipGolden()["images"]) {
    const std::string file = image["file"].get<std::string>().substr(7);  // strip "images/"
    auto res = Predict({ImageItem(Image(file)), TextsItem(LabelsJson())});
    ASSERT_TRUE(res);
    ASSERT_EQ(res->status, 200) << res->body;
    const auto body = nlohmann::json::parse(res->body);
    EXPECT_EQ(body["status"], "success");
    const auto& results = body["results"];
    ASSERT_EQ(results.size(), 5u);
    const auto labels = ClipGolden()["labels"];
    const auto probs = image["hf"]["probs"];
    for (size_t i = 0; i < results.size(); ++i) {
      if (i > 0) {
        EXPECT_GE(results[i - 1]["score"].get<double>(), results[i]["score"].get<double>());
      }
      const auto it = std::find(labels.begin(), labels.end(), results[i]["text"]);
      ASSERT_NE(it, labels.end());
      EXPECT_NEAR(results[i]["score"].get<double>(), probs[it - labels.begin()].get<double>(), 1e-4) << file;
    }
  }
}

TEST_F(PredictApiTest, RequestIdIsEchoedOrGenerated) {
  httplib::Headers headers = {{"X-Request-ID", "abc-123"}};
  auto res = Client().Get("/health", headers);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->get_header_value("X-Request-ID"), "abc-123");
  auto res2 = Client().Get("/health");
  EXPECT_EQ(res2->get_header_value("X-Request-ID").size(), 32u);
}

TEST_F(PredictApiTest, MissingImage) { ExpectError(Predict({TextsItem(LabelsJson())}), 400, "image"); }

TEST_F(PredictApiTest, MissingTexts) { ExpectError(Predict({ImageItem(Image("coffee.png"))}), 400, "texts"); }

TEST_F(PredictApiTest, TextsNotJson) {
  ExpectError(Predict({ImageItem(Image("coffee.png")), TextsItem("a cat, a dog")}), 400, "texts");
}

TEST_F(PredictApiTest, TextsNotAListOfStrings) {
  ExpectError(Predict({ImageItem(Image("coffee.png")), TextsItem(R"({"a":"cat"})")}), 400, "list");
  ExpectError(Predict({ImageItem(Image("coffee.png")), TextsItem(R"(["a cat", 3])")}), 400, "texts[1]");
  ExpectError(Predict({ImageItem(Image("coffee.png")), TextsItem(R"("a cat")")}), 400, "list");
}

TEST_F(PredictApiTest, EmptyTextList) {
  ExpectError(Predict({ImageItem(Image("coffee.png")), TextsItem("[]")}), 400, "empty");
}

TEST_F(PredictApiTest, TextTooLong) {
  const std::string long_text(10001, 'a');
  ExpectError(Predict({ImageItem(Image("coffee.png")), TextsItem(nlohmann::json::array({"ok", long_text}).dump())}), 400,
              "10000");
  // Exactly at the limit is accepted.
  auto res = Predict({ImageItem(Image("coffee.png")), TextsItem(nlohmann::json::array({std::string(10000, 'a')}).dump())});
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200) << res->body;
}

TEST_F(PredictApiTest, ImageTooLarge) {
  std::string big = Image("coffee.png");
  big.resize((10u << 20) + 1, '\0');
  ExpectError(Predict({ImageItem(big), TextsItem(LabelsJson())}), 413, "limit");
}

TEST_F(PredictApiTest, ImageThatDoesNotDecode) {
  ExpectError(Predict({ImageItem("this is not an image at all"), TextsItem(LabelsJson())}), 415, "");
  std::string truncated = Image("chelsea_q90.jpg");
  truncated.resize(200);
  ExpectError(Predict({ImageItem(truncated), TextsItem(LabelsJson())}), 415, "");
  ExpectError(Predict({ImageItem(""), TextsItem(LabelsJson())}), 415, "empty");
}

TEST_F(PredictApiTest, NotMultipart) {
  auto res = Client().Post("/predict", R"({"texts":["a"]})", "application/json");
  ExpectError(res, 400, "multipart");
}

TEST_F(PredictApiTest, UnknownRouteIsJson404) {
  auto res = Client().Get("/no/such/route");
  ExpectError(res, 404, "/no/such/route");
}

TEST_F(PredictApiTest, OneJsonLogLinePerRequest) {
  httplib::Headers headers = {{"X-Request-ID", "log-check-42"}};
  auto res = Client().Get("/health", headers);
  ASSERT_TRUE(res);
  bool found = false;
  std::istringstream log(server_->Log());
  for (std::string line; std::getline(log, line);) {
    const auto j = nlohmann::json::parse(line);  // every line is one JSON object
    ASSERT_TRUE(j.contains("time") && j.contains("level") && j.contains("message")) << line;
    if (j.value("request_id", "") == "log-check-42") {
      found = true;
      EXPECT_EQ(j["route"], "/health");
      EXPECT_EQ(j["status"], 200);
      EXPECT_TRUE(j["duration_ms"].is_number());
    }
  }
  EXPECT_TRUE(found);
}

// serve --profile: the stages of each /predict and the towers' ops, in the log at exit.
TEST_F(PredictApiTest, ProfileShowsTheStagesOfARequest) {
  ServerProcess server({"--threads", "1", "--profile"});
  httplib::Client c("127.0.0.1", server.port());
  c.set_read_timeout(60, 0);
  const std::string file = ClipGolden()["images"][0]["file"].get<std::string>().substr(7);  // strip "images/"
  const httplib::MultipartFormDataItems items = {ImageItem(Image(file)), TextsItem(LabelsJson())};
  auto res = c.Post("/predict", items);
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  ASSERT_EQ(server.SignalAndWait(SIGTERM), 0);
  const std::string log = server.Log();
  for (const char* part : {"mmserve profile: serving: 1 passes", "op parse_form", "op tokenize", "op cache_lookup",
                           "op image_decode_preprocess", "op wait_for_encoders", "op respond", "op (image_encoder_run)",
                           "op (text_encoder_run)", "mmserve profile: vision_model.encoder:",
                           "mmserve profile: text_model.encoder:"}) {
    EXPECT_NE(log.find(part), std::string::npos) << part << " missing from the log";
  }
}

TEST(ServerLifecycleTest, SigtermExitsCleanly) {
  ServerProcess server({"--threads", "1"});
  EXPECT_EQ(server.SignalAndWait(SIGTERM), 0);
}

TEST(ServerLifecycleTest, BrokenModelIsReportedNotFatal) {
  // A repository whose only model has no weights: the server starts, says why, and
  // /predict answers 503 instead of crashing.
  const std::string repo = "/tmp/mms_broken_repo_" + std::to_string(::getpid());
  std::filesystem::create_directories(repo + "/clip/1");
  std::filesystem::copy_file(TinyClipDir() + "/config.json", repo + "/clip/1/config.json");
  ServerProcess server({"--threads", "1"}, repo);
  httplib::Client c("127.0.0.1", server.port());
  auto health = c.Get("/health");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 503);
  httplib::MultipartFormDataItems items = {{"image", ReadFileBytes(SourcePath("tests/data/clip-reference/images/coffee.png")), "a.png", "image/png"},
                                           {"texts", R"(["a"])", "", ""}};
  auto res = c.Post("/predict", items);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 503);
  EXPECT_NE(res->body.find("model.safetensors"), std::string::npos) << res->body;
  EXPECT_NE(server.Log().find("model failed to load"), std::string::npos);
  std::filesystem::remove_all(repo);
}

}  // namespace
}  // namespace mms::testing
