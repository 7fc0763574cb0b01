// The speech routes through the real server on the reference tiny Whisper
// (tests/data/whisper-reference): the OpenAI audio API in every response format and every
// container the API accepts, KServe v2 inference with an AUDIO input (JSON and binary),
// the size limit (413) and every refusal in OpenAI's error shape, the audio metrics, and
// the model's KServe signature.
#include <gtest/gtest.h>
#include <httplib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "../prometheus_text.h"
#include "base/base64.h"
#include "base/file_util.h"
#include "process.h"
#include "test_support.h"

namespace mms::testing {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

std::string Audio(const std::string& rel) { return ReadFileBytes(SourcePath(rel)); }
const std::string kUtt1 = "tests/data/whisper-reference/audio/utt1.wav";

json Greedy() {
  return json::parse(ReadFileBytes(SourcePath("tests/data/whisper-reference/longform/transcribe_utt1_greedy.json")));
}

class AudioRepository {
 public:
  AudioRepository() {
    root_ = fs::temp_directory_path() / ("mms-whisper-" + std::to_string(getpid()));
    for (const auto& [name, dir] : {std::pair{"whisper", "tests/data/whisper-reference/model"},
                                    {"whisper_greedy", "tests/data/whisper-reference/model"},
                                    {"llama", "tests/data/llama-reference/model"}}) {
      const fs::path version = root_ / name / "1";
      fs::create_directories(version);
      for (const auto& entry : fs::directory_iterator(SourcePath(dir))) {
        fs::create_symlink(entry.path(), version / entry.path().filename());
      }
    }
    // The same checkpoint with plain greedy decoding as its own default.
    std::ofstream(root_ / "whisper_greedy" / "config.pbtxt")
        << R"(parameters { key: "temperature_increment_on_fallback" value: { string_value: "0" } })";
  }
  ~AudioRepository() {
    std::error_code ec;
    fs::remove_all(root_, ec);
  }
  std::string path() const { return root_.string(); }

 private:
  fs::path root_;
};

class AudioApiTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    repo_ = new AudioRepository();
    // 145,000 bytes of audio at most: utt1.wav (141,338) fits, utt3.wav (150,054) does not.
    server_ = new ServerProcess({"--threads", "1", "--max-audio-bytes", "145000"}, repo_->path());
  }
  static void TearDownTestSuite() {
    delete server_;
    delete repo_;
  }
  static httplib::Client Client() {
    httplib::Client c("127.0.0.1", server_->port());
    c.set_read_timeout(120, 0);
    return c;
  }
  // A transcription request with the greedy settings of the reference run, plus `extra`.
  static httplib::Result Transcribe(const std::string& file, const std::string& filename,
                                    httplib::MultipartFormDataItems extra = {},
                                    const std::string& route = "/v1/audio/transcriptions") {
    httplib::MultipartFormDataItems form = {{"file", file, filename, "application/octet-stream"},
                                            {"model", "whisper", "", ""},
                                            {"language", "en", "", ""},
                                            {"temperature", "0", "", ""},
                                            {"temperature_increment_on_fallback", "0", "", ""}};
    form.insert(form.end(), extra.begin(), extra.end());
    return Client().Post(route, form);
  }
  static std::pair<int, std::string> Refusal(const httplib::Result& res) {
    if (!res) return {-1, "no response"};
    try {
      const json j = json::parse(res->body);
      EXPECT_EQ(j["error"]["type"], res->status == 413 ? "invalid_request_error" : j["error"]["type"]);
      return {res->status, j["error"]["message"]};
    } catch (const std::exception&) {
      return {res->status, "not JSON: " + res->body};
    }
  }
  static AudioRepository* repo_;
  static ServerProcess* server_;
};
AudioRepository* AudioApiTest::repo_ = nullptr;
ServerProcess* AudioApiTest::server_ = nullptr;

TEST_F(AudioApiTest, EveryResponseFormat) {
  const json ref = Greedy();
  auto res = Transcribe(Audio(kUtt1), "utt1.wav");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  EXPECT_EQ(json::parse(res->body)["text"], ref["text"]);

  res = Transcribe(Audio(kUtt1), "utt1.wav", {{"response_format", "verbose_json", "", ""}});
  ASSERT_EQ(res->status, 200) << res->body;
  const json v = json::parse(res->body);
  EXPECT_EQ(v["language"], "english");
  EXPECT_EQ(v["task"], "transcribe");
  ASSERT_EQ(v["segments"].size(), ref["segments"].size());
  EXPECT_EQ(v["segments"][0]["tokens"], ref["segments"][0]["tokens"]);
  EXPECT_DOUBLE_EQ(v["segments"][0]["start"].get<double>(), ref["segments"][0]["start"].get<double>());

  res = Transcribe(Audio(kUtt1), "utt1.wav", {{"response_format", "text", "", ""}});
  EXPECT_EQ(res->body, ref["text"].get<std::string>() + "\n");
  EXPECT_EQ(res->get_header_value("Content-Type").rfind("text/plain", 0), 0u);
  res = Transcribe(Audio(kUtt1), "utt1.wav", {{"response_format", "srt", "", ""}});
  EXPECT_EQ(res->body.rfind("1\n00:00:", 0), 0u) << res->body;
  res = Transcribe(Audio(kUtt1), "utt1.wav", {{"response_format", "vtt", "", ""}});
  EXPECT_EQ(res->body.rfind("WEBVTT\n\n00:00:", 0), 0u) << res->body;
}

