// Black-box tests of the KServe v2 API as Triton serves it over HTTP, against the real
// server on repositories made for each test (TempRepository). Request bodies follow the
// protocol documents (KServe's v2 inference protocol, Triton's binary tensor data,
// model repository and statistics extensions), not what this server happens to accept:
//   - every route: health, server and model metadata, readiness, config, statistics,
//     inference in JSON and in binary form both ways, the repository index;
//   - results against the reference CLIP (embeddings cosine >= 0.9999, probs within 1e-4);
//   - every error with Triton's status and {"error":"..."} body, the server serving on;
//   - models that fail to load, explicit load/unload, and poll mode changing the disk
//     under continuous load without failing a request.
#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstring>
#include <functional>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "base/base64.h"
#include "base/file_util.h"
#include "process.h"
#include "temp_repository.h"
#include "test_support.h"

namespace mms::testing {
namespace {

using nlohmann::json;

constexpr int64_t kDim = 32;  // the tiny CLIP's embedding size
constexpr char kHeaderLength[] = "Inference-Header-Content-Length";

// ---------------------------------------------------------------------------------------
// Reference data

std::string ImageFileBytes(const std::string& file) {  // file as golden.json names it
  return ReadFileBytes(SourcePath("tests/data/clip-reference/" + file));
}

const json& GoldenImage(const std::string& file) {
  for (const auto& i : ClipGolden()["images"]) {
    if (i["file"] == file) return i;
  }
  throw std::runtime_error("no golden image " + file);
}

const json& GoldenText(const std::string& text) {
  for (const auto& t : ClipGolden()["texts"]) {
    if (t["text"] == text) return t;
  }
  throw std::runtime_error("no golden text " + text);
}

std::vector<std::string> Labels() { return ClipGolden()["labels"].get<std::vector<std::string>>(); }

std::vector<float> Floats(const json& array) {
  std::vector<float> out;
  for (const auto& v : array) out.push_back(v.get<float>());
  return out;
}

std::vector<float> Row(const std::vector<float>& m, size_t row, size_t cols) {
  return std::vector<float>(m.begin() + row * cols, m.begin() + (row + 1) * cols);
}

// IMAGE_EMBEDS rows of `files`, in order, against the reference embeddings.
void ExpectImageEmbeds(const std::vector<float>& embeds, const std::vector<std::string>& files) {
  ASSERT_EQ(embeds.size(), files.size() * kDim);
  for (size_t i = 0; i < files.size(); ++i) {
    EXPECT_GE(CosineSimilarity(Row(embeds, i, kDim), Floats(GoldenImage(files[i])["hf"]["embedding"])), 0.9999)
        << files[i];
  }
}

void ExpectTextEmbeds(const std::vector<float>& embeds, const std::vector<std::string>& texts) {
  ASSERT_EQ(embeds.size(), texts.size() * kDim);
  for (size_t i = 0; i < texts.size(); ++i) {
    EXPECT_GE(CosineSimilarity(Row(embeds, i, kDim), Floats(GoldenText(texts[i])["embedding"])), 0.9999) << texts[i];
  }
}

// PROBS of `files` against Labels(), row by row, within 1e-4 of the reference.
void ExpectProbs(const std::vector<float>& probs, const std::vector<std::string>& files) {
  const size_t n = Labels().size();
  ASSERT_EQ(probs.size(), files.size() * n);
  for (size_t i = 0; i < files.size(); ++i) {
    const json& want = GoldenImage(files[i])["hf"]["probs"];
    for (size_t t = 0; t < n; ++t) EXPECT_NEAR(probs[i * n + t], want[t].get<double>(), 1e-4) << files[i] << " " << t;
  }
}

// ---------------------------------------------------------------------------------------
// Requests, written as the KServe v2 protocol describes them

// A $request_input of datatype BYTES with its data inline ("data": [...]).
json BytesInput(const std::string& name, const std::vector<std::string>& data) {
  return {{"name", name}, {"shape", {data.size()}}, {"datatype", "BYTES"}, {"data", data}};
}

// In JSON, IMAGE elements are the image files in base64 (JSON strings cannot hold bytes).
json ImageInput(const std::vector<std::string>& files) {
  std::vector<std::string> data;
  for (const auto& f : files) data.push_back(Base64Encode(ImageFileBytes(f)));
  return BytesInput("IMAGE", data);
}

json TextInput(const std::vector<std::string>& texts) { return BytesInput("TEXT", texts); }

json OutputsNamed(const std::vector<std::string>& names, std::optional<bool> binary = std::nullopt) {
  json outputs = json::array();
  for (const auto& n : names) {
    json o = {{"name", n}};
    if (binary) o["parameters"] = {{"binary_data", *binary}};
    outputs.push_back(o);
  }
  return outputs;
}

// Triton's binary form of a BYTES tensor: each element as a 4-byte little-endian
// unsigned length followed by its bytes.
std::string BinaryBytes(const std::vector<std::string>& elements) {
  std::string out;
  for (const auto& e : elements) {
    const auto n = static_cast<uint32_t>(e.size());
    for (int i = 0; i < 4; ++i) out += static_cast<char>((n >> (8 * i)) & 0xff);
    out += e;
  }
  return out;
}

// A request of the binary tensor data extension: the JSON object, then the binary data
// of the inputs that carry "binary_data_size", in input order.
struct BinaryRequest {
  json header = {{"inputs", json::array()}};
  std::string tail;

