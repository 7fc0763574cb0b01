// `mmserve quantize` on the tiny checkpoint: what the folder holds, that an int8 model
// loads the stored int8 weights as they are, and that other precisions still load it.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>

#include "base/error.h"
#include "engine/dtype.h"
#include "engine/ops/int8_matmul.h"
#include "io/checkpoint.h"
#include "io/safetensors.h"
#include "layers/linear.h"
#include "models/checkpoint_quantizer.h"
#include "models/clip/clip_model.h"
#include "models/llava/llava_model.h"
#include "test_support.h"

namespace mms::models {
namespace {

namespace fs = std::filesystem;

class CheckpointQuantizerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("mms_quantize_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string Out(const std::string& name = "out") const { return (dir_ / name).string(); }
  fs::path dir_;
};

std::string FileBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), {});
}

std::vector<float> EmbedImage(const ClipModel& model) {
  const auto pixels = testing::LoadNpyFloat32(testing::SourcePath("tests/data/clip-reference/pixels_hf/chelsea_png.npy"));
  std::vector<float> out(model.embed_dim());
  Workspace ws;
  model.EncodeImages(pixels.data(), 1, out.data(), ws);
  return out;
}

std::vector<float> EmbedText(const ClipModel& model) {
  std::vector<float> out(model.embed_dim());
  Workspace ws;
  model.EncodeTexts({{49406, 320, 1125, 539, 550, 18376, 49407}}, out.data(), ws);
  return out;
}

TEST_F(CheckpointQuantizerTest, WritesInt8WeightsWithScalesAndCopiesTheRest) {
  const std::string in = testing::TinyClipDir();
  const QuantizeSummary summary = QuantizeCheckpoint(in, Out());
  const auto names = ClipModel::Int8WeightNames(ClipConfig::FromFile(in + "/config.json"));
  // Tiny: 2 + 2 layers of q, k, v, out_proj, fc1, fc2, and the patch embedding.
  EXPECT_EQ(names.size(), 25u);
  EXPECT_EQ(summary.quantized, static_cast<int64_t>(names.size()));

  const auto original = io::SafetensorsFile::Open(in + "/model.safetensors");
  const auto quantized = io::SafetensorsFile::Open(Out() + "/model.safetensors");
  EXPECT_EQ(summary.tensors, static_cast<int64_t>(original->entries().size()));
  EXPECT_EQ(quantized->entries().size(), original->entries().size() + names.size());  // + one scale each
  EXPECT_LT(summary.bytes, fs::file_size(in + "/model.safetensors"));
  const std::set<std::string> int8(names.begin(), names.end());
  for (const auto& [name, entry] : original->entries()) {
    const io::SafetensorsFile::Entry* q = quantized->Find(name);
    ASSERT_NE(q, nullptr) << name;
    EXPECT_EQ(q->shape, entry.shape) << name;
    if (int8.count(name)) {
      EXPECT_EQ(q->dtype, DType::kI8) << name;
      const io::SafetensorsFile::Entry* scale = quantized->Find(name + "_scale");
      ASSERT_NE(scale, nullptr) << name;
      EXPECT_EQ(scale->dtype, DType::kF32);
      EXPECT_EQ(scale->shape, std::vector<int64_t>{entry.shape[0]});
    } else {  // copied byte for byte
      EXPECT_EQ(q->dtype, entry.dtype) << name;
      const Tensor a = original->View(name), b = quantized->View(name);
      EXPECT_EQ(std::memcmp(a.raw(), b.raw(), a.nbytes()), 0) << name;
    }
  }
  // Every tensor starts at a multiple of its element size, so it can be read in place.
  for (const auto& [name, entry] : quantized->entries()) EXPECT_EQ(entry.begin % DTypeSize(entry.dtype), 0u) << name;
  for (const char* file : {"config.json", "vocab.json", "merges.txt", "preprocessor_config.json"}) {
    EXPECT_EQ(FileBytes(Out() + "/" + file), FileBytes(in + "/" + file)) << file;
  }
  EXPECT_FALSE(fs::exists(Out() + "/model.safetensors.tmp"));
}

TEST_F(CheckpointQuantizerTest, Int8ModelFromTheFolderEqualsQuantizingAtLoad) {
  QuantizeCheckpoint(testing::TinyClipDir(), Out());
  const auto at_load = ClipModel::Load(testing::TinyClipDir(), Precision::kInt8);
  const auto stored = ClipModel::Load(Out(), Precision::kInt8);
  if (stored->precision() != Precision::kInt8) GTEST_SKIP() << stored->precision_note();
  // Same function, same bits: the stored int8 weights are the ones the loader computes.
  EXPECT_EQ(EmbedImage(*stored), EmbedImage(*at_load));
  EXPECT_EQ(EmbedText(*stored), EmbedText(*at_load));
}

