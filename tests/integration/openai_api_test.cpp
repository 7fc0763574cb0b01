// Black-box tests of the OpenAI-compatible API (/v1/models, /v1/embeddings) against the
// real server on the demo model: embeddings must match the reference CLIP's (as unit
// vectors), base64 must carry the same floats, and every bad request must get OpenAI's
// error shape with the right status while the server keeps serving.
#include <gtest/gtest.h>
#include <httplib.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "base/base64.h"
#include "base/file_util.h"
#include "process.h"
#include "test_support.h"

namespace mms::testing {
namespace {

using nlohmann::json;

constexpr int64_t kDim = 32;  // the demo model's embedding size

std::vector<float> Floats(const json& array) {
  std::vector<float> out;
  for (const auto& v : array) out.push_back(v.get<float>());
  return out;
}

double Norm(const std::vector<float>& v) {
  double s = 0;
  for (float x : v) s += static_cast<double>(x) * x;
  return std::sqrt(s);
}

std::string ImageDataUrl(const std::string& file) {
  const std::string mime = file.ends_with(".jpg") ? "image/jpeg" : file.ends_with(".bmp") ? "image/bmp" : "image/png";
  return "data:" + mime + ";base64," + Base64Encode(ReadFileBytes(SourcePath("tests/data/clip-reference/" + file)));
}

const json& GoldenText(const std::string& name) {
  for (const auto& t : ClipGolden()["texts"]) {
    if (t["name"] == name) return t;
  }
  throw std::runtime_error("no golden text " + name);
}

const json& GoldenImage(const std::string& file) {
  for (const auto& i : ClipGolden()["images"]) {
    if (i["file"] == file) return i;
  }
  throw std::runtime_error("no golden image " + file);
}

class OpenAIApiTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { server_ = new ServerProcess({"--threads", "1"}); }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }

  static httplib::Client Client() {
    httplib::Client c("127.0.0.1", server_->port());
    c.set_read_timeout(60, 0);
    return c;
  }

  static httplib::Result Embed(const std::string& body) {
    return Client().Post("/v1/embeddings", body, "application/json");
  }

  // A 200 answer of /v1/embeddings, parsed, with the shape every answer must have.
  static json EmbedOk(const json& request) {
    auto res = Embed(request.dump());
    EXPECT_TRUE(res) << "no response";
    if (!res) return {};
    EXPECT_EQ(res->status, 200) << res->body;
    EXPECT_EQ(res->get_header_value("Content-Type"), "application/json");
    json body = json::parse(res->body);
    EXPECT_EQ(body["object"], "list");
    EXPECT_EQ(body["model"], request["model"]);
    EXPECT_EQ(body["usage"]["total_tokens"], body["usage"]["prompt_tokens"]);
    for (size_t i = 0; i < body["data"].size(); ++i) {
      EXPECT_EQ(body["data"][i]["object"], "embedding");
      EXPECT_EQ(body["data"][i]["index"], i);
    }
    return body;
  }

  // OpenAI's error shape with the status, the type and a message naming the problem;
  // then the server must still answer.
  static void ExpectError(const httplib::Result& res, int status, const std::string& type,
                          const std::string& message_part) {
    ASSERT_TRUE(res) << "no response";
    EXPECT_EQ(res->status, status) << res->body;
    const json body = json::parse(res->body);
    ASSERT_TRUE(body.contains("error")) << res->body;
    EXPECT_EQ(body["error"]["type"], type);
    EXPECT_TRUE(body["error"]["param"].is_null());
    EXPECT_TRUE(body["error"]["code"].is_null());
    EXPECT_NE(body["error"]["message"].get<std::string>().find(message_part), std::string::npos) << res->body;
    auto after = Client().Get("/v1/models");
    ASSERT_TRUE(after);
    EXPECT_EQ(after->status, 200);
  }
  static void ExpectEmbedError(const json& request, int status, const std::string& type, const std::string& part) {
    ExpectError(Embed(request.dump()), status, type, part);
  }

  static ServerProcess* server_;
};

ServerProcess* OpenAIApiTest::server_ = nullptr;

TEST_F(OpenAIApiTest, ListModels) {
  auto res = Client().Get("/v1/models");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  const json body = json::parse(res->body);
  EXPECT_EQ(body["object"], "list");
  ASSERT_EQ(body["data"].size(), 1u);
  const json& m = body["data"][0];
  EXPECT_EQ(m["id"], "clip");
  EXPECT_EQ(m["object"], "model");
  EXPECT_TRUE(m["created"].is_number_integer());
  EXPECT_EQ(m["owned_by"], "mmserve");
}

TEST_F(OpenAIApiTest, GetModel) {
  auto res = Client().Get("/v1/models/clip");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  EXPECT_EQ(json::parse(res->body)["id"], "clip");
  ExpectError(Client().Get("/v1/models/nope"), 404, "not_found_error", "nope");
}

