// GenerativeServedModel as the repository loads it: the family registry picks it for a
// LLaMA folder, the chat template is found where transformers looks (chat_template.jinja,
// then chat_template.json, then tokenizer_config.json), end-of-sequence ids come from
// generation_config.json, config.pbtxt parameters are checked, and the health probe runs
// a real generation step.
#include "runtime/generative_served_model.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "base/error.h"
#include "template/chat_template.h"
#include "test_support.h"

namespace mms::runtime {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const nlohmann::json kHello = {{"messages", {{{"role", "user"}, {"content", "hello"}}}},
                               {"add_generation_prompt", true},
                               {"bos_token", "<s>"},
                               {"eos_token", "</s>"}};

// The reference LLaMA's files as links in a fresh folder, to which a test adds files.
class LlamaFolder {
 public:
  LlamaFolder() {
    static int n = 0;
    dir_ = fs::temp_directory_path() / ("mms-gen-served-" + std::to_string(getpid()) + "-" + std::to_string(n++));
    fs::create_directories(dir_);
    for (const auto& e : fs::directory_iterator(testing::SourcePath("tests/data/llama-reference/model"))) {
      fs::create_symlink(e.path(), dir_ / e.path().filename());
    }
  }
  ~LlamaFolder() {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  void Write(const std::string& name, const std::string& text) {
    fs::remove(dir_ / name);
    std::ofstream(dir_ / name) << text;
  }
  std::string dir() const { return dir_.string(); }

 private:
  fs::path dir_;
};

std::shared_ptr<ServedModel> Load(const std::string& dir, io::ModelConfig config = {}) {
  ServingDefaults defaults;
  defaults.clip.threads = 1;
  defaults.generation.kv_cache_bytes = 4 << 20;
  return ServedModel::Load("llama", 1, dir, config, defaults);
}

TEST(GenerativeServedModelTest, TheRegistryServesALlamaFolderAsAGenerator) {
  LlamaFolder folder;
  const auto model = Load(folder.dir());
  EXPECT_STREQ(model->family(), "llama");
  EXPECT_EQ(model->scheduling(), models::SchedulingKind::kGeneration);
  EXPECT_EQ(model->AsClip(), nullptr);
  ASSERT_NE(model->AsGenerator(), nullptr);
  EXPECT_EQ(model->AsGenerator()->context_length(), 2048);
  EXPECT_EQ(model->AsGenerator()->eos_token_ids(), std::vector<int32_t>{2});
  EXPECT_EQ(model->AsGenerator()->default_sampling().temperature, 0.0f);  // do_sample false: greedy
  // The tokenizer_config.json template (Zephyr style) when the folder has no other.
  EXPECT_EQ(model->AsGenerator()->chat_template()->Render(kHello), "<|user|>\nhello</s>\n<|assistant|>\n");
  EXPECT_EQ(model->Probe(std::chrono::milliseconds(10000)).outcome, ServedModel::ProbeOutcome::kHealthy);
}

TEST(GenerativeServedModelTest, ChatTemplateFilesComeFirstAsInTransformers) {
  LlamaFolder folder;
  folder.Write("chat_template.json", json({{"chat_template", "json:{{ messages[0].content }}"}}).dump());
  EXPECT_EQ(Load(folder.dir())->AsGenerator()->chat_template()->Render(kHello), "json:hello");
  folder.Write("chat_template.jinja", "jinja:{{ messages[0].content }}");
  EXPECT_EQ(Load(folder.dir())->AsGenerator()->chat_template()->Render(kHello), "jinja:hello");
}

TEST(GenerativeServedModelTest, EveryEndOfSequenceIdOfGenerationConfigCounts) {
  LlamaFolder folder;
  folder.Write("generation_config.json", R"({"eos_token_id": [2, 7], "do_sample": true, "temperature": 0.6, "top_p": 0.9})");
  const auto model = Load(folder.dir());
  EXPECT_EQ(model->AsGenerator()->eos_token_ids(), (std::vector<int32_t>{2, 7}));
  EXPECT_FLOAT_EQ(model->AsGenerator()->default_sampling().temperature, 0.6f);
  EXPECT_FLOAT_EQ(model->AsGenerator()->default_sampling().top_p, 0.9f);
}

TEST(GenerativeServedModelTest, BadFilesAndParametersAreRefusedNamingThem) {
  LlamaFolder folder;
  io::ModelConfig config;
  config.parameters["kv_cache_mb"] = "lots";
  try {
    Load(folder.dir(), config);
    FAIL() << "loaded with kv_cache_mb=lots";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidModel);
    EXPECT_NE(std::string(e.what()).find("kv_cache_mb"), std::string::npos) << e.what();
  }
  folder.Write("chat_template.jinja", "{% for m in messages %}{{ m.content }");
  try {
    Load(folder.dir());
    FAIL() << "loaded a broken chat template";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("chat_template.jinja"), std::string::npos) << e.what();
  }
  fs::remove(folder.dir() + "/chat_template.jinja");
  folder.Write("generation_config.json", R"({"eos_token_id": "two"})");
  EXPECT_THROW(Load(folder.dir()), Error);
}

}  // namespace
}  // namespace mms::runtime
