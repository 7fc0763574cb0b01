// LlavaModel against the reference LLaVA-1.5's golden outputs (tests/data/llava-reference:
// an independent float64 forward with Hugging Face's semantics, cross-checked against
// llama.cpp). Tolerances are the reference README's: image features within
// 1e-5 × max|feature|, last-position logits within 1e-4 × max|logit|, the 16 greedy tokens
// identical.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <algorithm>
#include <filesystem>
#include <functional>
#include <fstream>
#include <nlohmann/json.hpp>

#include "base/error.h"
#include "base/file_util.h"
#include "io/checkpoint.h"
#include "io/safetensors.h"
#include "llama_test_support.h"
#include "media/clip_preprocess.h"
#include "media/image_decoder.h"
#include "models/llava/llava_model.h"
#include "test_support.h"

namespace mms::models {
namespace {

using testing::Argmax;
using testing::RunStep;
using testing::TestSequence;

std::string DataPath(const std::string& rel) { return mms::testing::SourcePath("tests/data/llava-reference/" + rel); }

std::vector<float> ReadFloats(const std::string& path) {
  std::ifstream f(path, std::ios::binary | std::ios::ate);
  EXPECT_TRUE(f) << path;
  std::vector<float> v(static_cast<size_t>(f.tellg()) / sizeof(float));
  f.seekg(0);
  f.read(reinterpret_cast<char*>(v.data()), v.size() * sizeof(float));
  return v;
}

struct Golden {
  std::vector<int32_t> prefix, suffix, gen_ids;
  int64_t image_positions = 0;
  std::vector<float> features, logits, pixels_hwc;
};

const Golden& Reference() {
  static const Golden g = [] {
    Golden out;
    const auto j = nlohmann::json::parse(ReadFileBytes(DataPath("golden/reference.json")));
    out.prefix = j["prefix_ids"].get<std::vector<int32_t>>();
    out.suffix = j["suffix_ids"].get<std::vector<int32_t>>();
    out.gen_ids = j["gen_ids"].get<std::vector<int32_t>>();
    out.image_positions = j["n_image_pos"].get<int64_t>();
    out.features = ReadFloats(DataPath("golden/image_features.f32"));
    out.logits = ReadFloats(DataPath("golden/logits_last.f32"));
    out.pixels_hwc = ReadFloats(DataPath("golden/image_norm_hwc.f32"));
    return out;
  }();
  return g;
}

const LlavaModel& Model(Precision p = Precision::kFp32) {
  static std::unique_ptr<LlavaModel> models[3];
  auto& m = models[static_cast<int>(p)];
  if (!m) m = LlavaModel::Load(DataPath("model"), p);
  return *m;
}

// The golden image through the CLIP family's preprocessing, as the server runs it.
std::vector<float> Pixels(const ImageEncoder& enc) {
  const auto config = media::PreprocessConfig::FromFile(DataPath("model/preprocessor_config.json"));
  const media::Image image = media::DecodeImage(ReadFileBytes(DataPath("golden/image.png")));
  std::vector<float> chw(3 * enc.image_size() * enc.image_size());
  media::PreprocessImage(image, config, media::ImagePipeline::kHuggingFace, chw.data());
  return chw;
}

double MaxAbs(const std::vector<float>& v) {
  double m = 0;
  for (float x : v) m = std::max(m, std::fabs(static_cast<double>(x)));
  return m;
}

double MaxAbsDiff(const float* a, const std::vector<float>& b) {
  double m = 0;
  for (size_t i = 0; i < b.size(); ++i) m = std::max(m, std::fabs(static_cast<double>(a[i]) - b[i]));
  return m;
}

// Prefix, the image's positions (placeholder ids, embeddings replaced by `features`), the
// suffix; prefilled in chunks of `chunk`, then greedy decoding. Returns the prompt's last
// logits; the greedy tokens in *picked.
std::vector<float> RunConversation(const LlavaModel& m, const std::vector<float>& features, int chunk,
                                   std::vector<int32_t>* picked) {
  const Golden& g = Reference();
  layers::PagedKvCache cache(m.kv_cache_shape(16), 64);
  Workspace ws;
  int next_block = 5;
  TestSequence s;
  s.tokens = g.prefix;
  const int32_t image_start = static_cast<int32_t>(s.tokens.size());
  s.tokens.insert(s.tokens.end(), g.image_positions, m.image_token_id());
  s.tokens.insert(s.tokens.end(), g.suffix.begin(), g.suffix.end());
  std::vector<InjectedEmbedding> injected;
  for (int64_t i = 0; i < g.image_positions; ++i) {
    injected.push_back({static_cast<int32_t>(image_start + i), features.data() + i * m.feature_size()});
  }
  std::vector<float> row;
  while (s.computed < static_cast<int32_t>(s.tokens.size())) {
    const int n = std::min<int>(chunk, static_cast<int>(s.tokens.size()) - s.computed);
    const bool ends = s.computed + n == static_cast<int32_t>(s.tokens.size());
    SequenceChunk c;
    s.Reserve(s.computed + n, 16, &next_block);
    c.tokens = std::span<const int32_t>(s.tokens.data() + s.computed, n);
    c.first_position = s.computed;
    c.block_table = s.block_table;
    c.want_logits = ends;
    std::vector<InjectedEmbedding> here;
    for (const auto& e : injected) {
      if (e.position >= s.computed && e.position < s.computed + n) here.push_back(e);
    }
    c.injected = here;
    std::vector<float> logits;
    m.Step(std::span<const SequenceChunk>(&c, 1), cache, ws, logits);
    s.computed += n;
    if (ends) row = logits;
  }
  const std::vector<float> prompt_logits = row;
  picked->clear();
  for (size_t step = 0; step < g.gen_ids.size(); ++step) {
    const int32_t best = Argmax(row.data(), m.vocab_size());
    picked->push_back(best);
    if (step + 1 == g.gen_ids.size()) break;
    s.tokens.push_back(best);
    row = RunStep(m, {&s}, {1}, true, cache, ws, &next_block);
  }
  return prompt_logits;
}

TEST(LlavaGoldenTest, ConfigOfTheReferenceModel) {
  const LlavaModel& m = Model();
  EXPECT_EQ(m.image_token_id(), 32000);
  EXPECT_EQ(m.positions_per_image(), 49);
  EXPECT_EQ(m.feature_size(), 64);
  EXPECT_EQ(m.image_size(), 224);
  EXPECT_EQ(m.vocab_size(), 32064);
  EXPECT_EQ(m.config().vision_feature_layer, 1);  // -2 of hidden_states[0..2]
  EXPECT_EQ(m.image_encoder(), static_cast<const ImageEncoder*>(&m));
}

TEST(LlavaGoldenTest, PreprocessedPixelsMatch) {
  const Golden& g = Reference();
  const std::vector<float> chw = Pixels(Model());
  const int64_t s = Model().image_size();
  ASSERT_EQ(g.pixels_hwc.size(), chw.size());
  double worst = 0;
  for (int64_t y = 0; y < s; ++y) {
    for (int64_t x = 0; x < s; ++x) {
      for (int64_t c = 0; c < 3; ++c) {
        worst = std::max(worst, std::fabs(double(chw[(c * s + y) * s + x]) - g.pixels_hwc[(y * s + x) * 3 + c]));
      }
    }
  }
  EXPECT_LE(worst, 1e-5);
}

TEST(LlavaGoldenTest, ImageFeaturesMatch) {
  const Golden& g = Reference();
  const LlavaModel& m = Model();
  const std::vector<float> pixels = Pixels(m);
  std::vector<float> features(m.positions_per_image() * m.feature_size());
  Workspace ws;
  m.EncodeImages(pixels.data(), 1, features.data(), ws);
  ASSERT_EQ(features.size(), g.features.size());
  EXPECT_LE(MaxAbsDiff(features.data(), g.features), 1e-5 * MaxAbs(g.features));
}

TEST(LlavaGoldenTest, BatchedImagesEncodeAsSingleOnes) {
  const LlavaModel& m = Model();
  const std::vector<float> one = Pixels(m);
  std::vector<float> three(one.size() * 3);
  for (size_t i = 0; i < one.size(); ++i) {
    three[i] = one[i];
    three[one.size() + i] = -one[i];  // a different image in the middle
    three[2 * one.size() + i] = one[i];
  }
  const size_t per = m.positions_per_image() * m.feature_size();
  std::vector<float> single(per), batch(3 * per);
  Workspace ws;
  m.EncodeImages(one.data(), 1, single.data(), ws);
  m.EncodeImages(three.data(), 3, batch.data(), ws);
  const double tol = 1e-5 * MaxAbs(single);
  EXPECT_LE(MaxAbsDiff(batch.data(), single), tol);
  EXPECT_LE(MaxAbsDiff(batch.data() + 2 * per, single), tol);
  EXPECT_GT(MaxAbsDiff(batch.data() + per, single), 100 * tol);
}

TEST(LlavaGoldenTest, LogitsAndGreedyTokensMatchInAnyChunking) {
  const Golden& g = Reference();
  const LlavaModel& m = Model();
  const std::vector<float> pixels = Pixels(m);
  std::vector<float> features(m.positions_per_image() * m.feature_size());
  Workspace ws;
  m.EncodeImages(pixels.data(), 1, features.data(), ws);
  for (int chunk : {1 << 20, 40, 7}) {
    std::vector<int32_t> picked;
    const std::vector<float> logits = RunConversation(m, features, chunk, &picked);
    ASSERT_EQ(logits.size(), g.logits.size());
    EXPECT_LE(MaxAbsDiff(logits.data(), g.logits), 1e-4 * MaxAbs(g.logits)) << "chunk " << chunk;
    EXPECT_EQ(picked, g.gen_ids) << "chunk " << chunk;
  }
}

double Cosine(const std::vector<float>& a, const std::vector<float>& b) {
  double ab = 0, aa = 0, bb = 0;
  for (size_t i = 0; i < a.size(); ++i) ab += double(a[i]) * b[i], aa += double(a[i]) * a[i], bb += double(b[i]) * b[i];
  return ab / std::sqrt(aa * bb);
}

// bf16 and int8 run both towers and the projector in that precision: the features and
// the prompt's logits stay close to the reference (bars measured on this checkpoint with
// margin: see the figures printed), and where the CPU lacks the kernels the model falls
// back to fp32 and says so.
TEST(LlavaGoldenTest, ReducedPrecisionsStayCloseToTheReference) {
  const Golden& g = Reference();
  for (const Precision p : {Precision::kBf16, Precision::kInt8}) {
    const LlavaModel& m = Model(p);
    const std::vector<float> pixels = Pixels(m);
    std::vector<float> features(m.positions_per_image() * m.feature_size());
    Workspace ws;
    m.EncodeImages(pixels.data(), 1, features.data(), ws);
    std::vector<int32_t> picked;
    const std::vector<float> logits = RunConversation(m, features, 32, &picked);
    const double fc = Cosine(features, g.features), lc = Cosine(logits, g.logits);
    std::printf("%s (runs %s): feature cosine %.6f, logits cosine %.6f, greedy prefix %zu/16\n", PrecisionName(p),
                PrecisionName(m.precision()), fc, lc,
                static_cast<size_t>(std::mismatch(picked.begin(), picked.end(), g.gen_ids.begin()).first - picked.begin()));
    EXPECT_GE(fc, p == Precision::kInt8 ? 0.999 : 0.9999) << PrecisionName(p);
    EXPECT_GE(lc, p == Precision::kInt8 ? 0.999 : 0.9999) << PrecisionName(p);
    EXPECT_EQ(picked[0], g.gen_ids[0]) << PrecisionName(p);
    if (m.precision() != p) EXPECT_FALSE(m.precision_note().empty());
  }
}

// transformers >= 4.52 writes "model.language_model.*", "model.vision_tower.*",
// "model.multi_modal_projector.*" and a top-level "lm_head.*": the same weights renamed
// must give the same model.
TEST(LlavaGoldenTest, NewerWeightLayoutLoadsTheSameModel) {
  const std::string dir = ::testing::TempDir() + "/llava_new_layout." + std::to_string(getpid());
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  for (const auto& entry : std::filesystem::directory_iterator(DataPath("model"))) {
    if (entry.path().filename() != "model.safetensors") {
      std::filesystem::copy_file(entry.path(), dir + "/" + entry.path().filename().string());
    }
  }
  const io::Checkpoint old = io::Checkpoint::Open(DataPath("model"));
  std::vector<std::pair<std::string, Tensor>> renamed;
  for (const std::string& name : old.Names()) {
    std::string to = name;
    if (name.rfind("language_model.model.", 0) == 0) to = "model.language_model." + name.substr(21);
    else if (name.rfind("language_model.lm_head.", 0) == 0) to = name.substr(15);
    else to = "model." + name;
    renamed.emplace_back(to, old.Raw(name));
  }
  std::vector<io::NamedTensor> tensors;
  for (const auto& [n, t] : renamed) tensors.push_back({n, &t});
  io::WriteSafetensors(dir + "/model.safetensors", tensors);

  const auto m = LlavaModel::Load(dir);
  const std::vector<float> pixels = Pixels(*m);
  std::vector<float> features(m->positions_per_image() * m->feature_size());
  Workspace ws;
  m->EncodeImages(pixels.data(), 1, features.data(), ws);
  EXPECT_LE(MaxAbsDiff(features.data(), Reference().features), 1e-5 * MaxAbs(Reference().features));
  std::vector<int32_t> picked;
  RunConversation(*m, features, 1 << 20, &picked);
  EXPECT_EQ(picked, Reference().gen_ids);
  std::filesystem::remove_all(dir);
}

// A config.json that differs from the reference's in one field.
std::string ConfigWith(const std::function<void(nlohmann::json&)>& edit) {
  nlohmann::json j = nlohmann::json::parse(ReadFileBytes(DataPath("model/config.json")));
  edit(j);
  // A name of this process's own: ctest runs this executable's tests in parallel processes
  // (and the whole executable again for the AVX2 path), which raced on one shared file.
  const std::string path = ::testing::TempDir() + "/llava_config." + std::to_string(getpid()) + ".json";
  std::ofstream(path) << j.dump();
  return path;
}

void ExpectRefused(const std::function<void(nlohmann::json&)>& edit, const std::string& needle) {
  try {
    LlavaConfig::FromFile(ConfigWith(edit));
    ADD_FAILURE() << "accepted a config that should fail with: " << needle;
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidModel) << e.what();
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

TEST(LlavaConfigTest, DefaultsFillWhatConfigJsonOmits) {
  const LlavaConfig c = LlavaConfig::FromFile(ConfigWith([](nlohmann::json& j) {
    j.erase("vision_config");
    j.erase("image_seq_length");
    j.erase("vision_feature_layer");
    j.erase("vision_feature_select_strategy");
    j.erase("image_token_index");
    j["text_config"].erase("model_type");
    j["text_config"].erase("architectures");
  }));
  EXPECT_EQ(c.vision.image_size, 336);
  EXPECT_EQ(c.vision.patch_size, 14);
  EXPECT_EQ(c.vision.hidden_size, 1024);
  EXPECT_EQ(c.vision.num_layers, 24);
  EXPECT_EQ(c.vision_feature_layer, 23);
  EXPECT_EQ(c.image_seq_length, 576);
  EXPECT_EQ(c.image_token_id, 32000);
  EXPECT_EQ(c.text.variant, LlamaVariant::kLlama);
  EXPECT_EQ(c.feature_select, VisionFeatureSelect::kDefault);

  const LlavaConfig full = LlavaConfig::FromFile(ConfigWith([](nlohmann::json& j) {
    j["vision_feature_select_strategy"] = "full";
    j["image_seq_length"] = 50;
    j["image_token_id"] = 32001;
  }));
  EXPECT_EQ(full.feature_select, VisionFeatureSelect::kFull);
  EXPECT_EQ(full.image_token_id, 32001);
}

TEST(LlavaConfigTest, InconsistentConfigsAreRefusedNamingTheField) {
  ExpectRefused([](nlohmann::json& j) { j["image_seq_length"] = 50; }, "image_seq_length");
  ExpectRefused([](nlohmann::json& j) { j["vision_feature_select_strategy"] = "cls"; }, "vision_feature_select_strategy");
  ExpectRefused([](nlohmann::json& j) { j["vision_feature_layer"] = nlohmann::json::array({-2, -5}); },
                "vision_feature_layer");
  ExpectRefused([](nlohmann::json& j) { j["vision_feature_layer"] = -4; }, "vision_feature_layer");
  ExpectRefused([](nlohmann::json& j) { j["projector_hidden_act"] = "relu"; }, "projector_hidden_act");
  ExpectRefused([](nlohmann::json& j) { j["vision_config"]["model_type"] = "siglip_vision_model"; }, "siglip");
  ExpectRefused([](nlohmann::json& j) { j["image_token_index"] = 40000; }, "image_token_index");
  ExpectRefused([](nlohmann::json& j) { j["text_config"]["model_type"] = "gemma"; }, "gemma");
  ExpectRefused([](nlohmann::json& j) { j["text_config"] = 5; }, "text_config");
}

TEST(LlavaGoldenTest, CheckpointWithoutProjectorIsRefused) {
  const std::string dir = ::testing::TempDir() + "/llava_no_projector." + std::to_string(getpid());
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  std::filesystem::copy_file(DataPath("model/config.json"), dir + "/config.json");
  const io::Checkpoint old = io::Checkpoint::Open(DataPath("model"));
  std::vector<Tensor> keep;
  std::vector<std::string> names;
  for (const std::string& name : old.Names()) {
    if (name.find("multi_modal_projector") == std::string::npos) names.push_back(name), keep.push_back(old.Raw(name));
  }
  std::vector<io::NamedTensor> tensors;
  for (size_t i = 0; i < names.size(); ++i) tensors.push_back({names[i], &keep[i]});
  io::WriteSafetensors(dir + "/model.safetensors", tensors);
  try {
    LlavaModel::Load(dir);
    ADD_FAILURE() << "loaded a LLaVA without a projector";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("projector"), std::string::npos) << e.what();
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace mms::models
