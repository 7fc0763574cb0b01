// LlamaModel on small generated checkpoints of each supported variant (rope_scaling
// linear and llama3, Qwen2's q/k/v biases, LLaMA's attention/mlp biases, tied and untied
// output embeddings, explicit head_dim, MQA/GQA) against an independent float64 forward
// written from Hugging Face's definitions (llama_reference_forward.py, numpy), run at
// test time. Also: config.json refusals name the file and the field.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "base/error.h"
#include "io/safetensors.h"
#include "llama_test_support.h"
#include "models/llama/llama_model.h"
#include "test_support.h"

namespace mms::models {
namespace {

namespace fs = std::filesystem;
using testing::RunStep;
using testing::TestSequence;

constexpr int kVocab = 97;

bool HaveNumpy() {
  static const bool have = std::system("/usr/bin/python3 -c 'import numpy' >/dev/null 2>&1") == 0;
  return have;
}

std::string ScriptPath() { return mms::testing::SourcePath("tests/models/llama_reference_forward.py"); }

class LlamaTinyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("mms_llama_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  static nlohmann::json BaseConfig() {
    return {{"architectures", {"LlamaForCausalLM"}}, {"model_type", "llama"}, {"hidden_size", 48},
            {"intermediate_size", 40}, {"num_hidden_layers", 2}, {"num_attention_heads", 4},
            {"num_key_value_heads", 2}, {"head_dim", 16}, {"hidden_act", "silu"}, {"rms_norm_eps", 1e-5},
            {"rope_theta", 10000.0}, {"max_position_embeddings", 512}, {"vocab_size", kVocab},
            {"tie_word_embeddings", false}};
  }

  // Writes config.json and a model.safetensors of random F32 weights with every tensor the
  // config implies (biases per variant; lm_head unless tied or `with_lm_head` is false).
  void WriteModel(const nlohmann::json& cfg, bool with_lm_head = true, unsigned seed = 1) {
    std::ofstream(dir_ / "config.json") << cfg.dump(2);
    const int64_t d = cfg["hidden_size"], inter = cfg["intermediate_size"], heads = cfg["num_attention_heads"];
    const int64_t kv = cfg["num_key_value_heads"];
    const int64_t hd = cfg.contains("head_dim") ? cfg["head_dim"].get<int64_t>() : d / heads;
    const std::string mt = cfg["model_type"];
    const bool attention_bias = cfg.value("attention_bias", false), mlp_bias = cfg.value("mlp_bias", false);
    const bool qkv_bias = mt == "qwen2" || (mt == "llama" && attention_bias);
    const bool o_bias = mt == "llama" && attention_bias;
    std::vector<std::pair<std::string, Tensor>> tensors;
    auto add = [&](const std::string& name, std::vector<int64_t> shape, float scale, float offset = 0.0f) {
      Tensor t = Tensor::Empty(shape, DType::kF32);
      const auto v = mms::testing::Random(t.numel(), seed++, scale);
      for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = v[i] + offset;
      tensors.emplace_back(name, t);
    };
    add("model.embed_tokens.weight", {kVocab, d}, 1.0f);
    for (int i = 0; i < cfg["num_hidden_layers"].get<int>(); ++i) {
      const std::string p = "model.layers." + std::to_string(i) + ".";
      add(p + "input_layernorm.weight", {d}, 0.1f, 1.0f);
      add(p + "post_attention_layernorm.weight", {d}, 0.1f, 1.0f);
      // Large enough that attention is far from uniform and rotary angles matter.
      add(p + "self_attn.q_proj.weight", {heads * hd, d}, 0.4f);
      add(p + "self_attn.k_proj.weight", {kv * hd, d}, 0.4f);
      add(p + "self_attn.v_proj.weight", {kv * hd, d}, 0.2f);
      add(p + "self_attn.o_proj.weight", {d, heads * hd}, 0.1f);
      if (qkv_bias) {
        add(p + "self_attn.q_proj.bias", {heads * hd}, 0.3f);
        add(p + "self_attn.k_proj.bias", {kv * hd}, 0.3f);
        add(p + "self_attn.v_proj.bias", {kv * hd}, 0.3f);
      }
      if (o_bias) add(p + "self_attn.o_proj.bias", {d}, 0.3f);
      add(p + "mlp.gate_proj.weight", {inter, d}, 0.3f);
      add(p + "mlp.up_proj.weight", {inter, d}, 0.3f);
      add(p + "mlp.down_proj.weight", {d, inter}, 0.2f);
      if (mlp_bias) {
        add(p + "mlp.gate_proj.bias", {inter}, 0.3f);
        add(p + "mlp.up_proj.bias", {inter}, 0.3f);
        add(p + "mlp.down_proj.bias", {d}, 0.3f);
      }
    }
    add("model.norm.weight", {d}, 0.1f, 1.0f);
    if (with_lm_head && !cfg.value("tie_word_embeddings", false)) add("lm_head.weight", {kVocab, d}, 0.3f);
    std::vector<io::NamedTensor> named;
    for (const auto& [n, t] : tensors) named.push_back({n, &t});
    io::WriteSafetensors((dir_ / "model.safetensors").string(), named);
  }

