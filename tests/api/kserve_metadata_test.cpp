// The JSON of KServe's non-inference endpoints, checked against the field names and
// types of the KServe v2 protocol and Triton's statistics and repository extensions.
#include "api/kserve_metadata.h"

#include <gtest/gtest.h>

#include "base/error.h"

namespace mms::api::kserve {
namespace {

using nlohmann::json;

TEST(KServeMetadata, ErrorBodyIsTritonShaped) {
  EXPECT_EQ(json::parse(ErrorBody(400, "bad \"thing\"")), json({{"error", "bad \"thing\""}}));
  // Invalid UTF-8 in a message (e.g. a model name from the URL) still gives valid JSON.
  EXPECT_NO_THROW(json::parse(ErrorBody(404, "unknown model '\xff'")));
}

TEST(KServeMetadata, VersionsArePositiveIntegers) {
  EXPECT_EQ(ParseVersion("1"), 1);
  EXPECT_EQ(ParseVersion("42"), 42);
  for (const char* bad : {"", "0", "-1", "+1", "1.0", "abc", "1a", " 1", "99999999999999999999"}) {
    try {
      ParseVersion(bad);
      ADD_FAILURE() << "accepted '" << bad << "'";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
      EXPECT_NE(std::string(e.what()).find("not a positive integer"), std::string::npos);
    }
  }
}

TEST(KServeMetadata, ServerMetadataListsTheExtensions) {
  const json j = ServerMetadata();
  EXPECT_EQ(j["name"], "mmserve");
  EXPECT_TRUE(j["version"].is_string());
  const auto ext = j["extensions"].get<std::vector<std::string>>();
  for (const char* e : {"binary_tensor_data", "model_repository", "model_configuration", "statistics"}) {
    EXPECT_NE(std::find(ext.begin(), ext.end(), e), ext.end()) << e;
  }
}

TEST(KServeMetadata, ModelMetadataListsTheModelsTensors) {
  const std::vector<runtime::TensorSpec> inputs = {{"IMAGE", "BYTES", {-1}}, {"TEXT", "BYTES", {-1}}};
  const std::vector<runtime::TensorSpec> outputs = {{"IMAGE_EMBEDS", "FP32", {-1, 512}},
                                                    {"TEXT_EMBEDS", "FP32", {-1, 512}},
                                                    {"LOGITS_PER_IMAGE", "FP32", {-1, -1}},
                                                    {"PROBS", "FP32", {-1, -1}}};
  const json j = ModelMetadata("clip", {1, 3}, "mmserve_clip", inputs, outputs);
  EXPECT_EQ(j["name"], "clip");
  EXPECT_EQ(j["versions"], json({"1", "3"}));
  EXPECT_EQ(j["platform"], "mmserve_clip");
  EXPECT_EQ(j["inputs"], json::parse(R"([{"name":"IMAGE","datatype":"BYTES","shape":[-1]},
                                         {"name":"TEXT","datatype":"BYTES","shape":[-1]}])"));
  EXPECT_EQ(j["outputs"], json::parse(R"([{"name":"IMAGE_EMBEDS","datatype":"FP32","shape":[-1,512]},
                                          {"name":"TEXT_EMBEDS","datatype":"FP32","shape":[-1,512]},
                                          {"name":"LOGITS_PER_IMAGE","datatype":"FP32","shape":[-1,-1]},
                                          {"name":"PROBS","datatype":"FP32","shape":[-1,-1]}])"));
}

TEST(KServeMetadata, PlatformIsTheBackendWhenConfigNamesOne) {
  io::ModelConfig config;
  EXPECT_EQ(PlatformOf(config, "clip"), "mmserve_clip");
  EXPECT_EQ(PlatformOf(config, "llama"), "mmserve_llama");
  config.backend = "clip";
  EXPECT_EQ(PlatformOf(config, "clip"), "clip");
}

TEST(KServeMetadata, ConfigJsonHasTheModelName) {
  io::ModelConfig config;
  config.max_batch_size = 16;
  const json j = ModelConfigJson(config, "clip_a");
  EXPECT_EQ(j["name"], "clip_a");
  EXPECT_EQ(j["max_batch_size"], 16);
}

TEST(KServeMetadata, StatsFollowTritonsStatisticsExtension) {
  runtime::ModelStats s;
  s.last_inference_ms = 1700000000123;
  s.inference_count = 12;
  s.execution_count = 3;
  s.success = {4, 4000};
  s.fail = {1, 10};
  s.queue = {5, 500};
  s.compute_input = {4, 40};
  s.compute_infer = {3, 300};
  s.compute_output = {4, 4};
  s.cache_hit = {2, 20};
  s.cache_miss = {3, 30};
  s.batch_stats = {{1, {1, 100}}, {8, {2, 200}}};
  const json j = ModelStatsJson("clip", 2, s);
  EXPECT_EQ(j["name"], "clip");
  EXPECT_EQ(j["version"], "2");
  EXPECT_EQ(j["last_inference"], 1700000000123u);
  EXPECT_EQ(j["inference_count"], 12);
  EXPECT_EQ(j["execution_count"], 3);
  const json& is = j["inference_stats"];
  EXPECT_EQ(is["success"], json({{"count", 4}, {"ns", 4000}}));
  EXPECT_EQ(is["fail"], json({{"count", 1}, {"ns", 10}}));
  EXPECT_EQ(is["queue"], json({{"count", 5}, {"ns", 500}}));
  EXPECT_EQ(is["compute_input"], json({{"count", 4}, {"ns", 40}}));
  EXPECT_EQ(is["compute_infer"], json({{"count", 3}, {"ns", 300}}));
  EXPECT_EQ(is["compute_output"], json({{"count", 4}, {"ns", 4}}));
  EXPECT_EQ(is["cache_hit"], json({{"count", 2}, {"ns", 20}}));
  EXPECT_EQ(is["cache_miss"], json({{"count", 3}, {"ns", 30}}));
  EXPECT_EQ(j["batch_stats"], json::parse(R"([{"batch_size":1,"compute_infer":{"count":1,"ns":100}},
                                              {"batch_size":8,"compute_infer":{"count":2,"ns":200}}])"));
  EXPECT_EQ(ModelStatsJson("m", 1, {})["batch_stats"], json::array());
}

TEST(KServeMetadata, RepositoryIndexUsesTritonsStateNames) {
  using runtime::ModelState;
  const std::vector<runtime::ModelVersionStatus> index = {
      {"a", 1, ModelState::kReady, ""},
      {"a", 2, ModelState::kUnavailable, "missing config.json"},
      {"b", 0, ModelState::kUnavailable, "not loaded"},
      {"c", 4, ModelState::kLoading, ""}};
  const json all = RepositoryIndexJson(index, false);
  EXPECT_EQ(all, json::parse(R"([{"name":"a","version":"1","state":"READY","reason":""},
      {"name":"a","version":"2","state":"UNAVAILABLE","reason":"missing config.json"},
      {"name":"b","state":"UNAVAILABLE","reason":"not loaded"},
      {"name":"c","version":"4","state":"LOADING","reason":""}])"));
  EXPECT_EQ(RepositoryIndexJson(index, true), json::parse(R"([{"name":"a","version":"1","state":"READY","reason":""}])"));
  EXPECT_EQ(RepositoryIndexJson({}, false), json::array());
}

}  // namespace
}  // namespace mms::api::kserve