  void AddBinaryInput(const std::string& name, const std::vector<std::string>& elements) {
    const std::string data = BinaryBytes(elements);
    header["inputs"].push_back({{"name", name},
                                {"shape", {elements.size()}},
                                {"datatype", "BYTES"},
                                {"parameters", {{"binary_data_size", data.size()}}}});
    tail += data;
  }
};

httplib::Client Client(int port) {
  httplib::Client c("127.0.0.1", port);
  c.set_connection_timeout(10, 0);
  c.set_read_timeout(60, 0);
  return c;
}

httplib::Result Get(int port, const std::string& path) { return Client(port).Get(path); }

httplib::Result Post(int port, const std::string& path, const std::string& body) {
  return Client(port).Post(path, body, "application/json");
}

httplib::Result Infer(int port, const std::string& model_path, const json& request) {
  return Post(port, model_path + "/infer", request.dump());
}

// Sends a JSON header of `header_length` bytes (the header's real length by default)
// followed by `tail`, with Inference-Header-Content-Length.
httplib::Result PostBinary(int port, const std::string& path, const std::string& header, const std::string& tail,
                           std::optional<size_t> header_length = std::nullopt) {
  const httplib::Headers headers = {{kHeaderLength, std::to_string(header_length.value_or(header.size()))}};
  return Client(port).Post(path, headers, header + tail, "application/octet-stream");
}

httplib::Result InferBinary(int port, const std::string& model_path, const BinaryRequest& request) {
  return PostBinary(port, model_path + "/infer", request.header.dump(), request.tail);
}

// ---------------------------------------------------------------------------------------
// Responses

json JsonOk(const httplib::Result& res) {
  EXPECT_TRUE(res) << "no response";
  if (!res) return {};
  EXPECT_EQ(res->status, 200) << res->body;
  EXPECT_EQ(res->get_header_value("Content-Type"), "application/json") << res->body;
  try {
    return json::parse(res->body);
  } catch (const json::parse_error&) {
    ADD_FAILURE() << "not JSON: " << res->body;
    return {};
  }
}

// An inference response with binary outputs: the JSON header and each binary output's
// floats (FP32, little-endian, which this machine is), by name.
struct InferAnswer {
  json header;
  std::map<std::string, std::vector<float>> binary;
};

InferAnswer BinaryOk(const httplib::Result& res) {
  InferAnswer answer;
  EXPECT_TRUE(res) << "no response";
  if (!res) return answer;
  EXPECT_EQ(res->status, 200) << res->body;
  EXPECT_EQ(res->get_header_value("Content-Type"), "application/octet-stream");
  EXPECT_TRUE(res->has_header(kHeaderLength));
  if (res->status != 200 || !res->has_header(kHeaderLength)) return answer;
  const size_t json_length = std::stoul(res->get_header_value(kHeaderLength));
  EXPECT_LE(json_length, res->body.size());
  answer.header = json::parse(res->body.substr(0, json_length));
  size_t pos = json_length;
  for (const auto& output : answer.header["outputs"]) {
    if (!output.contains("parameters") || !output["parameters"].contains("binary_data_size")) continue;
    EXPECT_FALSE(output.contains("data")) << output;
    const size_t size = output["parameters"]["binary_data_size"].get<size_t>();
    EXPECT_EQ(size % sizeof(float), 0u);
    EXPECT_LE(pos + size, res->body.size());
    if (pos + size > res->body.size()) break;
    std::vector<float> values(size / sizeof(float));
    std::memcpy(values.data(), res->body.data() + pos, size);
    answer.binary[output["name"].get<std::string>()] = std::move(values);
    pos += size;
  }
  EXPECT_EQ(pos, res->body.size()) << "the binary outputs' sizes must add up to the body";
  return answer;
}

const json& Output(const json& response, const std::string& name) {
  for (const auto& o : response["outputs"]) {
    if (o["name"] == name) return o;
  }
  static const json none;
  ADD_FAILURE() << "no output " << name << " in " << response.dump().substr(0, 400);
  return none;
}

std::vector<std::string> OutputNames(const json& response) {
  std::vector<std::string> names;
  for (const auto& o : response["outputs"]) names.push_back(o["name"]);
  return names;
}

// Triton's error answer: the status and {"error":"<message>"} naming the problem.
void ExpectKServeError(const httplib::Result& res, int status, const std::string& message_part) {
  ASSERT_TRUE(res) << "no response";
  EXPECT_EQ(res->status, status) << res->body;
  EXPECT_EQ(res->get_header_value("Content-Type"), "application/json");
  json body;
  ASSERT_NO_THROW(body = json::parse(res->body)) << res->body;
  ASSERT_TRUE(body.is_object() && body.size() == 1 && body.contains("error") && body["error"].is_string())
      << res->body;
  EXPECT_NE(body["error"].get<std::string>().find(message_part), std::string::npos)
      << "\"" << message_part << "\" not in " << res->body;
}

// After an error the server must still be live and still infer with `model`.
void ExpectStillServing(int port, const std::string& model) {
  auto live = Get(port, "/v2/health/live");
  ASSERT_TRUE(live) << "server gone";
  EXPECT_EQ(live->status, 200);
  const json r = JsonOk(Infer(port, "/v2/models/" + model, {{"inputs", {TextInput({"a cup of coffee"})}}}));
  ExpectTextEmbeds(Floats(Output(r, "TEXT_EMBEDS")["data"]), {"a cup of coffee"});
}

int Status(const httplib::Result& res) { return res ? res->status : -1; }

json Index(int port, const std::string& body = "") { return JsonOk(Post(port, "/v2/repository/index", body)); }

// The index entries of `model`, as version -> state ("" for an entry without a version).
std::map<std::string, std::string> IndexStates(int port, const std::string& model) {
  std::map<std::string, std::string> states;
  for (const auto& e : Index(port)) {
    if (e["name"] == model) states[e.value("version", "")] = e["state"];
  }
  return states;
}

const json& IndexEntry(const json& index, const std::string& model, const std::string& version) {
  for (const auto& e : index) {
    if (e["name"] == model && e.value("version", "") == version) return e;
  }
  static const json none;
  ADD_FAILURE() << "no index entry " << model << " version '" << version << "' in " << index.dump();
  return none;
}

std::map<std::string, std::string> AllReady(std::initializer_list<const char*> versions) {
  std::map<std::string, std::string> m;
  for (const char* v : versions) m[v] = "READY";
  return m;
}

// Polls `condition` until it holds or `timeout` passes (generous: the machine may be busy).
bool WaitFor(const std::function<bool()>& condition, std::chrono::seconds timeout = std::chrono::seconds(120)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return condition();
}

// Statistics of one version: its $model_stat.
json VersionStats(int port, const std::string& model, int version) {
  const json body = JsonOk(Get(port, "/v2/models/" + model + "/versions/" + std::to_string(version) + "/stats"));
  EXPECT_EQ(body["model_stats"].size(), 1u) << body;
  return body["model_stats"].empty() ? json() : body["model_stats"][0];
}

// batch_size -> how many batches of that size ran.
std::map<int, uint64_t> BatchCounts(const json& stat) {
  std::map<int, uint64_t> counts;
  for (const auto& b : stat["batch_stats"]) counts[b["batch_size"].get<int>()] = b["compute_infer"]["count"];
  return counts;
}

uint64_t NowMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// ---------------------------------------------------------------------------------------
// One server for the route-by-route tests: clip_all serves both its versions (config.pbtxt
// with version_policy all and dynamic batching), clip_plain has no config.pbtxt and so
// serves its latest version only, with the server's defaults.

constexpr char kClipAllConfig[] = R"(name: "clip_all"
max_batch_size: 8
version_policy: { all {} }
dynamic_batching {
  max_queue_delay_microseconds: 2000
}
)";

const std::vector<std::string> kImages = {"images/coffee.png", "images/astronaut.png", "images/chelsea_q90.jpg"};

class KServeApiTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    repo_ = new TempRepository();
    repo_->AddModel("clip_all", {1, 2}, kClipAllConfig);
    repo_->AddModel("clip_plain", {1, 2});
    // The statistics tests count batches: without the embedding cache, every request
    // runs its items (redis_cache_test covers the cache).
    server_ = new ServerProcess({"--threads", "1", "--max-batch-size", "16", "--cache-bytes", "0"}, repo_->root());
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
    delete repo_;
    repo_ = nullptr;
  }

  static int port() { return server_->port(); }
  static void ExpectError(const httplib::Result& res, int status, const std::string& part) {
    ExpectKServeError(res, status, part);
    ExpectStillServing(port(), "clip_all");
  }

  static TempRepository* repo_;
  static ServerProcess* server_;
};

