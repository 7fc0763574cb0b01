// LlamaModel against the reference LLaMA's golden outputs (tests/data/llama-reference:
// llama.cpp with an fp32 KV cache, cross-checked by an independent float64 forward).
// Tolerances are the reference README's: fp32 last-position logits within
// 1e-4 × max|logit|, greedy tokens identical wherever the step's margin exceeds 1e-3.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>

#include "base/error.h"
#include "llama_test_support.h"
#include "models/llama/llama_model.h"
#include "test_support.h"

namespace mms::models {
namespace {

using testing::Argmax;
using testing::RunStep;
using testing::TestSequence;

struct Golden {
  std::vector<int32_t> prompt_ids, gen_ids;
  std::vector<double> top1, top2;
  std::vector<float> logits;  // last prompt position
};

const std::vector<Golden>& Goldens() {
  static const std::vector<Golden> goldens = [] {
    std::vector<Golden> out;
    const std::string dir = mms::testing::SourcePath("tests/data/llama-reference/golden/");
    std::ifstream in(dir + "reference.jsonl");
    std::string line;
    while (std::getline(in, line)) {
      if (line.empty()) continue;
      const auto j = nlohmann::json::parse(line);
      Golden g;
      g.prompt_ids = j["prompt_ids"].get<std::vector<int32_t>>();
      g.gen_ids = j["gen_ids"].get<std::vector<int32_t>>();
      g.top1 = j["top1"].get<std::vector<double>>();
      g.top2 = j["top2"].get<std::vector<double>>();
      std::ifstream f(dir + j["logits_file"].get<std::string>(), std::ios::binary);
      g.logits.resize(32000);
      f.read(reinterpret_cast<char*>(g.logits.data()), g.logits.size() * sizeof(float));
      EXPECT_TRUE(f) << "reading " << j["logits_file"];
      out.push_back(std::move(g));
    }
    return out;
  }();
  return goldens;
}

std::string ModelDir() { return mms::testing::SourcePath("tests/data/llama-reference/model"); }

const LlamaModel& Model(Precision p) {
  static std::unique_ptr<LlamaModel> models[3];
  auto& m = models[static_cast<int>(p)];
  if (!m) m = LlamaModel::Load(ModelDir(), p);
  return *m;
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

// Runs a golden prompt in chunks of the given sizes (cycled), then `steps` greedy
// decode steps of one token each. With teacher_forced, each step feeds the golden token
// (so a reduced precision is judged step by step, not by its first divergence); else
// the model's own argmax. Returns the last prompt position's logits and the argmax of
// every step in *picked.
std::vector<float> RunGolden(const LlamaModel& m, const Golden& g, const std::vector<int>& chunk_sizes,
                             int block_tokens, bool teacher_forced, std::vector<int32_t>* picked) {
  layers::PagedKvCache cache(m.kv_cache_shape(block_tokens), 64);
  Workspace ws;
  int next_block = 3;  // not from 0, so a block id mix-up shows
  TestSequence s;
  s.tokens = g.prompt_ids;
  std::vector<float> prompt_logits;
  size_t k = 0;
  while (s.computed < static_cast<int32_t>(s.tokens.size())) {
    const int left = static_cast<int>(s.tokens.size()) - s.computed;
    const int n = std::min(chunk_sizes[k++ % chunk_sizes.size()], left);
    const bool ends = n == left;
    std::vector<float> l = RunStep(m, {&s}, {n}, ends, cache, ws, &next_block);
    if (ends) prompt_logits = l;
    else EXPECT_TRUE(l.empty());
  }
  picked->clear();
  std::vector<float> row = prompt_logits;
  for (size_t step = 0; step < g.gen_ids.size(); ++step) {
    const int32_t best = Argmax(row.data(), m.vocab_size());
    picked->push_back(best);
    if (step + 1 == g.gen_ids.size()) break;
    s.tokens.push_back(teacher_forced ? g.gen_ids[step] : best);
    row = RunStep(m, {&s}, {1}, true, cache, ws, &next_block);
  }
  return prompt_logits;
}

void ExpectFp32Matches(const std::vector<int>& chunk_sizes, int block_tokens) {
  const LlamaModel& m = Model(Precision::kFp32);
  for (const Golden& g : Goldens()) {
    std::vector<int32_t> picked;
    const std::vector<float> logits = RunGolden(m, g, chunk_sizes, block_tokens, false, &picked);
    ASSERT_EQ(logits.size(), g.logits.size());
    const double tol = 1e-4 * MaxAbs(g.logits);
    EXPECT_LE(MaxAbsDiff(logits.data(), g.logits), tol) << "prompt of " << g.prompt_ids.size() << " tokens";
    for (size_t i = 0; i < g.gen_ids.size(); ++i) {
      if (g.top1[i] - g.top2[i] > 1e-3) {
        EXPECT_EQ(picked[i], g.gen_ids[i]) << "greedy step " << i;
      }
      if (picked[i] != g.gen_ids[i]) break;  // later steps continue a different text
    }
  }
}

TEST(LlamaGoldenTest, ConfigOfTheReferenceModel) {
  const LlamaModel& m = Model(Precision::kFp32);
  EXPECT_EQ(m.config().variant, LlamaVariant::kLlama);
  EXPECT_EQ(m.config().num_kv_heads, 2);
  EXPECT_EQ(m.config().head_dim, 16);
  EXPECT_EQ(m.vocab_size(), 32000);
  EXPECT_EQ(m.context_length(), 2048);
  const auto shape = m.kv_cache_shape(16);
  EXPECT_EQ(shape.layers, 2);
  EXPECT_EQ(shape.kv_heads, 2);
  EXPECT_EQ(shape.head_dim, 16);
}

TEST(LlamaGoldenTest, Fp32PromptAsOneChunk) { ExpectFp32Matches({1 << 20}, 16); }

TEST(LlamaGoldenTest, Fp32ChunkedPrefillOverSmallBlocks) {
  // Uneven chunks that start and end inside blocks of 4, across several steps.
  ExpectFp32Matches({3, 1, 2, 5}, 4);
  ExpectFp32Matches({1}, 4);
  ExpectFp32Matches({5, 7}, 3);
}

TEST(LlamaGoldenTest, BatchedSequencesMatchEachAlone) {
  // Sequences of different lengths in the same steps: a prefill beside a decode, then
  // batched decode. Each must give what it gives alone, to rounding.
  const LlamaModel& m = Model(Precision::kFp32);
  const auto& goldens = Goldens();
  ASSERT_GE(goldens.size(), 2u);
  const int vocab = m.vocab_size();

  // Alone: prompt then 6 greedy tokens, logits of every step kept.
  auto alone = [&](const Golden& g) {
    layers::PagedKvCache cache(m.kv_cache_shape(4), 32);
    Workspace ws;
    int next = 0;
    TestSequence s;
    s.tokens = g.prompt_ids;
    std::vector<std::vector<float>> rows = {
        RunStep(m, {&s}, {static_cast<int>(s.tokens.size())}, true, cache, ws, &next)};
    for (int i = 0; i < 6; ++i) {
      s.tokens.push_back(Argmax(rows.back().data(), vocab));
      rows.push_back(RunStep(m, {&s}, {1}, true, cache, ws, &next));
    }
    return rows;
  };
  const auto a_alone = alone(goldens[0]);
  const auto b_alone = alone(goldens[1]);

  layers::PagedKvCache cache(m.kv_cache_shape(4), 64);
  Workspace ws;
  int next = 0;
  TestSequence a, b;
  a.tokens = goldens[0].prompt_ids;
  b.tokens = goldens[1].prompt_ids;
  // Step 1: a's whole prompt beside b's first 3 tokens (b wants no logits yet).
  {
    std::vector<SequenceChunk> chunks(2);
    a.Reserve(a.tokens.size(), 4, &next);
    b.Reserve(3, 4, &next);
    chunks[0] = {a.tokens, 0, a.block_table, true, {}, nullptr};
    chunks[1] = {std::span<const int32_t>(b.tokens.data(), 3), 0, b.block_table, false, {}, nullptr};
    std::vector<float> logits;
    m.Step(chunks, cache, ws, logits);
    ASSERT_EQ(logits.size(), static_cast<size_t>(vocab));
    EXPECT_LE(MaxAbsDiff(logits.data(), a_alone[0]), 1e-5 * MaxAbs(a_alone[0]));
    a.computed = a.tokens.size();
    b.computed = 3;
    a.tokens.push_back(Argmax(logits.data(), vocab));
  }
  // Step 2: a decodes one token while b finishes its prompt.
  {
    const int rest = static_cast<int>(b.tokens.size()) - 3;
    const auto logits = RunStep(m, {&a, &b}, {1, rest}, true, cache, ws, &next);
    ASSERT_EQ(logits.size(), 2u * vocab);
    EXPECT_LE(MaxAbsDiff(logits.data(), a_alone[1]), 1e-5 * MaxAbs(a_alone[1]));
    EXPECT_LE(MaxAbsDiff(logits.data() + vocab, b_alone[0]), 1e-5 * MaxAbs(b_alone[0]));
    a.tokens.push_back(Argmax(logits.data(), vocab));
    b.tokens.push_back(Argmax(logits.data() + vocab, vocab));
  }
  // Then batched decode, b one step behind a.
  for (int step = 0; step < 5; ++step) {
    const auto logits = RunStep(m, {&b, &a}, {1, 1}, true, cache, ws, &next);
    EXPECT_LE(MaxAbsDiff(logits.data(), b_alone[step + 1]), 1e-5 * MaxAbs(b_alone[step + 1])) << step;
    EXPECT_LE(MaxAbsDiff(logits.data() + vocab, a_alone[step + 2]), 1e-5 * MaxAbs(a_alone[step + 2])) << step;
    EXPECT_EQ(Argmax(logits.data(), vocab), Argmax(b_alone[step + 1].data(), vocab));
    b.tokens.push_back(Argmax(logits.data(), vocab));
    a.tokens.push_back(Argmax(logits.data() + vocab, vocab));
  }
}

double Cosine(const std::vector<float>& a, const std::vector<float>& b) {
  double ab = 0, aa = 0, bb = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    ab += static_cast<double>(a[i]) * b[i];
    aa += static_cast<double>(a[i]) * a[i];
    bb += static_cast<double>(b[i]) * b[i];
  }
  return ab / std::sqrt(aa * bb);
}

// Reduced precisions are reported (the README asks for the logit error and the first
// greedy step that differs) and held to: bf16, no step whose margin exceeds 0.1 may
// differ; both, logits cosine to the reference at least the project's embedding bounds
// (design.md: bf16 ≥ 0.999, int8 ≥ 0.99); int8, the largest logit error within 10% of
// max|logit|. That bound is loose on purpose: per-call int8 activations of a random
// model with hidden size 64 carry ~1/127 relative error per product, over 2 layers and
// the lm_head; measured 1.5-2.3% with AMX/VNNI and 3.5-4% on the AVX2 path (7-bit
// activations), while a broken kernel (wrong scale, swapped rows) is off by 100% or more.
void ReportReducedPrecision(Precision p, double max_rel_error, double min_cosine, double margin_rule) {
  const LlamaModel& m = Model(p);
  if (m.precision() != p) GTEST_SKIP() << PrecisionName(p) << " not accelerated here: " << m.precision_note();
  for (const Golden& g : Goldens()) {
    std::vector<int32_t> picked;
    const std::vector<float> logits = RunGolden(m, g, {1 << 20}, 16, /*teacher_forced=*/true, &picked);
    const double err = MaxAbsDiff(logits.data(), g.logits), scale = MaxAbs(g.logits);
    int first_diff = -1;
    for (size_t i = 0; i < picked.size(); ++i) {
      if (picked[i] != g.gen_ids[i]) {
        if (first_diff < 0) first_diff = static_cast<int>(i);
        EXPECT_LE(g.top1[i] - g.top2[i], margin_rule) << PrecisionName(p) << " differs at greedy step " << i;
      }
    }
    const double cos = Cosine(logits, g.logits);
    std::printf("[ %s ] prompt of %zu tokens: max logit error %.4g (%.3g%% of max|logit| %.3g), cosine %.6f, "
                "first differing greedy step %s (margin there %.4g)\n",
                PrecisionName(p), g.prompt_ids.size(), err, 100 * err / scale, scale, cos,
                first_diff < 0 ? "none" : std::to_string(first_diff).c_str(),
                first_diff < 0 ? 0.0 : g.top1[first_diff] - g.top2[first_diff]);
    EXPECT_LE(err, max_rel_error * scale);
    EXPECT_GE(cos, min_cosine);
  }
}

TEST(LlamaGoldenTest, Bf16ReportAndMarginRule) { ReportReducedPrecision(Precision::kBf16, 0.05, 0.999, 0.1); }

TEST(LlamaGoldenTest, Int8ReportAndLooseBound) { ReportReducedPrecision(Precision::kInt8, 0.10, 0.99, 1e9); }

TEST(LlamaGoldenTest, RejectsBadChunks) {
  const LlamaModel& m = Model(Precision::kFp32);
  layers::PagedKvCache cache(m.kv_cache_shape(4), 4);
  Workspace ws;
  std::vector<float> logits;
  const std::vector<int32_t> tokens = {1, 2, 3, 4, 5};
  const std::vector<int32_t> table = {0, 1};
  const std::vector<int32_t> short_table = {0};
  const std::vector<int32_t> bad_table = {0, 9};
  const std::vector<int32_t> bad_token = {1, 32000};
  auto expect_invalid = [&](SequenceChunk c) {
    try {
      m.Step(std::span<const SequenceChunk>(&c, 1), cache, ws, logits);
      ADD_FAILURE() << "accepted";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument) << e.what();
    }
  };
  expect_invalid({tokens, 0, short_table, true, {}, nullptr});
  expect_invalid({tokens, 0, bad_table, true, {}, nullptr});
  expect_invalid({bad_token, 0, table, true, {}, nullptr});
  expect_invalid({tokens, -1, table, true, {}, nullptr});
  expect_invalid({tokens, 2046, table, true, {}, nullptr});
  expect_invalid({{}, 0, table, true, {}, nullptr});
  const std::vector<float> values(64, 0.5f);
  const std::vector<InjectedEmbedding> outside = {{7, values.data()}};
  expect_invalid({tokens, 0, table, true, outside, nullptr});
  layers::PagedKvCache wrong({3, 2, 16, 4}, 2);
  SequenceChunk ok{tokens, 0, table, true, {}, nullptr};
  EXPECT_THROW(m.Step(std::span<const SequenceChunk>(&ok, 1), wrong, ws, logits), Error);
}

}  // namespace
}  // namespace mms::models
