// Black-box tests of generation through the real server on the reference tiny LLaMA
// (tests/data/llama-reference): greedy continuations must be the reference's (llama.cpp
// with an fp32 KV cache), alone and among concurrent requests; streaming must carry the
// same text as OpenAI's SSE chunks; and each scheduler promise is checked from outside:
// preemption under a tiny KV budget, blocks freed when a streaming client disconnects,
// prefix-cache hits for a repeated prompt, JSON-constrained output.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <nlohmann/json.hpp>
#include <thread>

#include "../prometheus_text.h"
#include "base/file_util.h"
#include "process.h"
#include "test_support.h"

namespace mms::testing {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

const std::string kModelDir = "tests/data/llama-reference/model";

std::vector<json> Golden() {
  std::vector<json> out;
  std::ifstream in(SourcePath("tests/data/llama-reference/golden/reference.jsonl"));
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty()) out.push_back(json::parse(line));
  }
  return out;
}

// A repository with the reference LLaMA as "llama" (its files symlinked) and the given
// config.pbtxt; removed at the end.
class LlamaRepository {
 public:
  explicit LlamaRepository(const std::string& pbtxt = "", bool with_chat_template = true) {
    root_ = fs::temp_directory_path() / ("mms-llama-" + std::to_string(getpid()) + "-" + std::to_string(counter_++));
    const fs::path version = root_ / "llama" / "1";
    fs::create_directories(version);
    for (const auto& entry : fs::directory_iterator(SourcePath(kModelDir))) {
      const std::string name = entry.path().filename().string();
      if (name == "tokenizer_config.json" && !with_chat_template) {
        json tc = json::parse(ReadFileBytes(entry.path().string()));
        tc.erase("chat_template");
        std::ofstream(version / name) << tc.dump();
        continue;
      }
      fs::create_symlink(entry.path(), version / name);
    }
    if (!pbtxt.empty()) std::ofstream(root_ / "llama" / "config.pbtxt") << pbtxt;
  }
  ~LlamaRepository() {
    std::error_code ec;
    fs::remove_all(root_, ec);
  }
  std::string root() const { return root_.string(); }

 private:
  fs::path root_;
  static inline int counter_ = 0;
};

httplib::Client Client(int port) {
  httplib::Client c("127.0.0.1", port);
  c.set_read_timeout(120, 0);
  return c;
}

json PostOk(int port, const std::string& path, const json& body) {
  auto res = Client(port).Post(path, body.dump(), "application/json");
  EXPECT_TRUE(res) << path;
  if (!res) return {};
  EXPECT_EQ(res->status, 200) << res->body;
  return json::parse(res->body);
}

// The "data:" payloads of a server-sent event stream, in order.
std::vector<std::string> SseData(const std::string& body) {
  std::vector<std::string> out;
  size_t at = 0;
  while ((at = body.find("data: ", at)) != std::string::npos) {
    const size_t end = body.find("\n\n", at);
    out.push_back(body.substr(at + 6, end - at - 6));
    at = end;
  }
  return out;
}

std::vector<PromSample> Scrape(int port) {
  auto res = Client(port).Get("/metrics");
  EXPECT_TRUE(res && res->status == 200);
  return res ? ParsePromSamples(res->body) : std::vector<PromSample>{};
}

double Metric(int port, const std::string& name, const std::map<std::string, std::string>& labels = {}) {
  return PromValue(Scrape(port), name, labels).value_or(-1);
}

json GreedyCompletion(const std::string& prompt, int max_tokens = 16) {
  return {{"model", "llama"}, {"prompt", prompt}, {"max_tokens", max_tokens}, {"temperature", 0},
          {"ignore_eos", true}};
}

class GenerationApiTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    repo_ = new LlamaRepository();
    server_ = new ServerProcess({"--threads", "1", "--default-model", "llama"}, repo_->root());
  }
  static void TearDownTestSuite() {
    delete server_;
    delete repo_;
  }
  static int port() { return server_->port(); }
  static LlamaRepository* repo_;
  static ServerProcess* server_;
};
LlamaRepository* GenerationApiTest::repo_ = nullptr;
ServerProcess* GenerationApiTest::server_ = nullptr;

