// How long Encode takes for one 30 s window at whisper-tiny's size (d_model 384, 4 layers,
// 6 heads, ffn 1536; random weights written to a temporary checkpoint). Disabled by
// default (seconds of arithmetic); run with
//   models_tests --gtest_also_run_disabled_tests --gtest_filter='*EncodeTiming*'
#include <gtest/gtest.h>

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>

#include "io/safetensors.h"
#include "models/whisper/whisper_model.h"
#include "test_support.h"

namespace mms::models {
namespace {

std::string WriteRandomTinyWhisper() {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / ("mms_whisper_tiny_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const int64_t d = 384, ffn = 1536, mels = 80, layers = 4, vocab = 51865;
  std::ofstream(dir / "config.json") << R"({"model_type": "whisper", "d_model": 384, "encoder_layers": 4,
    "decoder_layers": 4, "encoder_attention_heads": 6, "decoder_attention_heads": 6, "encoder_ffn_dim": 1536,
    "decoder_ffn_dim": 1536, "num_mel_bins": 80, "vocab_size": 51865})";
  std::deque<Tensor> storage;
  std::vector<io::NamedTensor> tensors;
  unsigned seed = 1;
  const auto add = [&](const std::string& name, std::vector<int64_t> shape, float scale) {
    Tensor t = Tensor::Empty(shape, DType::kF32);
    const std::vector<float> v = mms::testing::Random(t.numel(), seed++, scale);
    std::memcpy(t.raw(), v.data(), v.size() * sizeof(float));
    storage.push_back(std::move(t));
    tensors.push_back({name, &storage.back()});
  };
  const auto norm = [&](const std::string& p) {
    add(p + ".weight", {d}, 0.1f);
    add(p + ".bias", {d}, 0.1f);
  };
  const auto proj = [&](const std::string& p, int64_t out, int64_t in, bool bias) {
    add(p + ".weight", {out, in}, 0.05f);
    if (bias) add(p + ".bias", {out}, 0.05f);
  };
  add("model.encoder.conv1.weight", {d, mels, 3}, 0.05f);
  add("model.encoder.conv1.bias", {d}, 0.05f);
  add("model.encoder.conv2.weight", {d, d, 3}, 0.05f);
  add("model.encoder.conv2.bias", {d}, 0.05f);
  add("model.encoder.embed_positions.weight", {1500, d}, 0.5f);
  norm("model.encoder.layer_norm");
  add("model.decoder.embed_tokens.weight", {vocab, d}, 0.05f);
  add("model.decoder.embed_positions.weight", {448, d}, 0.05f);
  norm("model.decoder.layer_norm");
  for (int64_t i = 0; i < layers; ++i) {
    for (const std::string side : {"encoder", "decoder"}) {
      const std::string p = "model." + side + ".layers." + std::to_string(i);
      std::vector<std::string> attns = {".self_attn"};
      if (side == "decoder") attns.push_back(".encoder_attn");
      for (const auto& a : attns) {
        proj(p + a + ".q_proj", d, d, true);
        proj(p + a + ".k_proj", d, d, false);
        proj(p + a + ".v_proj", d, d, true);
        proj(p + a + ".out_proj", d, d, true);
        norm(p + a + "_layer_norm");
      }
      proj(p + ".fc1", ffn, d, true);
      proj(p + ".fc2", d, ffn, true);
      norm(p + ".final_layer_norm");
    }
  }
  io::WriteSafetensors((dir / "model.safetensors").string(), tensors);
  return dir.string();
}

TEST(WhisperModel, DISABLED_EncodeTimingTinySize) {
  const std::string dir = WriteRandomTinyWhisper();
  for (const Precision p : {Precision::kFp32, Precision::kBf16, Precision::kInt8}) {
    const auto m = WhisperModel::Load(dir, p);
    if (m->precision() != p) continue;
    const std::vector<float> mel = mms::testing::Random(static_cast<size_t>(m->n_mels() * m->window_frames()), 7, 0.5f);
    std::vector<float> out(static_cast<size_t>(m->audio_positions() * m->hidden_size()));
    Workspace ws;
    m->Encode(mel.data(), 1, out.data(), ws);  // warm-up: oneDNN kernels, workspace
    const int runs = 3;
    const auto t0 = std::chrono::steady_clock::now();
    for (int r = 0; r < runs; ++r) m->Encode(mel.data(), 1, out.data(), ws);
    const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count() / runs;
    std::printf("[ whisper ] Encode, one window, whisper-tiny size, %s: %.1f ms\n", PrecisionName(p), ms);
    EXPECT_TRUE(std::isfinite(out[0]));
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace mms::models