TEST_F(OpenAIApiTest, TextEmbeddingsMatchReferenceAsUnitVectors) {
  json texts = json::array();
  int64_t tokens = 0;
  for (const auto& t : ClipGolden()["texts"]) {
    texts.push_back(t["text"]);
    tokens += static_cast<int64_t>(t["ids"].size());
  }
  const json body = EmbedOk({{"model", "clip"}, {"input", texts}});
  ASSERT_EQ(body["data"].size(), texts.size());
  EXPECT_EQ(body["usage"]["prompt_tokens"], tokens);  // CLIP tokens, start and end included
  for (size_t i = 0; i < texts.size(); ++i) {
    const auto got = Floats(body["data"][i]["embedding"]);
    const auto want = Floats(ClipGolden()["texts"][i]["embedding"]);
    ASSERT_EQ(static_cast<int64_t>(got.size()), kDim);
    EXPECT_NEAR(Norm(got), 1.0, 1e-5) << texts[i];
    EXPECT_GE(CosineSimilarity(got, want), 0.9999) << texts[i];
  }
}

TEST_F(OpenAIApiTest, SingleStringAndEmptyString) {
  const json one = EmbedOk({{"model", "clip"}, {"input", "a photo of a cat"}});
  ASSERT_EQ(one["data"].size(), 1u);
  EXPECT_GE(CosineSimilarity(Floats(one["data"][0]["embedding"]), Floats(GoldenText("p_cat")["embedding"])), 0.9999);
  const json empty = EmbedOk({{"model", "clip"}, {"input", ""}});
  ASSERT_EQ(empty["data"].size(), 1u);
  EXPECT_EQ(empty["usage"]["prompt_tokens"], 2);  // start and end tokens only
  EXPECT_GE(CosineSimilarity(Floats(empty["data"][0]["embedding"]), Floats(GoldenText("empty")["embedding"])), 0.9999);
}

TEST_F(OpenAIApiTest, ImageEmbeddingsFromDataUrlsMatchReference) {
  json images = json::array();
  for (const auto& i : ClipGolden()["images"]) images.push_back(ImageDataUrl(i["file"]));
  const json body = EmbedOk({{"model", "clip"}, {"input", images}});
  ASSERT_EQ(body["data"].size(), images.size());
  EXPECT_EQ(body["usage"]["prompt_tokens"], 0);  // images count no tokens
  for (size_t i = 0; i < images.size(); ++i) {
    const auto got = Floats(body["data"][i]["embedding"]);
    EXPECT_NEAR(Norm(got), 1.0, 1e-5);
    EXPECT_GE(CosineSimilarity(got, Floats(ClipGolden()["images"][i]["hf"]["embedding"])), 0.9999)
        << ClipGolden()["images"][i]["file"];
  }
}

TEST_F(OpenAIApiTest, MixedInputsKeepTheirPositions) {
  const json input = {
      {{"type", "image"}, {"image", ImageDataUrl("images/coffee.png")}},
      "a photo of a cat",
      {{"type", "image_url"}, {"image_url", {{"url", ImageDataUrl("images/astronaut.png")}}}},
      {{"type", "text"}, {"text", "a cup of coffee"}},
      {{"type", "image"}, {"image", Base64Encode(ReadFileBytes(SourcePath("tests/data/clip-reference/images/chelsea_q90.jpg")))}},
  };
  const json body = EmbedOk({{"model", "clip"}, {"input", input}});
  ASSERT_EQ(body["data"].size(), 5u);
  const std::vector<std::vector<float>> want = {
      Floats(GoldenImage("images/coffee.png")["hf"]["embedding"]), Floats(GoldenText("p_cat")["embedding"]),
      Floats(GoldenImage("images/astronaut.png")["hf"]["embedding"]), Floats(GoldenText("p_coffee")["embedding"]),
      Floats(GoldenImage("images/chelsea_q90.jpg")["hf"]["embedding"])};
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_GE(CosineSimilarity(Floats(body["data"][i]["embedding"]), want[i]), 0.9999) << "input " << i;
  }
  EXPECT_EQ(body["usage"]["prompt_tokens"], GoldenText("p_cat")["ids"].size() + GoldenText("p_coffee")["ids"].size());
}

TEST_F(OpenAIApiTest, Base64CarriesTheSameFloats) {
  const json input = {"a rocket on a launch pad", ImageDataUrl("images/camera.png")};
  const json floats = EmbedOk({{"model", "clip"}, {"input", input}});
  const json b64 = EmbedOk({{"model", "clip"}, {"input", input}, {"encoding_format", "base64"}});
  ASSERT_EQ(b64["data"].size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    ASSERT_TRUE(b64["data"][i]["embedding"].is_string());
    const auto bytes = Base64Decode(b64["data"][i]["embedding"].get<std::string>());
    ASSERT_TRUE(bytes);
    ASSERT_EQ(bytes->size(), kDim * sizeof(float));
    std::vector<float> decoded(kDim);
    std::memcpy(decoded.data(), bytes->data(), bytes->size());  // little-endian, as on this machine
    // The JSON floats are printed so that they read back to the same float32.
    EXPECT_EQ(decoded, Floats(floats["data"][i]["embedding"]));
  }
}