TempRepository* KServeApiTest::repo_ = nullptr;
ServerProcess* KServeApiTest::server_ = nullptr;

TEST_F(KServeApiTest, ServerMetadataNamesTheExtensions) {
  const json meta = JsonOk(Get(port(), "/v2"));
  EXPECT_EQ(meta["name"], "mmserve");
  EXPECT_TRUE(meta["version"].is_string());
  const auto extensions = meta["extensions"].get<std::vector<std::string>>();
  for (const char* e : {"binary_tensor_data", "model_repository", "model_configuration", "statistics"}) {
    EXPECT_NE(std::find(extensions.begin(), extensions.end(), e), extensions.end()) << e;
  }
}

TEST_F(KServeApiTest, HealthIsA200WithAnEmptyBody) {
  for (const char* path : {"/v2/health/live", "/v2/health/ready"}) {
    auto res = Get(port(), path);
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 200) << path;
    EXPECT_EQ(res->body, "") << path;
  }
}

TEST_F(KServeApiTest, ModelMetadataDescribesTheTensorsAndServedVersions) {
  const json all = JsonOk(Get(port(), "/v2/models/clip_all"));
  EXPECT_EQ(all["name"], "clip_all");
  EXPECT_EQ(all["versions"], json({"1", "2"}));
  EXPECT_TRUE(all["platform"].is_string() && !all["platform"].get<std::string>().empty());
  EXPECT_EQ(all["inputs"], json::parse(R"([{"name":"IMAGE","datatype":"BYTES","shape":[-1]},
                                           {"name":"TEXT","datatype":"BYTES","shape":[-1]}])"));
  EXPECT_EQ(all["outputs"], json::parse(R"([{"name":"IMAGE_EMBEDS","datatype":"FP32","shape":[-1,32]},
                                            {"name":"TEXT_EMBEDS","datatype":"FP32","shape":[-1,32]},
                                            {"name":"LOGITS_PER_IMAGE","datatype":"FP32","shape":[-1,-1]},
                                            {"name":"PROBS","datatype":"FP32","shape":[-1,-1]}])"));
  EXPECT_EQ(JsonOk(Get(port(), "/v2/models/clip_all/versions/1"))["versions"], json::array({"1"}));
  // Without config.pbtxt the latest version only is served.
  EXPECT_EQ(JsonOk(Get(port(), "/v2/models/clip_plain"))["versions"], json::array({"2"}));
}

TEST_F(KServeApiTest, ModelReadiness) {
  for (const char* path : {"/v2/models/clip_all/ready", "/v2/models/clip_all/versions/1/ready",
                           "/v2/models/clip_all/versions/2/ready", "/v2/models/clip_plain/ready",
                           "/v2/models/clip_plain/versions/2/ready"}) {
    auto res = Get(port(), path);
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 200) << path << " " << res->body;
    EXPECT_EQ(res->body, "") << path;
  }
  // Version 1 of clip_plain is on disk but not served: the server does not know it.
  ExpectError(Get(port(), "/v2/models/clip_plain/versions/1/ready"), 404, "no version 1");
}

TEST_F(KServeApiTest, ModelConfigIsConfigPbtxtOrTheServerDefaults) {
  const json all = JsonOk(Get(port(), "/v2/models/clip_all/config"));
  EXPECT_EQ(all["name"], "clip_all");
  EXPECT_EQ(all["max_batch_size"], 8);
  EXPECT_EQ(all["version_policy"], json({{"all", json::object()}}));
  EXPECT_EQ(all["dynamic_batching"]["max_queue_delay_microseconds"], 2000);
  EXPECT_EQ(all["instance_group"], json::parse(R"([{"count":1,"kind":"KIND_CPU"}])"));
  EXPECT_EQ(JsonOk(Get(port(), "/v2/models/clip_all/versions/1/config"))["name"], "clip_all");

  const json plain = JsonOk(Get(port(), "/v2/models/clip_plain/config"));
  EXPECT_EQ(plain["name"], "clip_plain");
  EXPECT_EQ(plain["max_batch_size"], 16);  // --max-batch-size
  EXPECT_EQ(plain["version_policy"], json({{"latest", {{"num_versions", 1}}}}));
  EXPECT_EQ(plain["dynamic_batching"]["max_queue_delay_microseconds"], 2000);  // --max-queue-delay-us default
}

TEST_F(KServeApiTest, JsonInferenceMatchesTheReference) {
  // The protocol's example request, with this model's tensors.
  const json request = {{"id", "42"}, {"inputs", {ImageInput(kImages), TextInput(Labels())}}};
  const json r = JsonOk(Infer(port(), "/v2/models/clip_all", request));
  EXPECT_EQ(r["model_name"], "clip_all");
  EXPECT_EQ(r["model_version"], "2");  // the highest ready version
  EXPECT_EQ(r["id"], "42");
  // No "outputs" in the request: every output the model produces.
  EXPECT_EQ(OutputNames(r), (std::vector<std::string>{"IMAGE_EMBEDS", "TEXT_EMBEDS", "LOGITS_PER_IMAGE", "PROBS"}));
  const auto n_images = static_cast<int64_t>(kImages.size()), n_texts = static_cast<int64_t>(Labels().size());
  for (const auto& o : r["outputs"]) EXPECT_EQ(o["datatype"], "FP32") << o["name"];
  EXPECT_EQ(Output(r, "IMAGE_EMBEDS")["shape"], json({n_images, kDim}));
  EXPECT_EQ(Output(r, "TEXT_EMBEDS")["shape"], json({n_texts, kDim}));
  EXPECT_EQ(Output(r, "LOGITS_PER_IMAGE")["shape"], json({n_images, n_texts}));
  EXPECT_EQ(Output(r, "PROBS")["shape"], json({n_images, n_texts}));

  ExpectImageEmbeds(Floats(Output(r, "IMAGE_EMBEDS")["data"]), kImages);
  ExpectTextEmbeds(Floats(Output(r, "TEXT_EMBEDS")["data"]), Labels());
  const auto probs = Floats(Output(r, "PROBS")["data"]);
  ExpectProbs(probs, kImages);
  // PROBS is the softmax of LOGITS_PER_IMAGE over the texts.
  const auto logits = Floats(Output(r, "LOGITS_PER_IMAGE")["data"]);
  ASSERT_EQ(logits.size(), probs.size());
  for (int64_t i = 0; i < n_images; ++i) {
    double sum = 0;
    for (int64_t t = 0; t < n_texts; ++t) sum += std::exp(logits[i * n_texts + t] - logits[i * n_texts]);
    EXPECT_NEAR(probs[i * n_texts], 1.0 / sum, 1e-5);
  }
}

