// Model files are input: a config.json or a checkpoint made to break the loader is
// refused with an error naming the file and the field or tensor, never loaded.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "base/error.h"
#include "io/safetensors.h"
#include "models/clip/clip_config.h"
#include "models/clip/clip_model.h"
#include "test_support.h"

namespace mms::models {
namespace {

namespace fs = std::filesystem;

constexpr char kTokenEmbedding[] = "text_model.embeddings.token_embedding.weight";

class ModelFileLimitsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("mms_limits_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    for (const auto& e : fs::directory_iterator(testing::TinyClipDir())) {
      if (e.is_regular_file()) fs::copy_file(e.path(), dir_ / e.path().filename());
    }
  }
  void TearDown() override { fs::remove_all(dir_); }

  nlohmann::json Config() const {
    std::ifstream in(dir_ / "config.json");
    return nlohmann::json::parse(in);
  }
  void WriteConfig(const nlohmann::json& j) const { std::ofstream(dir_ / "config.json") << j.dump(2); }

  // Rewrites model.safetensors with the same tensors, except that `name` gets `shape`
  // and no data at all (an empty span at the end of the data).
  void ReplaceWithEmptyTensor(const std::string& name, const std::vector<uint64_t>& shape) const {
    const std::string path = (dir_ / "model.safetensors").string();
    std::string data;
    nlohmann::json header = nlohmann::json::object();
    {
      const auto file = io::SafetensorsFile::Open(path);
      for (const auto& [n, e] : file->entries()) {
        if (n == name) continue;
        const Tensor view = file->View(n);
        header[n] = {{"dtype", DTypeName(e.dtype)}, {"shape", e.shape}, {"data_offsets", {data.size(), data.size() + e.size}}};
        data.append(static_cast<const char*>(view.raw()), e.size);
      }
    }
    header[name] = {{"dtype", "F32"}, {"shape", shape}, {"data_offsets", {data.size(), data.size()}}};
    const std::string h = header.dump();
    std::string bytes(8, '\0');
    for (int i = 0; i < 8; ++i) bytes[i] = static_cast<char>(static_cast<uint64_t>(h.size()) >> (8 * i));
    std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes << h << data;
  }

  template <typename F>
  static std::string InvalidModelMessage(F&& f) {
    try {
      f();
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kInvalidModel) << e.what();
      return e.what();
    }
    ADD_FAILURE() << "loaded";
    return "";
  }

  fs::path dir_;
};

// Issue 9's attack: before, this loaded READY and embedded texts from heap memory past
// the end of a 64-byte buffer.
TEST_F(ModelFileLimitsTest, OverflowingEmbeddingWithMatchingConfigIsRefused) {
  nlohmann::json config = Config();
  const int64_t hidden = config["text_config"]["hidden_size"].get<int64_t>();
  config["text_config"]["vocab_size"] = 1ull << 62;
  WriteConfig(config);
  ReplaceWithEmptyTensor(kTokenEmbedding, {1ull << 62, static_cast<uint64_t>(hidden)});
  const std::string what = InvalidModelMessage([&] { ClipModel::Load(dir_.string()); });
  // Whichever check comes first names its file; both must refuse on their own (below).
  EXPECT_TRUE(what.find("config.json") != std::string::npos || what.find("model.safetensors") != std::string::npos)
      << what;
}

TEST_F(ModelFileLimitsTest, TheCheckpointAloneRefusesTheOverflowingShape) {
  ReplaceWithEmptyTensor(kTokenEmbedding, {1ull << 62, 64});
  const std::string what = InvalidModelMessage([&] { ClipModel::Load(dir_.string()); });
  EXPECT_NE(what.find("model.safetensors"), std::string::npos) << what;
  EXPECT_NE(what.find(kTokenEmbedding), std::string::npos) << what;
  EXPECT_NE(what.find("overflows"), std::string::npos) << what;
}

TEST_F(ModelFileLimitsTest, TheConfigAloneRefusesAbsurdSizes) {
  const struct {
    const char* tower;
    const char* field;
    nlohmann::json value;
  } cases[] = {
      {"text_config", "vocab_size", 1ull << 62},
      {"text_config", "vocab_size", 1ull << 63},  // past INT64_MAX: would wrap negative
      {"text_config", "hidden_size", 1 << 20},
      {"text_config", "intermediate_size", 1 << 30},
      {"text_config", "num_hidden_layers", 100000},
      {"text_config", "num_attention_heads", 4096},
      {"text_config", "max_position_embeddings", 1 << 24},
      {"vision_config", "image_size", 1 << 20},
      {"vision_config", "patch_size", 0},
      {"vision_config", "layer_norm_eps", -1.0},
      {nullptr, "projection_dim", 1 << 30},
  };
  const nlohmann::json original = Config();
  for (const auto& c : cases) {
    nlohmann::json config = original;
    (c.tower ? config[c.tower] : config)[c.field] = c.value;
    WriteConfig(config);
    const std::string what = InvalidModelMessage([&] { ClipConfig::FromFile((dir_ / "config.json").string()); });
    EXPECT_NE(what.find("config.json"), std::string::npos) << what;
    EXPECT_NE(what.find(c.field), std::string::npos) << c.field << ": " << what;
  }
  // Many tiny patches: each side within bounds, the sequence not.
  nlohmann::json config = original;
  config["vision_config"]["image_size"] = 4096;
  config["vision_config"]["patch_size"] = 2;
  WriteConfig(config);
  EXPECT_NE(InvalidModelMessage([&] { ClipConfig::FromFile((dir_ / "config.json").string()); }).find("patch_size"),
            std::string::npos);
}

// A value quoted in an error is described, never dumped: dumping 100,000 nested arrays
// recursed once per level and overflowed the stack.
TEST_F(ModelFileLimitsTest, DeeplyNestedValuesAreDescribedNotDumped) {
  std::string nested = std::string(100000, '[') + std::string(100000, ']');
  std::string config = Config().dump();
  config.insert(config.rfind('}'), ", \"projection_dim\": " + nested);  // the last of a duplicate key wins
  std::ofstream(dir_ / "config.json") << config;
  const std::string what = InvalidModelMessage([&] { ClipConfig::FromFile((dir_ / "config.json").string()); });
  EXPECT_NE(what.find("projection_dim"), std::string::npos) << what.substr(0, 200);
  EXPECT_LT(what.size(), 400u);
}

TEST_F(ModelFileLimitsTest, HugeConfigFileIsRefusedBeforeReading) {
  fs::resize_file(dir_ / "config.json", (16ull << 20) + 1);  // sparse: costs no disk
  const std::string what = InvalidModelMessage([&] { ClipConfig::FromFile((dir_ / "config.json").string()); });
  EXPECT_NE(what.find("config.json"), std::string::npos) << what;
  EXPECT_NE(what.find("limit"), std::string::npos) << what;
}

// Within the caps but not what the checkpoint holds: the shape check names both.
TEST_F(ModelFileLimitsTest, ConfigDisagreeingWithTheTensorsIsRefused) {
  nlohmann::json config = Config();
  config["text_config"]["vocab_size"] = config["text_config"]["vocab_size"].get<int64_t>() + 1;
  WriteConfig(config);
  const std::string what = InvalidModelMessage([&] { ClipModel::Load(dir_.string()); });
  EXPECT_NE(what.find(kTokenEmbedding), std::string::npos) << what;
  EXPECT_NE(what.find("config.json"), std::string::npos) << what;
}

TEST_F(ModelFileLimitsTest, TheTinyModelStillLoads) { EXPECT_NO_THROW(ClipModel::Load(dir_.string())); }

}  // namespace
}  // namespace mms::models