TEST_F(OpenAIApiTest, DimensionsEqualToTheModelsAreAccepted) {
  EmbedOk({{"model", "clip"}, {"input", "x"}, {"dimensions", kDim}, {"user", "someone"}});
  ExpectEmbedError({{"model", "clip"}, {"input", "x"}, {"dimensions", 16}}, 400, "invalid_request_error",
                   "\"dimensions\" is 16");
}

TEST_F(OpenAIApiTest, MalformedRequests) {
  ExpectError(Embed("{not json"), 400, "invalid_request_error", "not valid JSON");
  ExpectEmbedError({{"input", "x"}}, 400, "invalid_request_error", "\"model\"");
  ExpectEmbedError({{"model", "clip"}}, 400, "invalid_request_error", "\"input\"");
  ExpectEmbedError({{"model", "clip"}, {"input", json::array()}}, 400, "invalid_request_error", "empty list");
  ExpectEmbedError({{"model", "clip"}, {"input", {320, 1125}}}, 400, "invalid_request_error", "token arrays");
  ExpectEmbedError({{"model", "clip"}, {"input", "x"}, {"encoding_format", "int8"}}, 400, "invalid_request_error",
                   "encoding_format");
  ExpectEmbedError({{"model", "clip"}, {"input", json::array({json{{"type", "audio"}}})}}, 400, "invalid_request_error", "type");
}

TEST_F(OpenAIApiTest, UnknownModel) {
  ExpectEmbedError({{"model", "gpt-4"}, {"input", "x"}}, 404, "not_found_error", "gpt-4");
}

TEST_F(OpenAIApiTest, BadImages) {
  ExpectEmbedError({{"model", "clip"}, {"input", {"ok", "data:image/png;base64,@@@"}}}, 400, "invalid_request_error",
                   "input[1]: the image is not valid base64");
  ExpectEmbedError({{"model", "clip"}, {"input", {{{"type", "image_url"}, {"image_url", {{"url", "https://x.org/a.png"}}}}}}},
                   400, "invalid_request_error", "remote image URLs");
  // Valid base64 whose bytes are not an image: the decoder's 415.
  ExpectEmbedError({{"model", "clip"}, {"input", {"data:image/png;base64," + Base64Encode("this is text")}}}, 415,
                   "invalid_request_error", "");
  ExpectEmbedError({{"model", "clip"}, {"input", {"data:image/png;base64,"}}}, 415, "invalid_request_error", "empty");
}

TEST_F(OpenAIApiTest, OverTheLimits) {
  ExpectEmbedError({{"model", "clip"}, {"input", json::array({"ok", std::string(10001, 'a')})}}, 400,
                   "invalid_request_error", "input[1]: the text has 10001 characters");
  json many = json::array();
  for (int i = 0; i < 1001; ++i) many.push_back("a");
  ExpectEmbedError({{"model", "clip"}, {"input", many}}, 400, "invalid_request_error", "too many inputs");
  const std::string big = "data:image/png;base64," + Base64Encode(std::string((10u << 20) + 1, '\0'));
  ExpectEmbedError({{"model", "clip"}, {"input", {big}}}, 413, "invalid_request_error", "limit");
}

TEST(OpenAIApiRepositoryTest, ModelThatFailedToLoad) {
  // A repository with the demo model and a broken one: only the demo model is listed, and
  // embedding with the broken one answers 503 with the reason.
  const std::string repo = "/tmp/mms_openai_repo_" + std::to_string(::getpid());
  std::filesystem::remove_all(repo);
  std::filesystem::create_directories(repo + "/broken/1");
  std::filesystem::copy_file(TinyClipDir() + "/config.json", repo + "/broken/1/config.json");
  std::filesystem::create_directory_symlink(SourcePath("model_repository/clip"), repo + "/clip");
  {
    ServerProcess server({"--threads", "1"}, repo);
    httplib::Client c("127.0.0.1", server.port());
    auto list = c.Get("/v1/models");
    ASSERT_TRUE(list);
    const json body = json::parse(list->body);
    ASSERT_EQ(body["data"].size(), 1u) << list->body;
    EXPECT_EQ(body["data"][0]["id"], "clip");
    auto one = c.Get("/v1/models/broken");
    ASSERT_TRUE(one);
    EXPECT_EQ(one->status, 404);
    auto res = c.Post("/v1/embeddings", R"({"model":"broken","input":"x"})", "application/json");
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 503) << res->body;
    EXPECT_EQ(json::parse(res->body)["error"]["type"], "server_error");
    auto ok = c.Post("/v1/embeddings", R"({"model":"clip","input":"x"})", "application/json");
    ASSERT_TRUE(ok);
    EXPECT_EQ(ok->status, 200) << ok->body;
  }
  std::filesystem::remove_all(repo);
}

}  // namespace
}  // namespace mms::testing