TEST_F(GenerationApiTest, PromptIdsAreTheReferences) {
  for (const auto& g : Golden()) {
    const json r = PostOk(port(), "/tokenize", {{"model", "llama"}, {"prompt", g["prompt"]}});
    EXPECT_EQ(r["tokens"], g["prompt_ids"]) << g["prompt"];
    EXPECT_EQ(r["max_model_len"], 2048);
  }
}

// Greedy continuations are llama.cpp's (fp32 KV cache), text included.
TEST_F(GenerationApiTest, GreedyCompletionsMatchTheReference) {
  for (const auto& g : Golden()) {
    const json r = PostOk(port(), "/v1/completions", GreedyCompletion(g["prompt"]));
    ASSERT_EQ(r["choices"].size(), 1u);
    EXPECT_EQ(r["choices"][0]["text"], g["gen_text"]) << g["prompt"];
    EXPECT_EQ(r["choices"][0]["finish_reason"], "length");
    EXPECT_EQ(r["usage"]["prompt_tokens"], g["prompt_ids"].size());
    EXPECT_EQ(r["usage"]["completion_tokens"], 16);
    EXPECT_EQ(r["object"], "text_completion");
  }
}

TEST_F(GenerationApiTest, SameGreedyOutputAloneAndAmongSixteenConcurrent) {
  const auto golden = Golden();
  std::vector<std::future<json>> others;
  for (int i = 0; i < 16; ++i) {
    const std::string prompt = golden[i % golden.size()]["prompt"];
    others.push_back(std::async(std::launch::async, [prompt, i] {
      json body = GreedyCompletion(prompt, 24 + i);
      return PostOk(port(), "/v1/completions", body);
    }));
  }
  const json mine = PostOk(port(), "/v1/completions", GreedyCompletion(golden[0]["prompt"]));
  for (size_t i = 0; i < others.size(); ++i) {
    const json r = others[i].get();
    const std::string text = r["choices"][0]["text"];
    const std::string want = golden[i % golden.size()]["gen_text"];
    EXPECT_EQ(text.substr(0, want.size()), want) << "request " << i;
  }
  EXPECT_EQ(mine["choices"][0]["text"], golden[0]["gen_text"]);
}

TEST_F(GenerationApiTest, StreamingCarriesTheSameTextAsOpenAIChunks) {
  const json g = Golden()[0];
  json body = GreedyCompletion(g["prompt"]);
  body["stream"] = true;
  body["stream_options"] = {{"include_usage", true}};
  auto res = Client(port()).Post("/v1/completions", body.dump(), "application/json");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  EXPECT_EQ(res->get_header_value("Content-Type"), "text/event-stream");
  const auto events = SseData(res->body);
  ASSERT_GE(events.size(), 3u);
  EXPECT_EQ(events.back(), "[DONE]");
  std::string text;
  std::string finish;
  for (size_t i = 0; i + 2 < events.size(); ++i) {
    const json chunk = json::parse(events[i]);
    EXPECT_EQ(chunk["object"], "text_completion");
    EXPECT_TRUE(chunk["usage"].is_null());
    text += chunk["choices"][0]["text"].get<std::string>();
    if (!chunk["choices"][0]["finish_reason"].is_null()) finish = chunk["choices"][0]["finish_reason"];
  }
  EXPECT_EQ(text, g["gen_text"]);
  EXPECT_EQ(finish, "length");
  const json usage = json::parse(events[events.size() - 2]);
  EXPECT_TRUE(usage["choices"].empty());
  EXPECT_EQ(usage["usage"]["completion_tokens"], 16);
}

TEST_F(GenerationApiTest, ChatStreamsRoleFirstThenContentThenFinish) {
  json body = {{"model", "llama"},
               {"messages", {{{"role", "system"}, {"content", "You are terse."}}, {{"role", "user"}, {"content", "Hi"}}}},
               {"max_tokens", 8}, {"temperature", 0}, {"stream", true}};
  auto res = Client(port()).Post("/v1/chat/completions", body.dump(), "application/json");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  const auto events = SseData(res->body);
  ASSERT_GE(events.size(), 3u);
  const json first = json::parse(events[0]);
  EXPECT_EQ(first["object"], "chat.completion.chunk");
  EXPECT_EQ(first["choices"][0]["delta"]["role"], "assistant");
  EXPECT_EQ(events.back(), "[DONE]");
  const json last = json::parse(events[events.size() - 2]);
  EXPECT_FALSE(last["choices"][0]["finish_reason"].is_null());
  // The same conversation without streaming gives the same content.
  body.erase("stream");
  const json whole = PostOk(port(), "/v1/chat/completions", body);
  std::string streamed;
  for (size_t i = 1; i + 1 < events.size(); ++i) {
    const json c = json::parse(events[i]);
    if (c["choices"][0]["delta"].contains("content")) streamed += c["choices"][0]["delta"]["content"].get<std::string>();
  }
  EXPECT_EQ(streamed, whole["choices"][0]["message"]["content"]);
  EXPECT_EQ(whole["choices"][0]["message"]["role"], "assistant");
}