TEST_F(KServeApiTest, OutputsSelectAndOrderWhatIsReturned) {
  const json r = JsonOk(Infer(port(), "/v2/models/clip_all",
                              {{"inputs", {ImageInput({"images/coffee.png"}), TextInput(Labels())}},
                               {"outputs", OutputsNamed({"PROBS", "IMAGE_EMBEDS"})}}));
  EXPECT_EQ(OutputNames(r), (std::vector<std::string>{"PROBS", "IMAGE_EMBEDS"}));
  EXPECT_FALSE(r.contains("id"));  // the request had none
  ExpectProbs(Floats(Output(r, "PROBS")["data"]), {"images/coffee.png"});
  ExpectImageEmbeds(Floats(Output(r, "IMAGE_EMBEDS")["data"]), {"images/coffee.png"});

  // One input alone gives its embeddings.
  const json images = JsonOk(Infer(port(), "/v2/models/clip_plain", {{"inputs", {ImageInput({"images/camera.png"})}}}));
  EXPECT_EQ(OutputNames(images), std::vector<std::string>{"IMAGE_EMBEDS"});
  EXPECT_EQ(images["model_version"], "2");
  ExpectImageEmbeds(Floats(Output(images, "IMAGE_EMBEDS")["data"]), {"images/camera.png"});
}

TEST_F(KServeApiTest, DataMayBeNestedInItsShape) {
  // "Tensor elements may be presented in their natural multi-dimensional representation."
  const std::vector<std::string> texts = {"a photo of a cat", "a cup of coffee", "a rocket on a launch pad",
                                          "a photo of an astronaut"};
  const json input = {{"name", "TEXT"}, {"shape", {2, 2}}, {"datatype", "BYTES"},
                      {"data", json::array({json::array({texts[0], texts[1]}), json::array({texts[2], texts[3]})})}};
  const json r = JsonOk(Infer(port(), "/v2/models/clip_all", {{"inputs", {input}}}));
  EXPECT_EQ(Output(r, "TEXT_EMBEDS")["shape"], json({4, kDim}));
  ExpectTextEmbeds(Floats(Output(r, "TEXT_EMBEDS")["data"]), texts);
}

TEST_F(KServeApiTest, VersionInThePathPicksTheVersion) {
  for (const char* version : {"1", "2"}) {
    const json r = JsonOk(Infer(port(), std::string("/v2/models/clip_all/versions/") + version,
                                {{"inputs", {TextInput({"a photo of a cat"})}}}));
    EXPECT_EQ(r["model_version"], version);
    ExpectTextEmbeds(Floats(Output(r, "TEXT_EMBEDS")["data"]), {"a photo of a cat"});
  }
}

TEST_F(KServeApiTest, BinaryInputsAndBinaryOutputs) {
  // As in the binary tensor data extension's example: inputs as binary data after the
  // JSON, outputs asked for in binary with "binary_data": true, one left in JSON.
  const std::vector<std::string> files = {"images/coffee.png", "images/astronaut.png"};
  BinaryRequest request;
  request.header["model_name"] = "clip_all";
  request.AddBinaryInput("IMAGE", {ImageFileBytes(files[0]), ImageFileBytes(files[1])});
  request.AddBinaryInput("TEXT", Labels());
  request.header["outputs"] = {{{"name", "IMAGE_EMBEDS"}, {"parameters", {{"binary_data", true}}}},
                               {{"name", "TEXT_EMBEDS"}, {"parameters", {{"binary_data", false}}}},
                               {{"name", "PROBS"}, {"parameters", {{"binary_data", true}}}}};
  const InferAnswer a = BinaryOk(InferBinary(port(), "/v2/models/clip_all/versions/1", request));
  EXPECT_EQ(a.header["model_name"], "clip_all");
  EXPECT_EQ(a.header["model_version"], "1");
  EXPECT_EQ(OutputNames(a.header), (std::vector<std::string>{"IMAGE_EMBEDS", "TEXT_EMBEDS", "PROBS"}));
  const json& image_embeds = Output(a.header, "IMAGE_EMBEDS");
  EXPECT_EQ(image_embeds["shape"], json({2, kDim}));
  EXPECT_EQ(image_embeds["datatype"], "FP32");
  EXPECT_EQ(image_embeds["parameters"]["binary_data_size"], 2 * kDim * 4);
  EXPECT_EQ(Output(a.header, "PROBS")["parameters"]["binary_data_size"], 2 * Labels().size() * 4);
  ASSERT_EQ(a.binary.size(), 2u);
  ExpectImageEmbeds(a.binary.at("IMAGE_EMBEDS"), files);
  ExpectProbs(a.binary.at("PROBS"), files);
  ExpectTextEmbeds(Floats(Output(a.header, "TEXT_EMBEDS")["data"]), Labels());
}

TEST_F(KServeApiTest, BinaryDataOutputMakesEveryOutputBinary) {
  // JSON inputs, no Inference-Header-Content-Length in the request; "binary_data_output"
  // asks for all outputs in binary unless an output says otherwise.
  const json request = {{"parameters", {{"binary_data_output", true}}},
                        {"inputs", {ImageInput({"images/chelsea_q90.jpg"}), TextInput(Labels())}},
                        {"outputs",
                         {{{"name", "PROBS"}},
                          {{"name", "IMAGE_EMBEDS"}, {"parameters", {{"binary_data", false}}}}}}};
  const InferAnswer a = BinaryOk(Infer(port(), "/v2/models/clip_all", request));
  ASSERT_EQ(a.binary.count("PROBS"), 1u);
  ExpectProbs(a.binary.at("PROBS"), {"images/chelsea_q90.jpg"});
  ExpectImageEmbeds(Floats(Output(a.header, "IMAGE_EMBEDS")["data"]), {"images/chelsea_q90.jpg"});
}

