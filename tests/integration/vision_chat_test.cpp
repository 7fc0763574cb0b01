// Vision-language chat through the real server on the reference tiny LLaVA-1.5
// (tests/data/llava-reference): the golden image sent as a PNG data URL (and fetched over
// http from a loopback server, and read from the image folder) gives the reference's
// prompt ids and its 16 greedy tokens; a second turn on the same image encodes nothing and
// reuses the prefilled prompt; and every refusal of an image part is a 4xx that says which
// part and why.
#include <gtest/gtest.h>
#include <httplib.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "../prometheus_text.h"
#include "base/base64.h"
#include "base/file_util.h"
#include "process.h"
#include "test_support.h"

namespace mms::testing {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

const std::string kLlava = "tests/data/llava-reference/";

json Reference() { return json::parse(ReadFileBytes(SourcePath(kLlava + "golden/reference.json"))); }
std::string ImagePng() { return ReadFileBytes(SourcePath(kLlava + "golden/image.png")); }
std::string DataUrl(const std::string& png) { return "data:image/png;base64," + Base64Encode(png); }

// A repository with the reference LLaVA as "llava" and the reference LLaMA as "llama"
// (text only), files symlinked; an image folder beside it. Removed at the end.
class VisionRepository {
 public:
  VisionRepository() {
    root_ = fs::temp_directory_path() / ("mms-llava-" + std::to_string(getpid()) + "-" + std::to_string(counter_++));
    for (const auto& [name, dir] : {std::pair{"llava", kLlava + "model"}, {"llama", "tests/data/llama-reference/model"}}) {
      const fs::path version = root_ / "models" / name / "1";
      fs::create_directories(version);
      for (const auto& entry : fs::directory_iterator(SourcePath(dir))) {
        fs::create_symlink(entry.path(), version / entry.path().filename());
      }
    }
    fs::create_directories(root_ / "images");
    std::ofstream(root_ / "images" / "photo.png", std::ios::binary) << ImagePng();
  }
  ~VisionRepository() {
    std::error_code ec;
    fs::remove_all(root_, ec);
  }
  std::string models() const { return (root_ / "models").string(); }
  std::string images() const { return (root_ / "images").string(); }

 private:
  fs::path root_;
  static inline int counter_ = 0;
};

httplib::Client Client(int port) {
  httplib::Client c("127.0.0.1", port);
  c.set_read_timeout(120, 0);
  return c;
}

httplib::Result Post(int port, const std::string& path, const json& body) {
  return Client(port).Post(path, body.dump(), "application/json");
}

json PostOk(int port, const std::string& path, const json& body) {
  auto res = Post(port, path, body);
  EXPECT_TRUE(res) << path;
  if (!res) return {};
  EXPECT_EQ(res->status, 200) << res->body;
  return json::parse(res->body);
}

// The status and error message of a refused request.
std::pair<int, std::string> Refusal(int port, const std::string& path, const json& body) {
  auto res = Post(port, path, body);
  if (!res) return {-1, "no response"};
  std::string message = res->body;
  try {
    message = json::parse(res->body)["error"]["message"];
  } catch (const std::exception&) {
  }
  return {res->status, message};
}

double Metric(int port, const std::string& name, const std::map<std::string, std::string>& labels) {
  auto res = Client(port).Get("/metrics");
  EXPECT_TRUE(res && res->status == 200);
  return res ? PromValue(ParsePromSamples(res->body), name, labels).value_or(-1) : -1;
}

json ImagePart(const std::string& url) { return {{"type", "image_url"}, {"image_url", {{"url", url}}}}; }
json TextPart(const std::string& text) { return {{"type", "text"}, {"text", text}}; }

json Chat(const std::string& model, const json& messages, int max_tokens = 16) {
  return {{"model", model}, {"messages", messages}, {"max_tokens", max_tokens}, {"temperature", 0}, {"ignore_eos", true}};
}

json QuestionAbout(const std::string& url) {
  return json::array({{{"role", "user"}, {"content", {ImagePart(url), TextPart("What is in this image?")}}}});
}

// Two servers on the same repository: one with the models' own chat templates
// (llava-hf's), one with the reference's original LLaVA format; both fetch http images
// only from 127.0.0.1 (private addresses allowed for the test) and read files from the
// image folder.
class VisionChatTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    repo_ = new VisionRepository();
    const std::vector<std::string> common = {"--threads", "1", "--max-images", "3", "--image-folder", repo_->images(),
                                             "--image-url-allowed-hosts", "127.0.0.1", "--image-url-allow-private"};
    own_template_ = new ServerProcess(common, repo_->models());
    std::vector<std::string> original = common;
    original.insert(original.end(), {"--chat-template", SourcePath(kLlava + "original_llava_chat.jinja")});
    original_format_ = new ServerProcess(original, repo_->models());
  }
  static void TearDownTestSuite() {
    delete own_template_;
    delete original_format_;
    delete repo_;
  }
  static int own() { return own_template_->port(); }
  static int original() { return original_format_->port(); }
  static VisionRepository* repo_;
  static ServerProcess* own_template_;
  static ServerProcess* original_format_;
};
VisionRepository* VisionChatTest::repo_ = nullptr;
ServerProcess* VisionChatTest::own_template_ = nullptr;
ServerProcess* VisionChatTest::original_format_ = nullptr;