TEST_F(GenerationApiTest, ChatPromptIsTheTemplateRenderingAndTypedSpecialTokensStayText) {
  // Zephyr-style template of the reference model: "<|user|>\n" + content + eos.
  const json r = PostOk(port(), "/tokenize",
                        {{"model", "llama"}, {"messages", {{{"role", "user"}, {"content", "say </s> please"}}}}});
  const json plain = PostOk(port(), "/tokenize", {{"model", "llama"}, {"prompt", "say </s> please"},
                                                  {"add_special_tokens", false}});
  // Typed inside the message, "</s>" is not token 2; the template's own eos is.
  int eos_count = 0;
  for (const auto& id : r["tokens"]) eos_count += id == 2;
  EXPECT_EQ(eos_count, 1) << r["tokens"];
  int eos_in_plain = 0;
  for (const auto& id : plain["tokens"]) eos_in_plain += id == 2;
  EXPECT_EQ(eos_in_plain, 1) << "a completion prompt reads special tokens as HF does";
}

TEST_F(GenerationApiTest, PromptBeyondTheContextIsRefusedWithTheCounts) {
  auto res = Client(port()).Post("/v1/completions", GreedyCompletion("Hello world", 2047).dump(), "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 400);
  const json e = json::parse(res->body);
  const std::string message = e["error"]["message"];
  EXPECT_NE(message.find("2048"), std::string::npos) << message;
  EXPECT_NE(message.find("2047"), std::string::npos) << message;
}

TEST_F(GenerationApiTest, BadRequestsGetOpenAIErrors) {
  const std::vector<std::pair<json, std::string>> cases = {
      {{{"model", "llama"}}, "prompt"},
      {{{"model", "llama"}, {"prompt", "x"}, {"temperature", 3}}, "temperature"},
      {{{"model", "llama"}, {"prompt", "x"}, {"n", 0}}, "is 0; it must be between 1 and 16"},
      {{{"model", "llama"}, {"prompt", "x"}, {"stop", {"a", "b", "c", "d", "e"}}}, "stop"},
      {{{"model", "llama"}, {"prompt", "x"}, {"logit_bias", {{"99999", 1}}}}, "logit_bias"},
      {{{"model", "llama"}, {"prompt", {1, -5}}}, "token ids"},
  };
  for (const auto& [body, part] : cases) {
    auto res = Client(port()).Post("/v1/completions", body.dump(), "application/json");
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 400) << body.dump() << " " << res->body;
    EXPECT_NE(res->body.find(part), std::string::npos) << res->body;
  }
  auto embed = Client(port()).Post("/v1/embeddings", json({{"model", "llama"}, {"input", "x"}}).dump(), "application/json");
  ASSERT_TRUE(embed);
  EXPECT_EQ(embed->status, 400);
  EXPECT_NE(embed->body.find("generates text"), std::string::npos) << embed->body;
}

TEST_F(GenerationApiTest, StopStringsEndTheOutputAndAreNotEmitted) {
  const json g = Golden()[0];
  const std::string full = g["gen_text"];
  const std::string stop = full.substr(full.size() / 2, 3);
  json body = GreedyCompletion(g["prompt"]);
  body["stop"] = stop;
  const json r = PostOk(port(), "/v1/completions", body);
  const std::string text = r["choices"][0]["text"];
  EXPECT_EQ(text, full.substr(0, full.find(stop)));
  EXPECT_EQ(r["choices"][0]["finish_reason"], "stop");
}