TEST_F(KServeApiTest, BinaryAndJsonInputsMix) {
  BinaryRequest request;
  request.AddBinaryInput("IMAGE", {ImageFileBytes("images/astronaut.png")});
  request.header["inputs"].push_back(TextInput(Labels()));
  auto res = InferBinary(port(), "/v2/models/clip_plain", request);
  const json r = JsonOk(res);  // no output asked for in binary: a plain JSON answer
  EXPECT_FALSE(res && res->has_header(kHeaderLength));
  ExpectProbs(Floats(Output(r, "PROBS")["data"]), {"images/astronaut.png"});
}

TEST_F(KServeApiTest, StatisticsCountInferencesExecutionsAndBatches) {
  const json before = VersionStats(port(), "clip_all", 1);
  const uint64_t start_ms = NowMillis();
  // 2 images + 3 texts: one image batch of 2 and one text batch of 3.
  JsonOk(Infer(port(), "/v2/models/clip_all/versions/1",
               {{"inputs", {ImageInput({"images/coffee.png", "images/camera.png"}),
                            TextInput({"a photo of a cat", "a cup of coffee", "a rocket on a launch pad"})}}}));
  // 10 texts with max_batch_size 8: batches of 8 and 2.
  std::vector<std::string> ten;
  for (int i = 0; i < 10; ++i) ten.push_back("text number " + std::to_string(i));
  JsonOk(Infer(port(), "/v2/models/clip_all/versions/1", {{"inputs", {TextInput(ten)}}}));
  // Valid base64 whose bytes are no image: the model fails the request.
  ExpectKServeError(Infer(port(), "/v2/models/clip_all/versions/1",
                          {{"inputs", {BytesInput("IMAGE", {Base64Encode("plain text, not an image")})}}}),
                    415, "");
  const json after = VersionStats(port(), "clip_all", 1);

  EXPECT_EQ(after["name"], "clip_all");
  EXPECT_EQ(after["version"], "1");
  const auto delta = [&](const std::function<uint64_t(const json&)>& field) { return field(after) - field(before); };
  EXPECT_EQ(delta([](const json& s) { return s["inference_count"].get<uint64_t>(); }), 15u);
  EXPECT_EQ(delta([](const json& s) { return s["execution_count"].get<uint64_t>(); }), 4u);
  EXPECT_EQ(delta([](const json& s) { return s["inference_stats"]["success"]["count"].get<uint64_t>(); }), 2u);
  EXPECT_EQ(delta([](const json& s) { return s["inference_stats"]["fail"]["count"].get<uint64_t>(); }), 1u);
  EXPECT_GT(delta([](const json& s) { return s["inference_stats"]["success"]["ns"].get<uint64_t>(); }), 0u);
  EXPECT_GT(delta([](const json& s) { return s["inference_stats"]["compute_infer"]["ns"].get<uint64_t>(); }), 0u);
  EXPECT_GT(delta([](const json& s) { return s["inference_stats"]["queue"]["count"].get<uint64_t>(); }), 0u);
  EXPECT_GE(after["last_inference"].get<uint64_t>() + 1000, start_ms);  // ms since the epoch

  std::map<int, uint64_t> batches = BatchCounts(after);
  for (const auto& [size, count] : BatchCounts(before)) batches[size] -= count;
  EXPECT_EQ(batches[2], 2u);
  EXPECT_EQ(batches[3], 1u);
  EXPECT_EQ(batches[8], 1u);
  // Consistent in themselves: items and executions are what the batches add up to.
  uint64_t items = 0, executions = 0;
  for (const auto& [size, count] : BatchCounts(after)) {
    items += static_cast<uint64_t>(size) * count;
    executions += count;
  }
  EXPECT_EQ(items, after["inference_count"].get<uint64_t>());
  EXPECT_EQ(executions, after["execution_count"].get<uint64_t>());
  EXPECT_EQ(after["inference_stats"]["compute_infer"]["count"], after["execution_count"]);
}

TEST_F(KServeApiTest, StatisticsOfEveryVersionAndEveryModel) {
  const json model = JsonOk(Get(port(), "/v2/models/clip_all/stats"));
  ASSERT_EQ(model["model_stats"].size(), 2u);
  EXPECT_EQ(model["model_stats"][0]["version"], "1");
  EXPECT_EQ(model["model_stats"][1]["version"], "2");
  std::set<std::pair<std::string, std::string>> seen;
  const json every = JsonOk(Get(port(), "/v2/models/stats"));
  for (const auto& s : every["model_stats"]) seen.emplace(s["name"].get<std::string>(), s["version"].get<std::string>());
  const std::set<std::pair<std::string, std::string>> want = {{"clip_all", "1"}, {"clip_all", "2"}, {"clip_plain", "2"}};
  EXPECT_EQ(seen, want);
}

TEST_F(KServeApiTest, RepositoryIndexListsEveryServedVersion) {
  const json want = json::parse(R"([{"name":"clip_all","version":"1","state":"READY","reason":""},
                                    {"name":"clip_all","version":"2","state":"READY","reason":""},
                                    {"name":"clip_plain","version":"2","state":"READY","reason":""}])");
  EXPECT_EQ(Index(port()), want);  // the body may be empty
  EXPECT_EQ(Index(port(), "{}"), want);
  EXPECT_EQ(Index(port(), R"({"ready": true})"), want);
  EXPECT_EQ(Index(port(), R"({"ready": false})"), want);
  ExpectError(Post(port(), "/v2/repository/index", R"({"ready": "yes"})"), 400, "ready");
  ExpectError(Post(port(), "/v2/repository/index", "[true]"), 400, "JSON object");
  ExpectError(Post(port(), "/v2/repository/index", "{ready"), 400, "not valid JSON");
}

TEST_F(KServeApiTest, ExplicitLoadAndUnloadNeedExplicitMode) {
  ExpectError(Post(port(), "/v2/repository/models/clip_all/load", ""), 400, "--model-control-mode explicit");
  ExpectError(Post(port(), "/v2/repository/models/clip_all/unload", ""), 400, "--model-control-mode explicit");
}