  std::vector<float> ReferenceLogits(const std::vector<int32_t>& ids) const {
    std::string csv;
    for (int32_t id : ids) csv += (csv.empty() ? "" : ",") + std::to_string(id);
    const std::string out = (dir_ / "reference.f32").string();
    const std::string cmd = "/usr/bin/python3 " + ScriptPath() + " " + dir_.string() + " " + csv + " " + out;
    EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
    std::vector<float> logits(ids.size() * kVocab);
    std::ifstream in(out, std::ios::binary);
    in.read(reinterpret_cast<char*>(logits.data()), logits.size() * sizeof(float));
    EXPECT_TRUE(in) << "reading " << out;
    return logits;
  }

  // Every position's logits, token by token over blocks of 4, and the last one from the
  // prompt as a single chunk, against the float64 reference.
  void ExpectMatchesReference(const std::vector<int32_t>& ids) {
    if (!HaveNumpy()) GTEST_SKIP() << "/usr/bin/python3 has no numpy (Debian package python3-numpy)";
    const auto model = LlamaModel::Load(dir_.string(), Precision::kFp32);
    const std::vector<float> want = ReferenceLogits(ids);
    double scale = 0;
    for (float x : want) scale = std::max(scale, std::fabs(static_cast<double>(x)));
    const double tol = 1e-4 * scale;

    layers::PagedKvCache cache(model->kv_cache_shape(4), 64);
    Workspace ws;
    int next = 5;
    TestSequence s;
    s.tokens = ids;
    for (size_t i = 0; i < ids.size(); ++i) {
      const auto row = RunStep(*model, {&s}, {1}, true, cache, ws, &next);
      ASSERT_EQ(row.size(), static_cast<size_t>(kVocab));
      for (int v = 0; v < kVocab; ++v) ASSERT_NEAR(row[v], want[i * kVocab + v], tol) << "position " << i << " id " << v;
    }
    TestSequence whole;
    whole.tokens = ids;
    layers::PagedKvCache cache2(model->kv_cache_shape(16), 8);
    int next2 = 0;
    const auto last = RunStep(*model, {&whole}, {static_cast<int>(ids.size())}, true, cache2, ws, &next2);
    for (int v = 0; v < kVocab; ++v) EXPECT_NEAR(last[v], want[(ids.size() - 1) * kVocab + v], tol) << v;
  }

  std::vector<double> ReferenceInvFreq() const {
    const std::string out = (dir_ / "inv_freq.f64").string();
    const std::string cmd = "/usr/bin/python3 " + ScriptPath() + " --inv-freq " + dir_.string() + " " + out;
    EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
    std::ifstream in(out, std::ios::binary | std::ios::ate);
    std::vector<double> v(static_cast<size_t>(in.tellg()) / sizeof(double));
    in.seekg(0);
    in.read(reinterpret_cast<char*>(v.data()), v.size() * sizeof(double));
    return v;
  }

  // Loads a valid tiny checkpoint under `cfg` (so the refusal comes from the config, and
  // absurd sizes in it allocate nothing).
  std::string InvalidModelMessage(const nlohmann::json& cfg) {
    WriteModel(BaseConfig());
    std::ofstream(dir_ / "config.json") << cfg.dump(2);
    try {
      LlamaModel::Load(dir_.string());
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kInvalidModel) << e.what();
      return e.what();
    }
    ADD_FAILURE() << "loaded";
    return "";
  }

  fs::path dir_;
};

std::vector<int32_t> Prompt(size_t n, unsigned seed) {
  std::vector<int32_t> ids(n);
  for (size_t i = 0; i < n; ++i) ids[i] = static_cast<int32_t>((i * 37 + seed * 11 + i * i) % kVocab);
  return ids;
}