TEST_F(GenerationApiTest, SeededSamplingIsReproducible) {
  json body = {{"model", "llama"}, {"prompt", "Once upon a time"}, {"max_tokens", 12}, {"temperature", 0.9},
               {"top_p", 0.95}, {"seed", 1234}, {"n", 2}};
  const json a = PostOk(port(), "/v1/completions", body);
  const json b = PostOk(port(), "/v1/completions", body);
  ASSERT_EQ(a["choices"].size(), 2u);
  EXPECT_EQ(a["choices"][0]["text"], b["choices"][0]["text"]);
  EXPECT_EQ(a["choices"][1]["text"], b["choices"][1]["text"]);
}

TEST_F(GenerationApiTest, RepeatedPromptHitsThePrefixCache) {
  std::string system(400, ' ');
  for (size_t i = 0; i < system.size(); i += 8) system.replace(i, 8, "policy. ");
  const auto hits = [&] { return Metric(port(), "mmserve_prefix_cache_queries_total", {{"result", "hit"}}); };
  const auto computed = [&] { return Metric(port(), "mmserve_prompt_tokens_computed_total"); };
  PostOk(port(), "/v1/completions", GreedyCompletion(system + " first question", 2));
  const double hits_before = hits(), computed_before = computed();
  const json r = PostOk(port(), "/v1/completions", GreedyCompletion(system + " second question", 2));
  const double prompt_tokens = r["usage"]["prompt_tokens"];
  EXPECT_GT(hits(), hits_before);
  EXPECT_LT(computed() - computed_before, prompt_tokens / 2) << "most of the prompt came from the cache";
}

TEST_F(GenerationApiTest, JsonSchemaOutputParsesAndValidates) {
  const json schema = {{"type", "object"},
                       {"properties", {{"name", {{"type", "string"}, {"maxLength", 8}}},
                                       {"age", {{"type", "integer"}}},
                                       {"kind", {{"enum", {"cat", "dog"}}}}}},
                       {"required", {"name", "age", "kind"}}};
  for (int seed = 0; seed < 4; ++seed) {
    json body = {{"model", "llama"}, {"messages", {{{"role", "user"}, {"content", "Describe a pet as JSON"}}}},
                 {"max_tokens", 200}, {"temperature", 0.8}, {"seed", seed},
                 {"response_format", {{"type", "json_schema"}, {"json_schema", {{"name", "pet"}, {"schema", schema}}}}}};
    const json r = PostOk(port(), "/v1/chat/completions", body);
    if (r["choices"][0]["finish_reason"] != "stop") continue;
    const json out = json::parse(r["choices"][0]["message"]["content"].get<std::string>());
    ASSERT_TRUE(out.is_object());
    EXPECT_TRUE(out["name"].is_string());
    // maxLength counts characters (code points), not bytes.
    const std::string name = out["name"];
    EXPECT_LE(std::count_if(name.begin(), name.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }),
              8);
    EXPECT_TRUE(out["age"].is_number_integer());
    EXPECT_TRUE(out["kind"] == "cat" || out["kind"] == "dog");
    EXPECT_EQ(out.size(), 3u);
  }
}

TEST_F(GenerationApiTest, KServeGenerateAnswersAsTriton) {
  const json g = Golden()[1];
  const json r = PostOk(port(), "/v2/models/llama/generate",
                        {{"text_input", g["prompt"]}, {"parameters", {{"max_tokens", 16}, {"temperature", 0},
                                                                       {"ignore_eos", true}}}});
  EXPECT_EQ(r["model_name"], "llama");
  EXPECT_EQ(r["text_output"], g["gen_text"]);
  auto res = Client(port()).Post("/v2/models/llama/generate_stream",
                                 json({{"text_input", g["prompt"]}, {"max_tokens", 16}, {"temperature", 0},
                                       {"ignore_eos", true}}).dump(),
                                 "application/json");
  ASSERT_TRUE(res);
  std::string text;
  for (const auto& e : SseData(res->body)) text += json::parse(e)["text_output"].get<std::string>();
  EXPECT_EQ(text, g["gen_text"]);
  const json meta = json::parse(Client(port()).Get("/v2/models/llama")->body);
  EXPECT_EQ(meta["platform"], "mmserve_llama");
  EXPECT_EQ(meta["inputs"][0]["name"], "text_input");
}

TEST_F(GenerationApiTest, ModelsListTheContextLength) {
  const json list = json::parse(Client(port()).Get("/v1/models")->body);
  ASSERT_EQ(list["data"].size(), 1u);
  EXPECT_EQ(list["data"][0]["max_model_len"], 2048);
}