TEST_F(AudioApiTest, EveryContainerTheApiAccepts) {
  // The same utterance in each container: it decodes, and lossless FLAC transcribes exactly as the WAV.
  const json ref = Greedy();
  for (const char* f : {"utt1.flac", "utt1.mp3", "utt1.m4a", "utt1.ogg", "utt1.opus.oga", "utt1.webm", "utt1.mpeg"}) {
    auto res = Transcribe(Audio(std::string("tests/data/audio/") + f), f, {{"max_tokens_per_window", "8", "", ""}});
    ASSERT_TRUE(res) << f;
    EXPECT_EQ(res->status, 200) << f << ": " << res->body;
  }
  auto res = Transcribe(Audio("tests/data/audio/utt1.flac"), "utt1.flac");
  EXPECT_EQ(json::parse(res->body)["text"], ref["text"]);
}

TEST_F(AudioApiTest, RefusalsSayWhy) {
  auto [status, message] = Refusal(Transcribe("not audio at all, just text", "notes.mp3"));
  EXPECT_EQ(status, 400);
  EXPECT_NE(message.find("notes.mp3"), std::string::npos) << message;
  EXPECT_NE(message.find("wav"), std::string::npos) << message;  // names the supported formats

  std::tie(status, message) = Refusal(Transcribe(Audio("tests/data/audio/video_only.mp4"), "video.mp4"));
  EXPECT_EQ(status, 400) << message;

  std::tie(status, message) = Refusal(Transcribe(Audio("tests/data/whisper-reference/audio/utt3.wav"), "utt3.wav"));
  EXPECT_EQ(status, 413) << message;
  EXPECT_NE(message.find("145000"), std::string::npos) << message;
  // A body far over the limit is cut off while it arrives, also 413.
  auto big = Transcribe(Audio("tests/data/whisper-reference/longform/long.wav"), "long.wav");
  ASSERT_TRUE(big);
  EXPECT_EQ(big->status, 413);

  std::tie(status, message) = Refusal(Transcribe(Audio(kUtt1), "utt1.wav", {{"response_format", "xml", "", ""}}));
  EXPECT_EQ(status, 400);
  EXPECT_NE(message.find("response_format"), std::string::npos);

  std::tie(status, message) = Refusal(Transcribe(Audio(kUtt1), "utt1.wav", {{"language", "klingon", "", ""}}));
  EXPECT_EQ(status, 400);
  EXPECT_NE(message.find("klingon"), std::string::npos);

  std::tie(status, message) = Refusal(Transcribe(Audio(kUtt1), "utt1.wav",
                                                 {{"timestamp_granularities[]", "word", "", ""},
                                                  {"response_format", "verbose_json", "", ""}}));
  EXPECT_EQ(status, 400);
  EXPECT_NE(message.find("word"), std::string::npos);

  httplib::MultipartFormDataItems other_model = {{"file", Audio(kUtt1), "utt1.wav", ""}, {"model", "llama", "", ""}};
  std::tie(status, message) = Refusal(Client().Post("/v1/audio/transcriptions", other_model));
  EXPECT_EQ(status, 400);
  EXPECT_NE(message.find("does not transcribe"), std::string::npos) << message;

  std::tie(status, message) = Refusal(Client().Post("/v1/audio/transcriptions", "{}", "application/json"));
  EXPECT_EQ(status, 400);
  EXPECT_NE(message.find("multipart"), std::string::npos);

  // A completion asked of the speech model says where to go.
  auto res = Client().Post("/v1/completions", json{{"model", "whisper"}, {"prompt", "hi"}}.dump(), "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 400);
  EXPECT_NE(res->body.find("/v1/audio/transcriptions"), std::string::npos) << res->body;
}

TEST_F(AudioApiTest, ModelDefaultsFromConfigPbtxt) {
  // No fallback field in the request: the model's config.pbtxt turned fallback off, so the
  // answer is the greedy reference; the request's own field still overrides it.
  httplib::MultipartFormDataItems form = {{"file", Audio(kUtt1), "utt1.wav", ""}, {"model", "whisper_greedy", "", ""},
                                          {"language", "en", "", ""}};
  auto res = Client().Post("/v1/audio/transcriptions", form);
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  EXPECT_EQ(json::parse(res->body)["text"], Greedy()["text"]);
  const auto fallbacks = [] {
    auto m = Client().Get("/metrics");
    return PromValue(ParsePromSamples(m->body), "mmserve_audio_windows_total",
                     {{"model", "whisper_greedy"}, {"version", "1"}, {"kind", "fallback"}})
        .value_or(-1);
  };
  EXPECT_EQ(fallbacks(), 0);
  form.push_back({"temperature_increment_on_fallback", "0.2", "", ""});
  form.push_back({"seed", "3", "", ""});
  res = Client().Post("/v1/audio/transcriptions", form);
  ASSERT_EQ(res->status, 200) << res->body;
  // The random checkpoint's greedy text always asks for a fallback (log-probability -3.3).
  EXPECT_GT(fallbacks(), 0);
}

TEST_F(AudioApiTest, KServeAudioInput) {
  const json ref = Greedy();
  auto meta = Client().Get("/v2/models/whisper");
  ASSERT_TRUE(meta);
  const json m = json::parse(meta->body);
  EXPECT_EQ(m["inputs"][0]["name"], "AUDIO");
  EXPECT_EQ(m["outputs"][0]["name"], "TEXT");

  // parameters carry the language; the default fallback is on, so check the shape only.
  const json body = {{"id", "a1"},
                     {"inputs", {{{"name", "AUDIO"}, {"datatype", "BYTES"}, {"shape", {1}},
                                  {"data", {Base64Encode(Audio(kUtt1))}},
                                  {"parameters", {{"language", "en"}}}}}}};
  auto res = Client().Post("/v2/models/whisper/infer", body.dump(), "application/json");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  const json out = json::parse(res->body);
  EXPECT_EQ(out["id"], "a1");
  EXPECT_EQ(out["outputs"][0]["name"], "TEXT");
  EXPECT_TRUE(out["outputs"][0]["data"][0].is_string());
  EXPECT_TRUE(json::parse(out["outputs"][1]["data"][0].get<std::string>()).is_array());

  // The binary extension: the JSON header, then the file as one BYTES element.
  const std::string wav = Audio(kUtt1);
  const json header = {{"inputs", {{{"name", "AUDIO"}, {"datatype", "BYTES"}, {"shape", {1}},
                                    {"parameters", {{"binary_data_size", wav.size() + 4}}}}}}};
  std::string binary = header.dump();
  const size_t json_length = binary.size();
  const uint32_t n = static_cast<uint32_t>(wav.size());
  for (int i = 0; i < 4; ++i) binary.push_back(static_cast<char>((n >> (8 * i)) & 0xff));
  binary += wav;
  httplib::Headers headers = {{"Inference-Header-Content-Length", std::to_string(json_length)}};
  res = Client().Post("/v2/models/whisper/infer", headers, binary, "application/octet-stream");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;

  const json wrong = {{"inputs", {{{"name", "IMAGE"}, {"datatype", "BYTES"}, {"shape", {1}}, {"data", {"eA=="}}}}}};
  res = Client().Post("/v2/models/whisper/infer", wrong.dump(), "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 400);
  EXPECT_NE(res->body.find("AUDIO"), std::string::npos);
}

TEST_F(AudioApiTest, AudioMetrics) {
  ASSERT_EQ(Transcribe(Audio(kUtt1), "utt1.wav")->status, 200);
  auto res = Client().Get("/metrics");
  ASSERT_TRUE(res);
  const auto samples = ParsePromSamples(res->body);
  const std::map<std::string, std::string> model = {{"model", "whisper"}, {"version", "1"}};
  EXPECT_GE(PromValue(samples, "mmserve_audio_seconds_total", model).value_or(0), 70647.0 / 16000 - 1e-6);
  EXPECT_GT(PromValue(samples, "mmserve_audio_processing_seconds_total", model).value_or(0), 0);
  EXPECT_GT(PromValue(samples, "mmserve_audio_real_time_factor", model).value_or(0), 0);
  for (const char* stage : {"file_decode", "mel", "encoder", "decoder"}) {
    auto labels = model;
    labels["stage"] = stage;
    EXPECT_GT(PromValue(samples, "mmserve_audio_stage_seconds_total", labels).value_or(0), 0) << stage;
  }
  EXPECT_GE(PromValue(samples, "mmserve_audio_encoder_batches_total", model).value_or(0), 1);
}

}  // namespace
}  // namespace mms::testing