TEST_F(LlamaTinyTest, LlamaLinearRopeScalingWithAllBiasesUntied) {
  auto cfg = BaseConfig();
  cfg["rope_scaling"] = {{"rope_type", "linear"}, {"factor", 2.5}};
  cfg["attention_bias"] = true;
  cfg["mlp_bias"] = true;
  WriteModel(cfg);
  ExpectMatchesReference(Prompt(23, 1));
}

TEST_F(LlamaTinyTest, LlamaLlama3RopeScalingTiedMqa) {
  auto cfg = BaseConfig();
  // head_dim 16, theta 10000: wavelengths 6.3 .. 19869, so with an old context of 256
  // (bands at 64 and 256) some frequencies are kept, one is blended, the rest scaled.
  cfg["rope_scaling"] = {{"rope_type", "llama3"}, {"factor", 8.0}, {"low_freq_factor", 1.0},
                         {"high_freq_factor", 4.0}, {"original_max_position_embeddings", 256}};
  cfg["rope_theta"] = 500.0;
  cfg["num_key_value_heads"] = 1;
  cfg["tie_word_embeddings"] = true;
  WriteModel(cfg);
  ExpectMatchesReference(Prompt(30, 2));
}

TEST_F(LlamaTinyTest, RopeInverseFrequenciesMatchTransformersFormulas) {
  if (!HaveNumpy()) GTEST_SKIP() << "/usr/bin/python3 has no numpy (Debian package python3-numpy)";
  const nlohmann::json scalings[] = {
      nullptr,
      {{"type", "linear"}, {"factor", 4.0}},
      {{"rope_type", "llama3"}, {"factor", 8.0}, {"low_freq_factor", 1.0}, {"high_freq_factor", 4.0},
       {"original_max_position_embeddings", 256}},
      // LLaMA-3.1's own values, over a LLaMA-3 head (128, theta 500000).
      {{"rope_type", "llama3"}, {"factor", 8.0}, {"low_freq_factor", 1.0}, {"high_freq_factor", 4.0},
       {"original_max_position_embeddings", 8192}},
  };
  for (const auto& scaling : scalings) {
    auto cfg = BaseConfig();
    cfg["rope_scaling"] = scaling;
    if (scaling.is_object() && scaling["original_max_position_embeddings"] == 8192) {
      cfg["head_dim"] = 128;
      cfg["rope_theta"] = 500000.0;
      cfg["max_position_embeddings"] = 131072;
    }
    WriteModel(cfg);
    const auto model = LlamaModel::Load(dir_.string());
    const auto want = ReferenceInvFreq();
    const auto& got = model->rotary().inv_freq();
    ASSERT_EQ(got.size(), want.size()) << scaling;
    bool some_changed = false;
    for (size_t i = 0; i < want.size(); ++i) {
      EXPECT_NEAR(got[i], want[i], 1e-12 * want[i]) << scaling << " i=" << i;
      some_changed |= std::fabs(want[i] - 1.0 / std::pow(cfg["rope_theta"].get<double>(), 2.0 * i / want.size() / 2)) >
                      1e-9 * want[i];
    }
    EXPECT_EQ(some_changed, !scaling.is_null()) << scaling;
  }
}

TEST_F(LlamaTinyTest, Qwen2QkvBiasesTied) {
  auto cfg = BaseConfig();
  cfg["architectures"] = {"Qwen2ForCausalLM"};
  cfg["model_type"] = "qwen2";
  cfg["tie_word_embeddings"] = true;
  cfg["rope_theta"] = 1000000.0;
  cfg["use_sliding_window"] = false;
  cfg["sliding_window"] = 64;  // ignored without use_sliding_window, as in transformers
  WriteModel(cfg);
  EXPECT_EQ(LlamaModel::Load(dir_.string())->config().variant, LlamaVariant::kQwen2);
  ExpectMatchesReference(Prompt(19, 3));
}

TEST_F(LlamaTinyTest, MistralWithoutSlidingWindowAndNoLmHeadTensor) {
  auto cfg = BaseConfig();
  cfg["architectures"] = {"MistralForCausalLM"};
  cfg["model_type"] = "mistral";
  cfg["sliding_window"] = nullptr;
  cfg["hidden_size"] = 64;
  cfg.erase("head_dim");  // hidden / heads = 16
  WriteModel(cfg, /*with_lm_head=*/false);
  EXPECT_EQ(LlamaModel::Load(dir_.string())->config().head_dim, 16);
  ExpectMatchesReference(Prompt(17, 4));
}