TEST_F(KServeApiTest, MalformedRequestsAre400) {
  const std::string infer = "/v2/models/clip_all/infer";
  ExpectError(Post(port(), infer, "{\"inputs\": ["), 400, "not valid JSON");
  ExpectError(Post(port(), infer, "[]"), 400, "JSON object");
  ExpectError(Post(port(), infer, "{}"), 400, "no \"inputs\"");
  ExpectError(Post(port(), infer, R"({"inputs": []})"), 400, "\"inputs\" is empty");
  ExpectError(Post(port(), infer, R"({"inputs": [{"name": "TEXT", "shape": [1], "datatype": "FP32", "data": [1.5]}]})"),
              400, "datatype");
  ExpectError(Post(port(), infer, R"({"inputs": [{"name": "TEXT", "shape": [1], "data": ["a"]}]})"), 400, "datatype");
  ExpectError(Post(port(), infer, R"({"inputs": [{"name": "INPUT0", "shape": [1], "datatype": "BYTES", "data": ["a"]}]})"),
              400, "unknown input 'INPUT0'");
  ExpectError(Post(port(), infer, R"({"inputs": [{"name": "TEXT", "datatype": "BYTES", "data": ["a"]}]})"), 400,
              "no \"shape\"");
  ExpectError(Post(port(), infer, R"({"inputs": [{"name": "IMAGE", "shape": [1], "datatype": "BYTES",
                                                  "data": ["@@ not base64 @@"]}]})"),
              400, "not valid base64");
  ExpectError(Post(port(), infer, R"({"inputs": [{"name": "TEXT", "shape": [1], "datatype": "BYTES", "data": ["a"]}],
                                     "outputs": [{"name": "EMBEDDINGS"}]})"),
              400, "unknown output 'EMBEDDINGS'");
  ExpectError(Post(port(), infer, R"({"inputs": [{"name": "TEXT", "shape": [1], "datatype": "BYTES", "data": ["a"]}],
                                     "outputs": [{"name": "PROBS"}]})"),
              400, "needs the input both IMAGE and TEXT");
  ExpectError(Post(port(), infer, R"({"inputs": [{"name": "TEXT", "shape": [3], "datatype": "BYTES",
                                                  "data": ["a", "b"]}]})"),
              400, "has 2 elements but its shape [3] holds 3");
  ExpectError(Post(port(), infer, R"({"inputs": [{"name": "TEXT", "shape": [2, 2], "datatype": "BYTES",
                                                  "data": ["a", "b"]}]})"),
              400, "holds 4");
  ExpectError(Post(port(), infer, R"({"parameters": {"timeout": -5},
                                     "inputs": [{"name": "TEXT", "shape": [1], "datatype": "BYTES", "data": ["a"]}]})"),
              400, "timeout");
}

TEST_F(KServeApiTest, MalformedBinaryRequestsAre400) {
  const std::string infer = "/v2/models/clip_all/infer";
  BinaryRequest request;
  request.AddBinaryInput("TEXT", {"a photo of a cat"});
  const std::string header = request.header.dump();
  // Binary data without Inference-Header-Content-Length: the whole body is read as JSON,
  // and the error names the missing header.
  ExpectError(Post(port(), infer, header), 400, kHeaderLength);
  ExpectError(Client(port()).Post(infer, header + request.tail, "application/octet-stream"), 400, kHeaderLength);
  // A header length beyond the body, or one that is no number.
  ExpectError(PostBinary(port(), infer, header, request.tail, header.size() + request.tail.size() + 1), 400,
              kHeaderLength);
  ExpectError(Client(port()).Post(infer, {{kHeaderLength, "twelve"}}, header + request.tail, "application/octet-stream"),
              400, kHeaderLength);
  // The binary data is shorter than binary_data_size says.
  ExpectError(PostBinary(port(), infer, header, request.tail.substr(0, request.tail.size() - 1)), 400,
              "binary_data_size");
  // An element's 4-byte length runs past the tensor's binary data.
  BinaryRequest overrun;
  overrun.header = {{"inputs", {{{"name", "TEXT"}, {"shape", {1}}, {"datatype", "BYTES"},
                                 {"parameters", {{"binary_data_size", 6}}}}}}};
  const std::string sixteen_declared_two_given("\x10\x00\x00\x00" "ab", 6);
  ExpectError(PostBinary(port(), infer, overrun.header.dump(), sixteen_declared_two_given), 400, "declares 16 bytes");
  // The element count does not match the shape.
  BinaryRequest mismatch;
  mismatch.AddBinaryInput("TEXT", {"a", "b"});
  mismatch.header["inputs"][0]["shape"] = json::array({3});
  ExpectError(InferBinary(port(), "/v2/models/clip_all", mismatch), 400, "has 2 elements but its shape [3] holds 3");
}

TEST_F(KServeApiTest, BadVersionStringsAre400) {
  const json text = {{"inputs", {TextInput({"a"})}}};
  ExpectError(Infer(port(), "/v2/models/clip_all/versions/abc", text), 400, "model version 'abc' is not a positive integer");
  ExpectError(Get(port(), "/v2/models/clip_all/versions/0/ready"), 400, "'0' is not a positive integer");
  ExpectError(Get(port(), "/v2/models/clip_all/versions/-1"), 400, "'-1' is not a positive integer");
  ExpectError(Get(port(), "/v2/models/clip_all/versions/1.5/config"), 400, "'1.5' is not a positive integer");
  ExpectError(Get(port(), "/v2/models/clip_all/versions/v2/stats"), 400, "'v2' is not a positive integer");
}

TEST_F(KServeApiTest, UnknownModelsAndVersionsAre404) {
  const json text = {{"inputs", {TextInput({"a"})}}};
  ExpectError(Infer(port(), "/v2/models/nope", text), 404, "nope");
  ExpectError(Post(port(), "/v2/models/nope/infer", "{not even json"), 404, "nope");  // the model is looked up first
  for (const char* suffix : {"", "/ready", "/config", "/stats", "/versions/1", "/versions/1/ready"}) {
    ExpectError(Get(port(), std::string("/v2/models/nope") + suffix), 404, "nope");
  }
  ExpectError(Infer(port(), "/v2/models/clip_all/versions/9", text), 404, "no version 9");
  for (const char* suffix : {"", "/ready", "/config", "/stats"}) {
    ExpectError(Get(port(), std::string("/v2/models/clip_all/versions/9") + suffix), 404, "no version 9");
  }
  ExpectError(Infer(port(), "/v2/models/clip_plain/versions/1", text), 404, "no version 1");
  // Paths that are no KServe route still answer in its error shape.
  ExpectError(Get(port(), "/v2/models/clip_all/versions/1/explain"), 404, "no route");
  // A known path under another method: 405, as RFC 9110 asks, still in KServe's shape.
  ExpectError(Post(port(), "/v2/models/clip_all/ready", ""), 405, "not allowed");
}

TEST_F(KServeApiTest, ImagesThatDoNotDecodeAre415) {
  const json not_an_image = BytesInput("IMAGE", {Base64Encode("this is text, not an image")});
  ExpectError(Infer(port(), "/v2/models/clip_plain", {{"inputs", {not_an_image}}}), 415, "");
  ExpectError(Infer(port(), "/v2/models/clip_plain", {{"inputs", {BytesInput("IMAGE", {""})}}}), 400, "empty");
}

