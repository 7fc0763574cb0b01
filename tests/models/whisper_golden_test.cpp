// WhisperModel against OpenAI's own Whisper on a tiny random checkpoint
// (tests/data/whisper-reference; converted by convert_whisper_model_golden.py). The
// reference README's fp32 tolerances: encoder output within about 1e-5, logits within
// about 5e-5, greedy tokens identical. The mel input is the golden one (the log-mel code
// is tested on its own).
#include <gtest/gtest.h>

#include "engine/ops/int8_matmul.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>

#include <unistd.h>

#include "base/error.h"
#include "io/json_config.h"
#include "models/checkpoint_quantizer.h"
#include "models/model_family.h"
#include "whisper_test_support.h"

namespace mms::models {
namespace {

using testing::Argmax;
using testing::ReadGoldenArray;
using testing::RunWhisperStep;
using testing::WhisperDir;
using testing::WhisperGoldenIndex;
using testing::WhisperSequence;

// A float64 forward from Hugging Face's definitions lands 9.4e-6 from OpenAI's fp32
// encoder output on utt1; this float32 one at 1.2e-5 (a plain float32 forward, with one
// running sum over the 1500 keys in P·V, at 2.8e-5).
constexpr double kEncoderTolerance = 2e-5;
constexpr double kLogitTolerance = 5e-5;
constexpr int kBlockTokens = 4;  // small, so that prompts and decodings span several blocks

const WhisperModel& Model(Precision p) {
  static std::unique_ptr<WhisperModel> models[3];
  auto& m = models[static_cast<int>(p)];
  if (!m) m = WhisperModel::Load(WhisperDir(), p);
  return *m;
}

const nlohmann::json& FileGolden(const std::string& file) { return WhisperGoldenIndex()["files"][file]; }

// One window encoded by the fp32 model (alone) and its cross-attention state.
struct Window {
  std::vector<float> encoded;
  std::shared_ptr<WhisperCrossState> state;
};

const Window& EncodedWindow(const std::string& file, Precision p = Precision::kFp32) {
  static std::map<std::pair<std::string, int>, Window> windows;
  auto key = std::make_pair(file, static_cast<int>(p));
  auto it = windows.find(key);
  if (it != windows.end()) return it->second;
  const WhisperModel& m = Model(p);
  const std::vector<float> mel = ReadGoldenArray(FileGolden(file)["mel"]);
  EXPECT_EQ(mel.size(), static_cast<size_t>(m.n_mels() * m.window_frames())) << file;
  Window w;
  w.encoded.resize(static_cast<size_t>(m.audio_positions() * m.hidden_size()));
  Workspace ws;
  m.Encode(mel.data(), 1, w.encoded.data(), ws);
  w.state = m.CrossAttentionState(w.encoded.data());
  return windows.emplace(key, std::move(w)).first->second;
}

// A fresh decoding state of the window (no-speech fields set per test).
std::shared_ptr<WhisperCrossState> FreshState(const std::string& file, Precision p = Precision::kFp32) {
  const WhisperCrossState& s = *EncodedWindow(file, p).state;
  auto copy = std::make_shared<WhisperCrossState>();
  copy->audio_positions = s.audio_positions;
  copy->keys = s.keys;
  copy->values = s.values;
  copy->keys_bf16 = s.keys_bf16;
  copy->values_bf16 = s.values_bf16;
  return copy;
}

// max |row[idx[k]] - want[k]|.
double MaxErrorAt(const float* row, const nlohmann::json& idx, const float* want) {
  double err = 0;
  for (size_t k = 0; k < idx.size(); ++k) {
    err = std::max(err, std::abs(static_cast<double>(row[idx[k].get<int>()]) - want[k]));
  }
  return err;
}

std::vector<int32_t> Tokens(const nlohmann::json& j) { return j.get<std::vector<int32_t>>(); }

layers::PagedKvCache NewCache(const WhisperModel& m) { return layers::PagedKvCache(m.kv_cache_shape(kBlockTokens), 256); }

TEST(WhisperGolden, EncoderBatchOfTwoWindowsMatchesOpenAI) {
  const WhisperModel& m = Model(Precision::kFp32);
  const int64_t rows = m.audio_positions(), d = m.hidden_size();
  const std::vector<std::string> files = {"utt1", "silence3"};
  std::vector<float> mel;
  for (const auto& f : files) {
    const std::vector<float> one = ReadGoldenArray(FileGolden(f)["mel"]);
    ASSERT_EQ(one.size(), static_cast<size_t>(m.n_mels() * m.window_frames())) << f;
    mel.insert(mel.end(), one.begin(), one.end());
  }
  std::vector<float> out(static_cast<size_t>(2 * rows * d));
  Workspace ws;
  m.Encode(mel.data(), 2, out.data(), ws);

  const std::vector<float> full = ReadGoldenArray(FileGolden("utt1")["enc_full"]);
  ASSERT_EQ(full.size(), static_cast<size_t>(rows * d));
  double full_err = 0;
  for (size_t i = 0; i < full.size(); ++i) full_err = std::max(full_err, std::abs(static_cast<double>(out[i]) - full[i]));
  std::printf("[ whisper ] encoder utt1 full: max abs error %.3g\n", full_err);
  EXPECT_LE(full_err, kEncoderTolerance);

  for (size_t w = 0; w < files.size(); ++w) {
    const auto& g = FileGolden(files[w]);
    const std::vector<float> want = ReadGoldenArray(g["enc_rows"]);
    const auto& idx = g["enc_rows_idx"];
    ASSERT_EQ(want.size(), idx.size() * d);
    double err = 0;
    for (size_t r = 0; r < idx.size(); ++r) {
      const float* got = out.data() + (w * rows + idx[r].get<int64_t>()) * d;
      for (int64_t k = 0; k < d; ++k) err = std::max(err, std::abs(static_cast<double>(got[k]) - want[r * d + k]));
    }
    std::printf("[ whisper ] encoder %s rows: max abs error %.3g\n", files[w].c_str(), err);
    EXPECT_LE(err, kEncoderTolerance) << files[w];
    // A window encoded alone gives what it gives in the batch.
    const std::vector<float>& alone = EncodedWindow(files[w]).encoded;
    double diff = 0;
    for (int64_t i = 0; i < rows * d; ++i) diff = std::max(diff, std::abs(static_cast<double>(alone[i]) - out[w * rows * d + i]));
    // oneDNN's AVX2 kernels block the rows of a batch differently: 2.5e-6 there, 0 with AVX-512.
    EXPECT_LE(diff, 5e-6) << files[w] << ": batch of 2 vs alone";
  }
}

// The raw logits of the first three decoding steps (after the prompt, then after each of
// the golden step tokens), with the prompt as one chunk or token by token.
TEST(WhisperGolden, FirstStepLogitsBothPromptModes) {
  const WhisperModel& m = Model(Precision::kFp32);
  const int V = m.vocab_size();
  double worst = 0;
  for (const std::string file : {"utt1", "silence3"}) {
    for (const std::string mode : {"notime", "ts"}) {
      const auto& g = FileGolden(file)[mode];
      const std::vector<float> want = ReadGoldenArray(g["logits"]);
      const size_t K = g["logit_idx"].size();
      ASSERT_EQ(want.size(), 3 * K);
      for (const bool prefill : {true, false}) {
        layers::PagedKvCache cache = NewCache(m);
        Workspace ws;
        int next_block = 0;
        WhisperSequence s{{Tokens(g["prompt_tokens"]), {}, 0}, FreshState(file)};
        std::vector<float> logits;
        if (prefill) {
          logits = RunWhisperStep(m, {&s}, {static_cast<int>(s.seq.tokens.size())}, true, cache, ws, &next_block);
        } else {
          for (size_t i = 0; i < s.seq.tokens.size(); ++i) logits = RunWhisperStep(m, {&s}, {1}, true, cache, ws, &next_block);
        }
        for (int step = 0; step < 3; ++step) {
          ASSERT_EQ(logits.size(), static_cast<size_t>(V));
          const double err = MaxErrorAt(logits.data(), g["logit_idx"], want.data() + step * K);
          worst = std::max(worst, err);
          EXPECT_LE(err, kLogitTolerance) << file << " " << mode << " step " << step << (prefill ? " prefill" : " token by token");
          s.seq.tokens.push_back(g["step_tokens"][step].get<int32_t>());
          logits = RunWhisperStep(m, {&s}, {1}, true, cache, ws, &next_block);
        }
      }
    }
  }
  std::printf("[ whisper ] first-step logits: max abs error %.3g\n", worst);
}

// Teacher-forced logits at every position of summary.json's teacher_prompt: token by
// token, and the last position of the whole prompt as one chunk.
TEST(WhisperGolden, TeacherForcedLogits) {
  const WhisperModel& m = Model(Precision::kFp32);
  const int V = m.vocab_size();
  const std::vector<int32_t> prompt = Tokens(WhisperGoldenIndex()["teacher_prompt"]);
  double worst = 0;
  for (const std::string file : {"utt1", "silence3"}) {
    const auto& g = FileGolden(file);
    const std::vector<float> want = ReadGoldenArray(g["teacher_logits"]);
    const size_t K = g["teacher_logit_idx"].size();
    ASSERT_EQ(want.size(), prompt.size() * K);
    layers::PagedKvCache cache = NewCache(m);
    Workspace ws;
    int next_block = 0;
    WhisperSequence s{{prompt, {}, 0}, FreshState(file)};
    for (size_t i = 0; i < prompt.size(); ++i) {
      const std::vector<float> logits = RunWhisperStep(m, {&s}, {1}, true, cache, ws, &next_block);
      const double err = MaxErrorAt(logits.data(), g["teacher_logit_idx"], want.data() + i * K);
      worst = std::max(worst, err);
      EXPECT_LE(err, kLogitTolerance) << file << " position " << i;
      EXPECT_EQ(Argmax(logits.data(), V), g["teacher_argmax"][i].get<int32_t>()) << file << " position " << i;
    }
    WhisperSequence whole{{prompt, {}, 0}, FreshState(file)};
    const std::vector<float> logits =
        RunWhisperStep(m, {&whole}, {static_cast<int>(prompt.size())}, true, cache, ws, &next_block);
    EXPECT_LE(MaxErrorAt(logits.data(), g["teacher_logit_idx"], want.data() + (prompt.size() - 1) * K), kLogitTolerance)
        << file << " as one chunk";
  }
  std::printf("[ whisper ] teacher-forced logits: max abs error %.3g\n", worst);
}

// generation_config.json's suppress_tokens always, begin_suppress_tokens at the first
// step: with suppress_blank and suppress_tokens "-1", OpenAI's filters for decoding
// without timestamps amount to exactly these sets.
struct SimpleFilter {
  std::vector<int32_t> always, first;
  SimpleFilter() {
    const nlohmann::json g = io::LoadJsonFile(WhisperDir() + "/generation_config.json");
    always = Tokens(g["suppress_tokens"]);
    first = Tokens(g["begin_suppress_tokens"]);
  }
  int32_t Pick(std::vector<float> row, int step) const {
    for (int32_t t : always) row[t] = -INFINITY;
    if (step == 0) {
      for (int32_t t : first) row[t] = -INFINITY;
    }
    return Argmax(row.data(), static_cast<int>(row.size()));
  }
};

// 20 greedy steps without timestamps of two different windows decoded together: their
// chunks stacked in every step (prompts of different audio in one prefill step, then one
// token each).
TEST(WhisperGolden, GreedyTokensTwoWindowsInOneStep) {
  const WhisperModel& m = Model(Precision::kFp32);
  const int V = m.vocab_size();
  const SimpleFilter filter;
  const std::vector<std::string> files = {"utt1", "silence3"};
  layers::PagedKvCache cache = NewCache(m);
  Workspace ws;
  int next_block = 0;
  std::vector<WhisperSequence> seqs;
  for (const auto& f : files) seqs.push_back({{Tokens(FileGolden(f)["notime"]["prompt_tokens"]), {}, 0}, FreshState(f)});
  std::vector<float> logits = RunWhisperStep(m, {&seqs[0], &seqs[1]}, {4, 4}, true, cache, ws, &next_block);
  std::vector<std::vector<int32_t>> got(2);
  for (int step = 0; step < 20; ++step) {
    ASSERT_EQ(logits.size(), static_cast<size_t>(2 * V));
    for (int i = 0; i < 2; ++i) {
      const std::vector<float> row(logits.begin() + i * V, logits.begin() + (i + 1) * V);
      if (step < 3) {
        const auto& g = FileGolden(files[i])["notime"];
        const std::vector<float> want = ReadGoldenArray(g["logits"]);
        EXPECT_LE(MaxErrorAt(row.data(), g["logit_idx"], want.data() + step * g["logit_idx"].size()), kLogitTolerance)
            << files[i] << " step " << step;
      }
      got[i].push_back(filter.Pick(row, step));
      seqs[i].seq.tokens.push_back(got[i].back());
    }
    logits = RunWhisperStep(m, {&seqs[0], &seqs[1]}, {1, 1}, true, cache, ws, &next_block);
  }
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(got[i], Tokens(FileGolden(files[i])["notime"]["step_tokens"])) << files[i];
  }
}

// Different prompt modes, different audio and different chunk shapes in one step: a
// prompt of 3 tokens next to the second half of a prompt whose first half ran before.
TEST(WhisperGolden, MixedChunksInOneStep) {
  const WhisperModel& m = Model(Precision::kFp32);
  const int V = m.vocab_size();
  const auto& ga = FileGolden("utt1")["notime"];
  const auto& gb = FileGolden("silence3")["ts"];
  layers::PagedKvCache cache = NewCache(m);
  Workspace ws;
  int next_block = 0;
  WhisperSequence a{{Tokens(ga["prompt_tokens"]), {}, 0}, FreshState("utt1")};
  WhisperSequence b{{Tokens(gb["prompt_tokens"]), {}, 0}, FreshState("silence3")};
  EXPECT_TRUE(RunWhisperStep(m, {&a}, {2}, false, cache, ws, &next_block).empty());
  std::vector<float> logits = RunWhisperStep(m, {&b, &a}, {3, 2}, true, cache, ws, &next_block);
  const std::vector<float> want_a = ReadGoldenArray(ga["logits"]), want_b = ReadGoldenArray(gb["logits"]);
  const size_t ka = ga["logit_idx"].size(), kb = gb["logit_idx"].size();
  for (int step = 0; step < 3; ++step) {
    ASSERT_EQ(logits.size(), static_cast<size_t>(2 * V));
    EXPECT_LE(MaxErrorAt(logits.data(), gb["logit_idx"], want_b.data() + step * kb), kLogitTolerance) << "ts step " << step;
    EXPECT_LE(MaxErrorAt(logits.data() + V, ga["logit_idx"], want_a.data() + step * ka), kLogitTolerance)
        << "notime step " << step;
    b.seq.tokens.push_back(gb["step_tokens"][step].get<int32_t>());
    a.seq.tokens.push_back(ga["step_tokens"][step].get<int32_t>());
    logits = RunWhisperStep(m, {&b, &a}, {1, 1}, true, cache, ws, &next_block);
  }
}

// The no-speech probability at the <|startoftranscript|> position, whether that row ends
// a chunk that wants logits or sits inside a prefill chunk (or one wanting none).
TEST(WhisperGolden, NoSpeechProbability) {
  const WhisperModel& m = Model(Precision::kFp32);
  const int32_t no_speech = 50362;  // <|nospeech|> of the multilingual vocabulary
  for (const std::string file : {"utt1", "silence3"}) {
    for (const std::string mode : {"notime", "ts"}) {
      const auto& g = FileGolden(file)[mode];
      const double want = g["no_speech_prob"].get<double>();
      const int n = static_cast<int>(g["prompt_tokens"].size());
      for (int variant = 0; variant < 3; ++variant) {
        layers::PagedKvCache cache = NewCache(m);
        Workspace ws;
        int next_block = 0;
        auto state = FreshState(file);
        state->sot_index = 0;
        state->no_speech_token = no_speech;
        WhisperSequence s{{Tokens(g["prompt_tokens"]), {}, 0}, state};
        std::vector<float> logits;
        if (variant == 0) {  // the whole prompt: the sot row is inside the chunk
          logits = RunWhisperStep(m, {&s}, {n}, true, cache, ws, &next_block);
          EXPECT_EQ(logits.size(), static_cast<size_t>(m.vocab_size())) << "no-speech row returned as logits";
        } else if (variant == 1) {  // token by token: the sot row ends a chunk wanting logits
          for (int i = 0; i < n; ++i) RunWhisperStep(m, {&s}, {1}, true, cache, ws, &next_block);
        } else {  // a prefill chunk wanting no logits
          EXPECT_TRUE(RunWhisperStep(m, {&s}, {n - 1}, false, cache, ws, &next_block).empty());
        }
        const double got = state->no_speech_prob.load();
        EXPECT_NEAR(got, want, 1e-3 * want) << file << " " << mode << " variant " << variant;
        if (variant == 0) std::printf("[ whisper ] no_speech_prob %s %s: %.6g vs %.6g\n", file.c_str(), mode.c_str(), got, want);
      }
    }
  }
  // Without a no-speech token nothing is computed.
  layers::PagedKvCache cache = NewCache(m);
  Workspace ws;
  int next_block = 0;
  auto state = FreshState("utt1");
  state->sot_index = 0;
  WhisperSequence s{{Tokens(FileGolden("utt1")["notime"]["prompt_tokens"]), {}, 0}, state};
  RunWhisperStep(m, {&s}, {4}, true, cache, ws, &next_block);
  EXPECT_TRUE(std::isnan(state->no_speech_prob.load()));
}

// bf16 and int8 against fp32 (where this CPU runs them): teacher-forced along the fp32
// greedy tokens of utt1, the logits' error relative to their largest magnitude and the
// top-1 agreement.
void CheckLowPrecision(Precision p, double max_relative_error, int min_top1_agreement) {
  const WhisperModel& m = Model(p);
  if (m.precision() != p) GTEST_SKIP() << PrecisionName(p) << " not accelerated here: " << m.precision_note();
  const WhisperModel& ref = Model(Precision::kFp32);
  const int V = m.vocab_size();
  const auto& g = FileGolden("utt1")["notime"];
  std::vector<int32_t> tokens = Tokens(g["prompt_tokens"]);
  const std::vector<int32_t> steps = Tokens(g["step_tokens"]);
  tokens.insert(tokens.end(), steps.begin(), steps.end());

  // Encoder output against fp32.
  const std::vector<float>& enc = EncodedWindow("utt1", p).encoded;
  const std::vector<float>& enc_ref = EncodedWindow("utt1").encoded;
  double enc_err = 0, enc_max = 0;
  for (size_t i = 0; i < enc.size(); ++i) {
    enc_err = std::max(enc_err, std::abs(static_cast<double>(enc[i]) - enc_ref[i]));
    enc_max = std::max(enc_max, std::abs(static_cast<double>(enc_ref[i])));
  }

  layers::PagedKvCache cache = NewCache(m), cache_ref = NewCache(ref);
  Workspace ws, ws_ref;
  int next = 0, next_ref = 0;
  WhisperSequence s{{tokens, {}, 0}, FreshState("utt1", p)}, r{{tokens, {}, 0}, FreshState("utt1")};
  std::vector<float> logits = RunWhisperStep(m, {&s}, {4}, true, cache, ws, &next);
  std::vector<float> want = RunWhisperStep(ref, {&r}, {4}, true, cache_ref, ws_ref, &next_ref);
  double worst = 0;
  int agree = 0;
  for (size_t step = 0; step < steps.size(); ++step) {
    double err = 0, mag = 0;
    for (int i = 0; i < V; ++i) {
      err = std::max(err, std::abs(static_cast<double>(logits[i]) - want[i]));
      mag = std::max(mag, std::abs(static_cast<double>(want[i])));
    }
    worst = std::max(worst, err / mag);
    agree += Argmax(logits.data(), V) == Argmax(want.data(), V);
    if (step + 1 == steps.size()) break;
    logits = RunWhisperStep(m, {&s}, {1}, true, cache, ws, &next);
    want = RunWhisperStep(ref, {&r}, {1}, true, cache_ref, ws_ref, &next_ref);
  }
  std::printf("[ whisper ] %s vs fp32: encoder max abs error %.3g (max |x| %.3g), logits max error %.3g of max |logit|, "
              "top-1 agreement %d/%zu\n",
              PrecisionName(p), enc_err, enc_max, worst, agree, steps.size());
  EXPECT_LE(worst, max_relative_error);
  EXPECT_GE(agree, min_top1_agreement);
}

TEST(WhisperGolden, Bf16CloseToFp32) { CheckLowPrecision(Precision::kBf16, 0.05, 17); }
// Measured on the reference model (random weights, so less robust to rounding than a
// trained one): bf16 0.025 of max |logit| with 20/20 top-1, int8 0.12 with 19/20; on the
// AVX2 path, whose int8 kernel quantises activations to 7 bits, int8 0.28 with 19/20. A
// broken kernel (wrong scale, swapped rows) is off by 100% or more.
TEST(WhisperGolden, Int8CloseToFp32) {
  const bool seven_bit = ops::Int8ActivationMaxCode() < 255;
  CheckLowPrecision(Precision::kInt8, seven_bit ? 0.4 : 0.2, 17);
}

// `mmserve quantize` stores the projection matrices as int8; an int8 model loaded from
// that folder computes exactly what one quantizing the float32 file at load does.
TEST(WhisperGolden, QuantizedCheckpointLoadsAsInt8) {
  const WhisperModel& m = Model(Precision::kInt8);
  if (m.precision() != Precision::kInt8) GTEST_SKIP() << "int8 not accelerated here: " << m.precision_note();
  namespace fs = std::filesystem;
  const fs::path out = fs::temp_directory_path() / ("mms_whisper_quantized_" + std::to_string(::getpid()));
  fs::remove_all(out);
  const QuantizeSummary summary = QuantizeCheckpoint(WhisperDir(), out.string());
  EXPECT_EQ(summary.quantized, WhisperModel::Int8WeightNames(m.config()).size());
  const auto q = WhisperModel::Load(out.string(), Precision::kInt8);
  const auto& g = FileGolden("utt1")["notime"];
  std::vector<float> got[2];
  const WhisperModel* models[2] = {&m, q.get()};
  for (int i = 0; i < 2; ++i) {
    layers::PagedKvCache cache = NewCache(*models[i]);
    Workspace ws;
    int next = 0;
    WhisperSequence s{{Tokens(g["prompt_tokens"]), {}, 0}, FreshState("utt1", Precision::kInt8)};
    got[i] = RunWhisperStep(*models[i], {&s}, {4}, true, cache, ws, &next);
  }
  EXPECT_EQ(got[0], got[1]);
  fs::remove_all(out);
}

TEST(WhisperModel, RegisteredAsTranscriptionFamily) {
  ASSERT_EQ(DetectModelFamily(WhisperDir()), ModelFamily::kWhisper);
  const FamilyInfo& f = FamilyOf(ModelFamily::kWhisper);
  EXPECT_STREQ(f.name, "whisper");
  EXPECT_EQ(f.scheduling, SchedulingKind::kTranscription);
  EXPECT_EQ(ParseModelFamily("whisper"), ModelFamily::kWhisper);
  ASSERT_NE(f.load_generative, nullptr);
  const auto g = f.load_generative(WhisperDir(), {});
  ASSERT_NE(dynamic_cast<const WhisperModel*>(g.get()), nullptr);
  EXPECT_EQ(g->vocab_size(), 51865);
  EXPECT_EQ(g->context_length(), 448);
  const layers::KvCacheShape s = g->kv_cache_shape(16);
  EXPECT_EQ(s.layers, 2);
  EXPECT_EQ(s.kv_heads, 2);
  EXPECT_EQ(s.head_dim, 32);
}

TEST(WhisperModel, StepRejectsChunksWithoutAWindow) {
  const WhisperModel& m = Model(Precision::kFp32);
  layers::PagedKvCache cache = NewCache(m);
  Workspace ws;
  int next_block = 0;
  WhisperSequence s{{{50258}, {}, 0}, nullptr};
  try {
    RunWhisperStep(m, {&s}, {1}, true, cache, ws, &next_block);
    FAIL() << "a chunk without a WhisperCrossState ran";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(std::string(e.what()).find("chunk 0"), std::string::npos) << e.what();
  }
  auto broken = FreshState("utt1");
  broken->keys.pop_back();
  WhisperSequence b{{{50258}, {}, 0}, broken};
  EXPECT_THROW(RunWhisperStep(m, {&b}, {1}, true, cache, ws, &next_block), Error);
  WhisperSequence far{{std::vector<int32_t>(449, 50258), {}, 0}, FreshState("utt1")};
  EXPECT_THROW(RunWhisperStep(m, {&far}, {449}, true, cache, ws, &next_block), Error);
}

TEST(WhisperConfigTest, ErrorsNameFileAndField) {
  nlohmann::json j = io::LoadJsonFile(WhisperDir() + "/config.json");
  const WhisperConfig c = WhisperConfig::FromJson(j, "config.json");
  EXPECT_EQ(c.d_model, 64);
  EXPECT_EQ(c.encoder_attention_heads, 2);
  EXPECT_EQ(c.vocab_size, 51865);
  EXPECT_TRUE(c.tie_word_embeddings);
  const auto expect_error = [](nlohmann::json bad, const std::string& field) {
    try {
      WhisperConfig::FromJson(bad, "dir/config.json");
      ADD_FAILURE() << "accepted a bad " << field;
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kInvalidModel);
      const std::string what = e.what();
      EXPECT_NE(what.find("dir/config.json"), std::string::npos) << what;
      EXPECT_NE(what.find(field), std::string::npos) << what;
    }
  };
  nlohmann::json bad = j;
  bad["d_model"] = 0;
  expect_error(bad, "d_model");
  bad = j;
  bad["num_mel_bins"] = 129;  // no filter bank for it (found by the config fuzzer)
  expect_error(bad, "num_mel_bins");
  bad = j;
  bad["decoder_attention_heads"] = 3;
  expect_error(bad, "decoder_attention_heads");
  bad = j;
  bad["vocab_size"] = -5;
  expect_error(bad, "vocab_size");
  bad = j;
  bad["activation_function"] = "relu";
  expect_error(bad, "activation_function");
  bad = j;
  bad["model_type"] = "llama";
  expect_error(bad, "model_type");
}

}  // namespace
}  // namespace mms::models