TEST_F(CheckpointQuantizerTest, OtherPrecisionsLoadTheFolderDequantized) {
  QuantizeCheckpoint(testing::TinyClipDir(), Out());
  const auto& golden = testing::ClipGolden();
  std::vector<float> want_image, want_text;
  for (const auto& image : golden["images"]) {
    if (image["file"] == "images/chelsea.png") want_image = image["hf"]["embedding"].get<std::vector<float>>();
  }
  want_text = golden["texts"][0]["embedding"].get<std::vector<float>>();  // "a photo of an astronaut"
  for (Precision p : {Precision::kFp32, Precision::kBf16}) {
    const auto model = ClipModel::Load(Out(), p);
    EXPECT_GE(testing::CosineSimilarity(EmbedImage(*model), want_image), 0.99) << PrecisionName(p);
    EXPECT_GE(testing::CosineSimilarity(EmbedText(*model), want_text), 0.99) << PrecisionName(p);
  }
}

// The loader hands stored int8 weights to the kernel as they are. Weights whose rows do
// not reach ±127 are not what quantizing their dequantized values would give (that
// would stretch each row to ±127), so only the stored values reproduce this product.
TEST_F(CheckpointQuantizerTest, LinearUsesStoredInt8WeightsAsTheyAre) {
  const int64_t out = 8, in = 16, rows = 5;
  Tensor q = Tensor::Empty({out, in}, DType::kI8);
  Tensor scales = Tensor::Empty({out}, DType::kF32);
  Tensor bias = Tensor::Empty({out}, DType::kF32);
  std::mt19937 rng(1);
  for (int64_t i = 0; i < q.numel(); ++i) q.data<int8_t>()[i] = static_cast<int8_t>(static_cast<int>(rng() % 7) - 3);
  for (int64_t o = 0; o < out; ++o) {
    scales.data<float>()[o] = 0.01f * (o + 1);
    bias.data<float>()[o] = 0.1f * o;
  }
  fs::create_directories(dir_);
  io::WriteSafetensors((dir_ / "model.safetensors").string(),
                       {{"fc.weight", &q}, {"fc.weight_scale", &scales}, {"fc.bias", &bias}});
  const io::Checkpoint ckpt = io::Checkpoint::Open(dir_.string());
  const layers::Linear linear = layers::Linear::Load(ckpt, "fc", in, out, true, Precision::kInt8);
  std::vector<float> x(rows * in), got(rows * out), want(rows * out);
  std::normal_distribution<float> normal;
  for (auto& v : x) v = normal(rng);
  linear.Forward(x.data(), rows, got.data());
  ops::reference::MatMulInt8(x.data(), q.data<int8_t>(), scales.data<float>(), bias.data<float>(), want.data(), rows, out,
                             in, {}, ops::Int8ActivationMaxCode());
  for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], want[i], 1e-5f) << i;
}

TEST_F(CheckpointQuantizerTest, QuantizingAQuantizedFolderChangesNothing) {
  QuantizeCheckpoint(testing::TinyClipDir(), Out("once"));
  QuantizeCheckpoint(Out("once"), Out("twice"));
  EXPECT_EQ(FileBytes(Out("twice") + "/model.safetensors"), FileBytes(Out("once") + "/model.safetensors"));
}

TEST_F(CheckpointQuantizerTest, RefusesToOverwrite) {
  QuantizeCheckpoint(testing::TinyClipDir(), Out());
  try {
    QuantizeCheckpoint(testing::TinyClipDir(), Out());
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(std::string(e.what()).find("not an empty folder"), std::string::npos) << e.what();
  }
  EXPECT_THROW(QuantizeCheckpoint(Out(), Out()), Error);  // the input folder itself
  EXPECT_THROW(QuantizeCheckpoint(Out("missing"), Out("new")), Error);
}

}  // namespace
}  // namespace mms::models

namespace mms::models {
namespace {

// LLaVA's quantized folder holds the language model's, the vision tower's (up to the
// feature layer) and the projector's matrices as int8, under the names the checkpoint
// uses; loading it at int8 gives the same features and logits as quantizing at load.
TEST_F(CheckpointQuantizerTest, LlavaInt8FolderEqualsQuantizingAtLoad) {
  const std::string in = testing::SourcePath("tests/data/llava-reference/model");
  const auto names = LlavaModel::Int8WeightNames(in);
  // 2 language layers x 7 + lm_head; 1 vision layer (feature layer -2 of 2) x 6 + patch
  // embedding; 2 projector matrices.
  EXPECT_EQ(names.size(), 15u + 7u + 2u);
  const QuantizeSummary summary = QuantizeCheckpoint(in, Out());
  EXPECT_EQ(summary.quantized, static_cast<int64_t>(names.size()));
  const auto at_load = LlavaModel::Load(in, Precision::kInt8);
  const auto stored = LlavaModel::Load(Out(), Precision::kInt8);
  if (stored->precision() != Precision::kInt8) GTEST_SKIP() << stored->precision_note();
  std::vector<float> pixels(3 * 224 * 224);
  for (size_t i = 0; i < pixels.size(); ++i) pixels[i] = static_cast<float>((i * 7919) % 255) / 127.0f - 1.0f;
  std::vector<float> a(49 * 64), b(49 * 64);
  Workspace ws;
  at_load->EncodeImages(pixels.data(), 1, a.data(), ws);
  stored->EncodeImages(pixels.data(), 1, b.data(), ws);
  EXPECT_EQ(a, b);
}

}  // namespace
}  // namespace mms::models