std::vector<int32_t> ExpectedPromptIds() {
  const json ref = Reference();
  std::vector<int32_t> ids = ref["prefix_ids"];
  ids.insert(ids.end(), ref["n_image_pos"].get<size_t>(), 32000);
  for (int32_t id : ref["suffix_ids"]) ids.push_back(id);
  return ids;
}

std::string ExpectedAnswer(int port) {
  return PostOk(port, "/detokenize", {{"model", "llava"}, {"tokens", Reference()["gen_ids"]}})["prompt"];
}

TEST_F(VisionChatTest, PromptIdsAreTheReferencesWithTheImagePositions) {
  const json r = PostOk(original(), "/tokenize", {{"model", "llava"}, {"messages", QuestionAbout(DataUrl(ImagePng()))}});
  EXPECT_EQ(r["tokens"].get<std::vector<int32_t>>(), ExpectedPromptIds());
}

TEST_F(VisionChatTest, GreedyAnswerIsTheReferencesForADataUrl) {
  const json r = PostOk(original(), "/v1/chat/completions", Chat("llava", QuestionAbout(DataUrl(ImagePng()))));
  EXPECT_EQ(r["choices"][0]["message"]["content"], ExpectedAnswer(original()));
  EXPECT_EQ(r["usage"]["prompt_tokens"], ExpectedPromptIds().size());
  EXPECT_EQ(r["usage"]["completion_tokens"], 16);
}

TEST_F(VisionChatTest, StreamedAnswerIsTheSame) {
  json body = Chat("llava", QuestionAbout(DataUrl(ImagePng())));
  body["stream"] = true;
  auto res = Post(original(), "/v1/chat/completions", body);
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  std::string text;
  size_t at = 0;
  while ((at = res->body.find("data: {", at)) != std::string::npos) {
    const size_t end = res->body.find("\n\n", at);
    const json chunk = json::parse(res->body.substr(at + 6, end - at - 6));
    const json& delta = chunk["choices"][0]["delta"];
    if (delta.contains("content") && delta["content"].is_string()) text += delta["content"].get<std::string>();
    at = end;
  }
  EXPECT_EQ(text, ExpectedAnswer(original()));
}