TEST_F(LlamaTinyTest, RandomCheckpointToolWritesALoadableShardedBf16Model) {
  // tools/make_random_llama.py (the benchmarks' TinyLlama-shaped generator) at its tiny
  // shape: bf16 weights in three shards with an index, read back and run exactly.
  if (!HaveNumpy()) GTEST_SKIP() << "/usr/bin/python3 has no numpy (Debian package python3-numpy)";
  const std::string cmd = "/usr/bin/python3 " + mms::testing::SourcePath("tools/make_random_llama.py") + " --out " +
                          dir_.string() + " --shape tiny --dtype bf16 --seed 5 --max-shard-mb 2 2>/dev/null";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  ASSERT_TRUE(fs::exists(dir_ / "model.safetensors.index.json"));
  ASSERT_TRUE(fs::exists(dir_ / "tokenizer.json"));
  ASSERT_TRUE(fs::exists(dir_ / "generation_config.json"));
  const auto model = LlamaModel::Load(dir_.string());
  EXPECT_EQ(model->vocab_size(), 32000);
  const std::vector<int32_t> ids = {1, 15043, 3186, 29991, 450, 7483};
  std::string csv;
  for (int32_t id : ids) csv += (csv.empty() ? "" : ",") + std::to_string(id);
  const std::string out = (dir_ / "reference.f32").string();
  ASSERT_EQ(std::system(("/usr/bin/python3 " + ScriptPath() + " " + dir_.string() + " " + csv + " " + out).c_str()), 0);
  std::vector<float> want(ids.size() * 32000);
  std::ifstream(out, std::ios::binary).read(reinterpret_cast<char*>(want.data()), want.size() * sizeof(float));
  TestSequence s;
  s.tokens = ids;
  layers::PagedKvCache cache(model->kv_cache_shape(16), 2);
  Workspace ws;
  int next = 0;
  const auto got = RunStep(*model, {&s}, {static_cast<int>(ids.size())}, true, cache, ws, &next);
  double scale = 0;
  for (int v = 0; v < 32000; ++v) scale = std::max(scale, std::fabs(static_cast<double>(want[5 * 32000 + v])));
  for (int v = 0; v < 32000; ++v) ASSERT_NEAR(got[v], want[5 * 32000 + v], 1e-4 * scale) << v;
}

TEST_F(LlamaTinyTest, ConfigRefusalsNameFileAndField) {
  struct Case {
    const char* field;
    nlohmann::json value;
  };
  const Case cases[] = {
      {"num_key_value_heads", 3},
      {"num_attention_heads", 0},
      {"hidden_size", 1 << 20},
      {"head_dim", 15},
      {"rms_norm_eps", -1.0},
      {"rope_theta", 0.0},
      {"hidden_act", "gelu"},
      {"rope_scaling", {{"rope_type", "yarn"}, {"factor", 4.0}}},
      {"rope_scaling", {{"rope_type", "linear"}, {"factor", 0.5}}},
      {"rope_scaling", {{"rope_type", "llama3"}, {"factor", 8.0}}},
      {"max_position_embeddings", -5},
      {"model_type", "gpt2"},
  };
  for (const auto& c : cases) {
    auto cfg = BaseConfig();
    cfg[c.field] = c.value;
    const std::string what = InvalidModelMessage(cfg);
    EXPECT_NE(what.find("config.json"), std::string::npos) << c.field << ": " << what;
    const std::string expect_field = std::string(c.field) == "rope_scaling" ? "rope" : c.field;
    EXPECT_NE(what.find(expect_field), std::string::npos) << c.field << ": " << what;
  }
  auto mistral = BaseConfig();
  mistral["model_type"] = "mistral";
  mistral["sliding_window"] = 128;  // shorter than the 512 positions
  EXPECT_NE(InvalidModelMessage(mistral).find("sliding_window"), std::string::npos);
  mistral.erase("sliding_window");  // MistralConfig's default window, 4096, covers the 512 positions
  std::ofstream(dir_ / "config.json") << mistral.dump(2);
  EXPECT_NO_THROW(LlamaModel::Load(dir_.string()));
}

TEST_F(LlamaTinyTest, EmbeddingRowsMustMatchVocabSize) {
  auto cfg = BaseConfig();
  WriteModel(cfg);
  cfg["vocab_size"] = kVocab + 3;
  std::ofstream(dir_ / "config.json") << cfg.dump();
  try {
    LlamaModel::Load(dir_.string());
    ADD_FAILURE() << "loaded";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidModel);
    EXPECT_NE(std::string(e.what()).find("model.embed_tokens.weight"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace mms::models