// ---------------------------------------------------------------------------------------
// Models that fail to load: reported in the index with a reason, unavailable (503) to
// requests, not ready (400) to readiness probes, while the other versions keep serving.

TEST(KServeBrokenModelTest, UnavailableVersionsAreReportedAndTheOthersServe) {
  TempRepository repo;
  repo.AddModel("clip", {1}, "version_policy: { all {} }\n");
  repo.AddBrokenVersion("clip", 2);
  repo.AddModel("broken", {});
  repo.AddBrokenVersion("broken", 1);
  ServerProcess server({"--threads", "1"}, repo.root());
  const int port = server.port();
  const auto expect_error = [port](const httplib::Result& res, int status, const std::string& part) {
    ExpectKServeError(res, status, part);
    ExpectStillServing(port, "clip");
  };

  const json index = Index(port);
  ASSERT_EQ(index.size(), 3u) << index;
  EXPECT_EQ(IndexEntry(index, "clip", "1")["state"], "READY");
  for (const auto& [model, version] : {std::pair{"clip", "2"}, std::pair{"broken", "1"}}) {
    const json& e = IndexEntry(index, model, version);
    EXPECT_EQ(e["state"], "UNAVAILABLE") << e;
    EXPECT_NE(e["reason"].get<std::string>().find("model.safetensors"), std::string::npos) << e;
  }
  EXPECT_EQ(Index(port, R"({"ready":true})"), json::parse(R"([{"name":"clip","version":"1","state":"READY","reason":""}])"));

  auto live = Get(port, "/v2/health/live");
  ASSERT_TRUE(live);
  EXPECT_EQ(live->status, 200);
  auto ready = Get(port, "/v2/health/ready");  // "broken" has no ready version
  ASSERT_TRUE(ready);
  EXPECT_EQ(ready->status, 400);
  EXPECT_EQ(ready->body, "");
  expect_error(Get(port, "/v2/models/broken/ready"), 400, "not ready");
  expect_error(Get(port, "/v2/models/clip/versions/2/ready"), 400, "not ready");
  EXPECT_EQ(Status(Get(port, "/v2/models/clip/ready")), 200);
  EXPECT_EQ(Status(Get(port, "/v2/models/clip/versions/1/ready")), 200);

  const json request = {{"inputs", {ImageInput({"images/coffee.png"}), TextInput(Labels())}}};
  expect_error(Infer(port, "/v2/models/broken", request), 503, "model.safetensors");
  expect_error(Infer(port, "/v2/models/clip/versions/2", request), 503, "model.safetensors");
  expect_error(Get(port, "/v2/models/broken"), 503, "not ready");
  expect_error(Get(port, "/v2/models/broken/config"), 503, "not ready");
  EXPECT_EQ(JsonOk(Get(port, "/v2/models/broken/stats")), json::parse(R"({"model_stats":[]})"));

  // The model's good version serves, and is the one metadata lists.
  const json r = JsonOk(Infer(port, "/v2/models/clip", request));
  EXPECT_EQ(r["model_version"], "1");
  ExpectProbs(Floats(Output(r, "PROBS")["data"]), {"images/coffee.png"});
  EXPECT_EQ(JsonOk(Get(port, "/v2/models/clip"))["versions"], json::array({"1"}));
}

// ---------------------------------------------------------------------------------------
// Explicit model control: /v2/repository/models/{m}/load and /unload, readiness following.

TEST(KServeExplicitControlTest, LoadAndUnloadAndReadinessFollows) {
  TempRepository repo;
  repo.AddModel("clip_a", {1});
  repo.AddModel("clip_b", {1, 2});
  repo.AddModel("clip_bad", {});
  repo.AddBrokenVersion("clip_bad", 1);
  ServerProcess server({"--threads", "1", "--model-control-mode", "explicit", "--load-model", "clip_a"}, repo.root());
  const int port = server.port();
  const json text = {{"inputs", {TextInput({"a photo of a cat"})}}};
  const auto load = [port](const std::string& model, const std::string& body = "") {
    return Post(port, "/v2/repository/models/" + model + "/load", body);
  };
  const auto unload = [port](const std::string& model, const std::string& body = "") {
    return Post(port, "/v2/repository/models/" + model + "/unload", body);
  };
  const auto expect_ok_empty = [](const httplib::Result& res) {
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 200) << res->body;
    EXPECT_EQ(res->body, "");
  };

  // Only --load-model's model is loaded; the others are listed as not loaded.
  EXPECT_EQ(IndexStates(port, "clip_a"), AllReady({"1"}));
  const json initial = Index(port);
  for (const char* model : {"clip_b", "clip_bad"}) {
    const json& e = IndexEntry(initial, model, "");
    EXPECT_EQ(e["state"], "UNAVAILABLE");
    EXPECT_EQ(e["reason"], "not loaded");
  }
  EXPECT_EQ(Status(Get(port, "/v2/health/ready")), 200);  // every loaded model is ready
  ExpectKServeError(Get(port, "/v2/models/clip_b/ready"), 400, "not ready");
  ExpectKServeError(Infer(port, "/v2/models/clip_b", text), 404, "clip_b");

  // Load: 200 with an empty body, then ready and serving its latest version.
  expect_ok_empty(load("clip_b"));
  EXPECT_EQ(Status(Get(port, "/v2/models/clip_b/ready")), 200);
  EXPECT_EQ(JsonOk(Infer(port, "/v2/models/clip_b", text))["model_version"], "2");
  EXPECT_EQ(IndexStates(port, "clip_b"), AllReady({"2"}));
  // Load again: a reload, still ready.
  expect_ok_empty(load("clip_b", "{}"));
  EXPECT_EQ(Status(Get(port, "/v2/models/clip_b/versions/2/ready")), 200);
  // Triton's config and file parameters are refused: mmserve reads models from disk only.
  ExpectKServeError(load("clip_b", R"({"parameters": {"config": "{\"max_batch_size\": 4}"}})"), 400, "config");
  ExpectKServeError(load("clip_b", R"({"parameters": {"file:1/model.safetensors": "AAAA"}})"), 400, "file:");
  ExpectStillServing(port, "clip_b");

  // A model that fails to load: 400 with the reason, listed UNAVAILABLE, server not ready.
  ExpectKServeError(load("clip_bad"), 400, "model.safetensors");
  const json after_failure = Index(port);
  const json& bad = IndexEntry(after_failure, "clip_bad", "1");
  EXPECT_EQ(bad["state"], "UNAVAILABLE");
  EXPECT_NE(bad["reason"].get<std::string>().find("model.safetensors"), std::string::npos);
  EXPECT_EQ(Status(Get(port, "/v2/health/ready")), 400);
  ExpectKServeError(Infer(port, "/v2/models/clip_bad", text), 503, "not ready");
  ExpectStillServing(port, "clip_a");
  ExpectKServeError(load("nope"), 404, "nope");
  ExpectKServeError(load("clip_b", "{oops"), 400, "not valid JSON");

  // Unload: 200, then not ready, unknown to inference, listed as not loaded.
  expect_ok_empty(unload("clip_a", R"({"parameters": {"unload_dependents": false}})"));
  ExpectKServeError(Get(port, "/v2/models/clip_a/ready"), 400, "not ready");
  ExpectKServeError(Infer(port, "/v2/models/clip_a", text), 404, "clip_a");
  EXPECT_EQ(IndexStates(port, "clip_a"), (std::map<std::string, std::string>{{"", "UNAVAILABLE"}}));
  ExpectKServeError(unload("clip_a"), 404, "not loaded");
  ExpectStillServing(port, "clip_b");

  // And back.
  expect_ok_empty(load("clip_a"));
  EXPECT_EQ(Status(Get(port, "/v2/models/clip_a/ready")), 200);
  ExpectStillServing(port, "clip_a");
  expect_ok_empty(unload("clip_bad"));
  EXPECT_EQ(Status(Get(port, "/v2/health/ready")), 200);
}