TEST_F(GenerationApiTest, MetricsCountTokensAndTimeToFirstToken) {
  PostOk(port(), "/v1/completions", GreedyCompletion("Count me", 4));
  const auto samples = Scrape(port());
  EXPECT_GT(PromValue(samples, "mmserve_generated_tokens_total").value_or(0), 0);
  EXPECT_GT(PromValue(samples, "mmserve_time_to_first_token_seconds_count").value_or(0), 0);
  EXPECT_GT(PromValue(samples, "mmserve_inter_token_latency_seconds_count").value_or(0), 0);
  EXPECT_TRUE(PromValue(samples, "mmserve_kv_cache_blocks").has_value());
  const std::string log = server_->Log();
  EXPECT_NE(log.find("\"completion_tokens\""), std::string::npos);
  EXPECT_NE(log.find("\"time_to_first_token_ms\""), std::string::npos);
}

// A streaming client that goes away stops its sequence and frees its blocks.
TEST_F(GenerationApiTest, DisconnectedStreamFreesItsBlocks) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port()));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  const std::string body = json({{"model", "llama"}, {"prompt", "A long story:"}, {"max_tokens", 1900},
                                 {"ignore_eos", true}, {"stream", true}}).dump();
  const std::string request = "POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                              "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  ASSERT_EQ(write(fd, request.data(), request.size()), static_cast<ssize_t>(request.size()));
  // Read until the first token's event: the sequence is running then.
  std::string received;
  char buf[4096];
  while (received.find("data: ") == std::string::npos) {
    const ssize_t n = read(fd, buf, sizeof buf);
    ASSERT_GT(n, 0);
    received.append(buf, static_cast<size_t>(n));
  }
  // The engine publishes its counts after each step: poll until the step that produced
  // the first token has been published.
  const auto started = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (Metric(port(), "mmserve_sequences_running") != 1 && std::chrono::steady_clock::now() < started) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_EQ(Metric(port(), "mmserve_sequences_running"), 1);
  close(fd);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (Metric(port(), "mmserve_sequences_running") != 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(Metric(port(), "mmserve_sequences_running"), 0);
  EXPECT_EQ(Metric(port(), "mmserve_kv_cache_blocks_used"), 0);
  EXPECT_LT(Metric(port(), "mmserve_generated_tokens_total"), 1e6);
}

// Every request of a burst finishes under a KV budget too small for all at once, with
// greedy outputs unchanged: sequences are preempted and recomputed, never failed.
TEST(GenerationPreemptionTest, ABurstFinishesUnderATinyKvBudgetWithUnchangedOutputs) {
  LlamaRepository repo(R"(parameters { key: "kv_cache_blocks" value: { string_value: "24" } }
parameters { key: "block_tokens" value: { string_value: "16" } })");
  ServerProcess server({"--threads", "1"}, repo.root());
  const auto golden = Golden();
  std::vector<std::future<json>> burst;
  for (int i = 0; i < 12; ++i) {
    const std::string prompt = golden[i % golden.size()]["prompt"];
    burst.push_back(std::async(std::launch::async, [prompt, &server] {
      return PostOk(server.port(), "/v1/completions", GreedyCompletion(prompt, 100));
    }));
  }
  for (size_t i = 0; i < burst.size(); ++i) {
    const json r = burst[i].get();
    ASSERT_TRUE(r.contains("choices")) << r.dump();
    const std::string text = r["choices"][0]["text"];
    const std::string want = golden[i % golden.size()]["gen_text"];
    EXPECT_EQ(text.substr(0, want.size()), want) << "request " << i;
    EXPECT_EQ(r["usage"]["completion_tokens"], 100);
  }
  EXPECT_GT(Metric(server.port(), "mmserve_preemptions_total"), 0);
}

TEST(GenerationNoTemplateTest, ChatWithoutATemplateIsRefusedAndCompletionsWork) {
  LlamaRepository repo("", false);
  ServerProcess server({"--threads", "1"}, repo.root());
  auto res = Client(server.port()).Post(
      "/v1/chat/completions", json({{"model", "llama"}, {"messages", {{{"role", "user"}, {"content", "Hi"}}}}}).dump(),
      "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 400);
  EXPECT_NE(res->body.find("no chat template"), std::string::npos) << res->body;
  PostOk(server.port(), "/v1/completions", GreedyCompletion("Hello", 2));
}

}  // namespace
}  // namespace mms::testing