TEST_F(VisionChatTest, HttpAndFileSourcesGiveTheSameAnswer) {
  httplib::Server images;
  const std::string png = ImagePng();
  images.Get("/photo.png", [&](const httplib::Request&, httplib::Response& res) { res.set_content(png, "image/png"); });
  const int port = images.bind_to_any_port("127.0.0.1");
  std::thread serve([&] { images.listen_after_bind(); });
  while (!images.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  const std::string want = ExpectedAnswer(original());
  const json http = PostOk(original(), "/v1/chat/completions",
                           Chat("llava", QuestionAbout("http://127.0.0.1:" + std::to_string(port) + "/photo.png")));
  EXPECT_EQ(http["choices"][0]["message"]["content"], want);
  const json file = PostOk(original(), "/v1/chat/completions",
                           Chat("llava", QuestionAbout("file://" + repo_->images() + "/photo.png")));
  EXPECT_EQ(file["choices"][0]["message"]["content"], want);
  images.stop();
  serve.join();
}

// The second turn of a conversation about the same image: its features come from the
// cache (nothing encoded) and the prefilled first turn from the prefix cache.
TEST_F(VisionChatTest, SecondTurnOnTheSameImageEncodesNothingAndReusesThePrefix) {
  std::string png = ImagePng();
  png.append("second-turn");  // bytes after PNG's IEND: the same picture, a new cache key
  const json first_turn = QuestionAbout(DataUrl(png));
  const json first = PostOk(own(), "/v1/chat/completions", Chat("llava", first_turn, 8));
  const std::map<std::string, std::string> encoded = {{"model", "llava"}, {"source", "encoded"}};
  const std::map<std::string, std::string> cached = {{"model", "llava"}, {"source", "cache"}};
  const std::map<std::string, std::string> hits = {{"model", "llava"}, {"result", "hit"}};
  const double encoded_before = Metric(own(), "mmserve_image_features_total", encoded);
  const double cached_before = Metric(own(), "mmserve_image_features_total", cached);
  const double hits_before = Metric(own(), "mmserve_prefix_cache_queries_total", hits);
  json second_turn = first_turn;
  second_turn.push_back({{"role", "assistant"}, {"content", first["choices"][0]["message"]["content"]}});
  second_turn.push_back({{"role", "user"}, {"content", "And what colour is it?"}});
  PostOk(own(), "/v1/chat/completions", Chat("llava", second_turn, 8));
  EXPECT_EQ(Metric(own(), "mmserve_image_features_total", encoded), encoded_before);
  EXPECT_EQ(Metric(own(), "mmserve_image_features_total", cached), cached_before + 1);
  // Every full 16-position block of the first turn's prompt (its last token aside, whose
  // block may end differently once the answer follows) is found in the prefix cache.
  const int full_blocks = (first["usage"]["prompt_tokens"].get<int>() - 1) / 16;
  EXPECT_GE(full_blocks, 3);
  EXPECT_GE(Metric(own(), "mmserve_prefix_cache_queries_total", hits), hits_before + full_blocks);

  // The same words about another picture share no block: the image positions' keys carry
  // the image's content hash, so no block of the first image's prefill is reused for it.
  const double hits_now = Metric(own(), "mmserve_prefix_cache_queries_total", hits);
  const std::string other = ReadFileBytes(SourcePath("tests/data/clip-reference/images/camera.png"));
  PostOk(own(), "/v1/chat/completions", Chat("llava", QuestionAbout(DataUrl(other)), 2));
  EXPECT_EQ(Metric(own(), "mmserve_prefix_cache_queries_total", hits), hits_now);
}

TEST_F(VisionChatTest, ModelsSayWhichTakeImages) {
  auto res = Client(own()).Get("/v1/models");
  ASSERT_TRUE(res && res->status == 200);
  const json list = json::parse(res->body);  // held: a range over a temporary's member would dangle
  ASSERT_EQ(list["data"].size(), 2u);
  for (const json& m : list["data"]) {
    const auto caps = m["capabilities"].get<std::vector<std::string>>();
    const bool vision = std::find(caps.begin(), caps.end(), "vision") != caps.end();
    EXPECT_EQ(vision, m["id"] == "llava") << m.dump();
  }
}

TEST_F(VisionChatTest, LlavaHfTemplateGetsContentAsPartsAndOneImageBlock) {
  const json r = PostOk(own(), "/tokenize", {{"model", "llava"}, {"messages", QuestionAbout(DataUrl(ImagePng()))}});
  const auto ids = r["tokens"].get<std::vector<int32_t>>();
  const auto first = std::find(ids.begin(), ids.end(), 32000);
  ASSERT_NE(first, ids.end());
  EXPECT_EQ(std::count(ids.begin(), ids.end(), 32000), 49);
  EXPECT_TRUE(std::all_of(first, first + 49, [](int32_t id) { return id == 32000; }));
  // A plain-string message is one text part for this template.
  const json text_only = PostOk(own(), "/tokenize",
                                {{"model", "llava"}, {"messages", {{{"role", "user"}, {"content", "Hello"}}}}});
  EXPECT_GT(text_only["count"].get<int>(), 2);
}

// Several images in one message and across a conversation: each gets its own block of 49
// positions, in order, and the answer is given.
TEST_F(VisionChatTest, SeveralImagesPerMessageAndConversation) {
  const std::string a = DataUrl(ImagePng());
  const std::string b = DataUrl(ReadFileBytes(SourcePath("tests/data/clip-reference/images/camera.png")));
  const json messages = {{{"role", "user"}, {"content", {ImagePart(a), ImagePart(b), TextPart("Compare them.")}}},
                         {{"role", "assistant"}, {"content", "They differ."}},
                         {{"role", "user"}, {"content", {TextPart("And this one?"), ImagePart(a)}}}};
  const json r = PostOk(own(), "/tokenize", {{"model", "llava"}, {"messages", messages}});
  const auto ids = r["tokens"].get<std::vector<int32_t>>();
  EXPECT_EQ(std::count(ids.begin(), ids.end(), 32000), 3 * 49);
  const json answer = PostOk(own(), "/v1/chat/completions", Chat("llava", messages, 4));
  EXPECT_EQ(answer["usage"]["prompt_tokens"], ids.size());
}

// The model's logits have 32064 rows, its tokenizer 32002 ids: the rest are never sampled
// and cannot be named.
TEST_F(VisionChatTest, IdsBeyondTheTokenizerAreNotTheModels) {
  json body = Chat("llava", QuestionAbout(DataUrl(ImagePng())), 2);
  body["logit_bias"] = {{"32050", 100}};
  const auto [status, message] = Refusal(own(), "/v1/chat/completions", body);
  EXPECT_EQ(status, 400);
  EXPECT_NE(message.find("32002 tokens"), std::string::npos) << message;
}

// "<image>" typed by the user is text, not an image placeholder.
TEST_F(VisionChatTest, TypedImageTokenStaysText) {
  const json messages = {{{"role", "user"}, {"content", {TextPart("what does <image> mean?")}}}};
  const json r = PostOk(own(), "/tokenize", {{"model", "llava"}, {"messages", messages}});
  const auto ids = r["tokens"].get<std::vector<int32_t>>();
  EXPECT_EQ(std::count(ids.begin(), ids.end(), 32000), 0);
  PostOk(own(), "/v1/chat/completions", Chat("llava", messages, 2));
}

// KServe's generate extension: the prompt written with its <image> placeholder, the image
// in "image"; the metadata lists that input. In the original LLaVA format the answer is the
// reference's.
TEST_F(VisionChatTest, KServeGenerateTakesImagesToo) {
  auto meta = Client(own()).Get("/v2/models/llava");
  ASSERT_TRUE(meta && meta->status == 200);
  bool has_image = false;
  const json metadata = json::parse(meta->body);
  for (const json& input : metadata["inputs"]) has_image |= input["name"] == "image";
  EXPECT_TRUE(has_image) << meta->body;
  const std::string prompt =
      "<s>A chat between a curious human and an artificial intelligence assistant. The assistant gives helpful, "
      "detailed, and polite answers to the human's questions.\nUSER:<image>\nWhat is in this image?\nASSISTANT:";
  const json body = {{"text_input", prompt},
                     {"image", DataUrl(ImagePng())},
                     {"parameters", {{"max_tokens", 16}, {"temperature", 0}, {"ignore_eos", true},
                                     {"add_special_tokens", false}}}};
  const json r = PostOk(own(), "/v2/models/llava/generate", body);
  EXPECT_EQ(r["text_output"], ExpectedAnswer(own()));
  // Placeholders and images must match, in both directions.
  json none = body;
  none.erase("image");
  const auto [status, message] = Refusal(own(), "/v2/models/llava/generate", none);
  EXPECT_EQ(status, 400);
  EXPECT_NE(message.find("placeholder"), std::string::npos) << message;
  json two = body;
  two["image"] = {DataUrl(ImagePng()), DataUrl(ImagePng())};
  EXPECT_EQ(Refusal(own(), "/v2/models/llava/generate", two).first, 400);
  // A completion may not smuggle a placeholder without its image either.
  const auto [c_status, c_message] =
      Refusal(own(), "/v1/completions", {{"model", "llava"}, {"prompt", "look: <image>"}, {"max_tokens", 2}});
  EXPECT_EQ(c_status, 400);
  EXPECT_NE(c_message.find("placeholder"), std::string::npos) << c_message;
}

TEST_F(VisionChatTest, EveryRefusalSaysWhichPartAndWhy) {
  const std::string good = DataUrl(ImagePng());
  struct Case {
    std::string name;
    int port;
    json body;
    int status;
    std::string needle;
  };
  std::vector<Case> cases = {
      {"text-only model", own(), Chat("llama", QuestionAbout(good)), 400, "takes text only"},
      {"remote host not allowed", own(), Chat("llava", QuestionAbout("https://images.example.com/a.png")), 400,
       "messages[0].content[0]"},
      {"file outside the folder", own(), Chat("llava", QuestionAbout("file:///etc/passwd")), 400,
       "messages[0].content[0]"},
      {"not base64", own(), Chat("llava", QuestionAbout("data:image/png;base64,@@@")), 400, "base64"},
      {"not an image", own(), Chat("llava", QuestionAbout(DataUrl("plain text, not a picture"))), 415,
       "messages[0].content[0]"},
      {"no url", own(), Chat("llava", json::array({{{"role", "user"}, {"content", {{{"type", "image_url"}}}}}})), 400,
       "image_url"},
      {"too many images", own(),
       Chat("llava", json::array({{{"role", "user"},
                                   {"content", {ImagePart(good), ImagePart(good), ImagePart(good), ImagePart(good)}}}})),
       413, "images"},
      {"context", own(), Chat("llava", QuestionAbout(good), 4000), 400, "image positions"},
      {"image in an assistant message (the template drops it)", original(),
       Chat("llava", json::array({{{"role", "user"}, {"content", "hi"}},
                                  {{"role", "assistant"}, {"content", {ImagePart(good)}}},
                                  {{"role", "user"}, {"content", "and?"}}})),
       400, "placeholder"},
  };
  for (const Case& c : cases) {
    const auto [status, message] = Refusal(c.port, "/v1/chat/completions", c.body);
    EXPECT_EQ(status, c.status) << c.name << ": " << message;
    EXPECT_NE(message.find(c.needle), std::string::npos) << c.name << ": " << message;
  }
  // Still serving.
  PostOk(own(), "/v1/chat/completions", Chat("llava", QuestionAbout(good), 2));
}

}  // namespace
}  // namespace mms::testing