// ---------------------------------------------------------------------------------------
// Poll mode: versions and configs change on disk while clients keep inferring; the index
// and readiness follow each change and not one request fails.

class ContinuousClients {
 public:
  ContinuousClients(int port, std::vector<std::string> models, int threads) : port_(port), models_(std::move(models)) {
    for (int t = 0; t < threads; ++t) threads_.emplace_back([this, t] { Loop(t); });
  }
  ~ContinuousClients() { Stop(); }

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
  void Loop(int thread_index) {
    httplib::Client client = Client(port_);
    for (int i = 0; !stop_; ++i) {
      const std::string& model = models_[(i + thread_index) % models_.size()];
      json request = {{"inputs", {TextInput({"a photo of a cat"})}}};
      if ((i + thread_index) % 3 == 0) request["inputs"].push_back(ImageInput({"images/coffee.png"}));
      auto res = client.Post("/v2/models/" + model + "/infer", request.dump(), "application/json");
      if (res && res->status == 200) {
        ++ok_;
        continue;
      }
      ++failed_;
      std::lock_guard<std::mutex> lock(mutex_);
      if (failures_.size() < 20) {
        failures_.push_back(model + ": " + (res ? std::to_string(res->status) + " " + res->body
                                                : "no response (" + httplib::to_string(res.error()) + ")"));
      }
    }
  }

  const int port_;
  const std::vector<std::string> models_;
  std::atomic<bool> stop_{false};
  std::atomic<int> ok_{0}, failed_{0};
  std::mutex mutex_;
  std::vector<std::string> failures_;
  std::vector<std::thread> threads_;
};

TEST(KServePollModeTest, ChangesOnDiskUnderLoadFailNoRequest) {
  TempRepository repo;
  repo.AddModel("clip_poll", {1, 2}, "version_policy: { all {} }\nmax_batch_size: 8\n");
  repo.AddModel("clip_latest", {1});
  // No embedding cache: the clients' identical requests must reach the versions that change.
  ServerProcess server({"--threads", "1", "--model-control-mode", "poll", "--repository-poll-secs", "1",
                        "--cache-bytes", "0"},
                       repo.root());
  const int port = server.port();
  const auto served_version = [port](const std::string& model) {
    auto res = Infer(port, "/v2/models/" + model, {{"inputs", {TextInput({"a cup of coffee"})}}});
    return res && res->status == 200 ? json::parse(res->body)["model_version"].get<std::string>() : "";
  };

  ContinuousClients clients(port, {"clip_poll", "clip_latest"}, 3);
  // Each step waits for clients to get answers after the change, not only for the change.
  const auto more_answers = [&clients] {
    const int from = clients.ok();
    return WaitFor([&] { return clients.ok() >= from + 5; });
  };
  ASSERT_TRUE(more_answers()) << clients.Failures();

  // A new version appears: served beside the others (policy all), and the default one.
  repo.AddVersion("clip_poll", 3);
  EXPECT_TRUE(WaitFor([&] { return IndexStates(port, "clip_poll") == AllReady({"1", "2", "3"}); }))
      << Index(port).dump();
  EXPECT_TRUE(WaitFor([&] { return served_version("clip_poll") == "3"; }));
  EXPECT_EQ(JsonOk(Get(port, "/v2/models/clip_poll"))["versions"], json({"1", "2", "3"}));
  EXPECT_TRUE(more_answers());

  // A version disappears: unloaded, unknown to the server.
  repo.RemoveVersion("clip_poll", 1);
  EXPECT_TRUE(WaitFor([&] { return IndexStates(port, "clip_poll") == AllReady({"2", "3"}); })) << Index(port).dump();
  EXPECT_EQ(Status(Get(port, "/v2/models/clip_poll/versions/1/ready")), 404);
  EXPECT_EQ(Status(Get(port, "/v2/models/clip_poll/versions/2/ready")), 200);
  EXPECT_TRUE(more_answers());

  // config.pbtxt changes: the model reloads with it (here: the latest version only, smaller batches).
  repo.WriteConfig("clip_poll", "version_policy: { latest { num_versions: 1 } }\nmax_batch_size: 4\n");
  EXPECT_TRUE(WaitFor([&] { return JsonOk(Get(port, "/v2/models/clip_poll/config"))["max_batch_size"] == 4; }));
  EXPECT_TRUE(WaitFor([&] { return IndexStates(port, "clip_poll") == AllReady({"3"}); })) << Index(port).dump();
  EXPECT_EQ(JsonOk(Get(port, "/v2/models/clip_poll/config"))["version_policy"],
            json({{"latest", {{"num_versions", 1}}}}));
  EXPECT_EQ(Status(Get(port, "/v2/models/clip_poll/versions/2/ready")), 404);
  EXPECT_TRUE(more_answers());

  // Without config.pbtxt the latest version is served: a new one replaces the old.
  repo.AddVersion("clip_latest", 2);
  EXPECT_TRUE(WaitFor([&] { return IndexStates(port, "clip_latest") == AllReady({"2"}); })) << Index(port).dump();
  EXPECT_EQ(served_version("clip_latest"), "2");
  EXPECT_TRUE(more_answers());

  clients.Stop();
  ::testing::Test::RecordProperty("answered_requests", clients.ok());
  EXPECT_EQ(clients.failed(), 0) << clients.Failures();
  EXPECT_GT(clients.ok(), 0);
  EXPECT_EQ(Status(Get(port, "/v2/health/ready")), 200);
}

}  // namespace
}  // namespace mms::testing
