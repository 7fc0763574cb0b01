// The sampler against distributions worked out by hand in this file (in double, with
// nothing of sampling.cpp), and against the empirical frequencies of many seeded draws.
#include "generation/sampling.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <random>
#include <vector>

#include "base/error.h"

namespace mms::generation {
namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

std::vector<float> LogOf(const std::vector<double>& probs) {
  std::vector<float> out;
  for (double p : probs) out.push_back(static_cast<float>(std::log(p)));
  return out;
}

// Draws `n` tokens, each from a fresh copy of `logits`, with one sampler.
std::vector<int> Counts(const SamplingParams& params, const std::vector<float>& logits, int n) {
  Sampler sampler(params, {}, static_cast<int>(logits.size()));
  std::vector<int> counts(logits.size(), 0);
  for (int i = 0; i < n; ++i) {
    std::vector<float> row = logits;
    ++counts[sampler.Sample(row).token];
  }
  return counts;
}

// Pearson's chi-square of the counts against `expected` probabilities (which must sum to
// 1). Tokens with probability 0 must never be drawn. The bound is the 0.999 quantile of
// chi-square for the degrees of freedom: a correct sampler fails it once in a thousand
// seeds, and the seeds here are fixed.
void ExpectMatches(const std::vector<int>& counts, const std::vector<double>& expected, int n) {
  ASSERT_EQ(counts.size(), expected.size());
  static const double kChi2_999[] = {0, 10.83, 13.82, 16.27, 18.47, 20.52, 22.46, 24.32, 26.12, 27.88};
  double chi2 = 0.0;
  int categories = 0;
  for (size_t i = 0; i < counts.size(); ++i) {
    if (expected[i] == 0.0) {
      EXPECT_EQ(counts[i], 0) << "token " << i << " has probability 0 but was drawn";
      continue;
    }
    ++categories;
    const double e = expected[i] * n;
    chi2 += (counts[i] - e) * (counts[i] - e) / e;
  }
  ASSERT_GE(categories, 1);
  ASSERT_LT(categories - 1, 10);
  if (categories > 1) {
    EXPECT_LT(chi2, kChi2_999[categories - 1]) << "frequencies differ from the filtered distribution";
  }
}

// The hand-made distribution of most tests: probabilities 0.4, 0.3, 0.15, 0.1, 0.05.
const std::vector<double> kProbs = {0.4, 0.3, 0.15, 0.1, 0.05};

std::vector<double> Normalized(std::vector<double> v) {
  const double s = std::accumulate(v.begin(), v.end(), 0.0);
  for (double& x : v) x /= s;
  return v;
}

TEST(Sampler, PlainTemperatureOneFollowsSoftmax) {
  SamplingParams p;
  p.seed = 11;
  ExpectMatches(Counts(p, LogOf(kProbs), 40000), kProbs, 40000);
}

TEST(Sampler, TemperatureSharpensAndFlattens) {
  SamplingParams p;
  p.seed = 12;
  p.temperature = 0.5f;  // p^2, renormalized
  std::vector<double> sq;
  for (double x : kProbs) sq.push_back(x * x);
  ExpectMatches(Counts(p, LogOf(kProbs), 40000), Normalized(sq), 40000);
  p.temperature = 2.0f;  // sqrt(p), renormalized
  std::vector<double> rt;
  for (double x : kProbs) rt.push_back(std::sqrt(x));
  ExpectMatches(Counts(p, LogOf(kProbs), 40000), Normalized(rt), 40000);
}

TEST(Sampler, TopKKeepsTheKBest) {
  SamplingParams p;
  p.seed = 13;
  p.top_k = 2;
  ExpectMatches(Counts(p, LogOf(kProbs), 30000), {0.4 / 0.7, 0.3 / 0.7, 0, 0, 0}, 30000);
}

TEST(Sampler, TopPKeepsTheSmallestSetReachingP) {
  SamplingParams p;
  p.seed = 14;
  p.top_p = 0.8f;  // 0.4, 0.7, 0.85: the third token reaches it
  ExpectMatches(Counts(p, LogOf(kProbs), 30000), {0.4 / 0.85, 0.3 / 0.85, 0.15 / 0.85, 0, 0}, 30000);
  p.top_p = 0.35f;  // the best alone reaches it
  ExpectMatches(Counts(p, LogOf(kProbs), 2000), {1, 0, 0, 0, 0}, 2000);
  p.top_p = 0.01f;  // at least one token
  ExpectMatches(Counts(p, LogOf(kProbs), 2000), {1, 0, 0, 0, 0}, 2000);
}

TEST(Sampler, TopPIsRelativeToTheTopKSet) {
  // vLLM and HF: top_k first, then top_p over the renormalized survivors.
  SamplingParams p;
  p.seed = 15;
  p.top_k = 3;     // 0.4, 0.3, 0.15 -> 0.47, 0.35, 0.18 after renormalizing
  p.top_p = 0.8f;  // 0.47, 0.82: two tokens (over the full vocabulary it would be three)
  ExpectMatches(Counts(p, LogOf(kProbs), 30000), {0.4 / 0.7, 0.3 / 0.7, 0, 0, 0}, 30000);
}

TEST(Sampler, MinPIsRelativeToTheMaxProbability) {
  SamplingParams p;
  p.seed = 16;
  p.min_p = 0.3f;  // threshold 0.3 * 0.4 = 0.12: keeps 0.4, 0.3, 0.15
  ExpectMatches(Counts(p, LogOf(kProbs), 30000), {0.4 / 0.85, 0.3 / 0.85, 0.15 / 0.85, 0, 0}, 30000);
  // After temperature: at T = 0.5 the probabilities are p^2 / 0.285, so 0.3 * 0.16 = 0.048
  // keeps 0.16 and 0.09 only (0.0225 < 0.048).
  p.temperature = 0.5f;
  ExpectMatches(Counts(p, LogOf(kProbs), 30000), {0.16 / 0.25, 0.09 / 0.25, 0, 0, 0}, 30000);
}

TEST(Sampler, LargeVocabularyTopPMatchesAFullSort) {
  // 5000 tokens of similar logits: top_p 0.95 needs thousands of tokens, past the first
  // sorted chunks. The reference set comes from sorting every probability here.
  const int v = 5000;
  std::mt19937 gen(7);
  std::normal_distribution<float> normal(0.0f, 0.5f);
  std::vector<float> logits(v);
  for (float& x : logits) x = normal(gen);
  std::vector<double> probs(v);
  double z = 0;
  for (int i = 0; i < v; ++i) z += std::exp(static_cast<double>(logits[i]));
  for (int i = 0; i < v; ++i) probs[i] = std::exp(static_cast<double>(logits[i])) / z;
  std::vector<int> order(v);
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](int a, int b) { return probs[a] > probs[b]; });
  std::vector<bool> in_nucleus(v, false);
  double cum = 0;
  size_t nucleus = 0;
  for (int t : order) {
    in_nucleus[t] = true;
    ++nucleus;
    cum += probs[t];
    if (cum >= 0.95) break;
  }
  ASSERT_GT(nucleus, 1000u);
  SamplingParams p;
  p.seed = 17;
  p.top_p = 0.95f;
  Sampler sampler(p, {}, v);
  std::vector<bool> seen(v, false);
  int drawn_from_tail_half = 0;
  for (int i = 0; i < 20000; ++i) {
    std::vector<float> row = logits;
    const int t = sampler.Sample(row).token;
    ASSERT_TRUE(in_nucleus[t]) << "token " << t << " lies outside the top-p set";
    seen[t] = true;
    // The weaker half of the nucleus by rank must be reached too.
    if (std::find(order.begin() + nucleus / 2, order.begin() + nucleus, t) != order.begin() + nucleus) {
      ++drawn_from_tail_half;
    }
  }
  EXPECT_GT(drawn_from_tail_half, 2000);
  // And the token just outside the set was never drawn.
  EXPECT_FALSE(seen[order[nucleus]]);
}

TEST(Sampler, GreedyTakesTheArgmaxAndTiesGoToTheLowestId) {
  SamplingParams p;
  p.temperature = 0.0f;
  Sampler sampler(p, {}, 6);
  std::vector<float> row = {1.0f, 3.0f, -2.0f, 3.0f, 2.5f, 3.0f};
  EXPECT_EQ(sampler.Sample(row).token, 1);
  std::vector<float> all_equal(6, 0.25f);
  EXPECT_EQ(sampler.Sample(all_equal).token, 0);
}

TEST(Sampler, SameSeedSameTokensWhateverElseRuns) {
  std::vector<float> logits = LogOf(kProbs);
  SamplingParams p;
  p.seed = 1234;
  p.temperature = 0.9f;
  auto run_alone = [&] {
    Sampler s(p, {}, 5);
    std::vector<int> tokens;
    for (int i = 0; i < 200; ++i) {
      std::vector<float> row = logits;
      tokens.push_back(s.Sample(row).token);
    }
    return tokens;
  };
  const std::vector<int> alone = run_alone();
  EXPECT_EQ(alone, run_alone());
  // Interleaved with other sequences (other seeds, other parameters), as in a batch.
  Sampler mine(p, {}, 5);
  SamplingParams other = p;
  other.seed = 99;
  other.top_k = 3;
  Sampler a(other, {}, 5), b(SamplingParams{}, {}, 5);
  std::vector<int> interleaved;
  for (int i = 0; i < 200; ++i) {
    std::vector<float> r1 = logits, r2 = logits, r3 = logits;
    a.Sample(r1);
    interleaved.push_back(mine.Sample(r2).token);
    b.Sample(r3);
  }
  EXPECT_EQ(alone, interleaved);
  // A different seed gives a different sequence (200 draws agreeing by chance: ~0).
  SamplingParams p2 = p;
  p2.seed = 1235;
  Sampler s2(p2, {}, 5);
  std::vector<int> other_tokens;
  for (int i = 0; i < 200; ++i) {
    std::vector<float> row = logits;
    other_tokens.push_back(s2.Sample(row).token);
  }
  EXPECT_NE(alone, other_tokens);
}

TEST(Sampler, TheDrawIsTheDocumentedOne) {
  // sampling.cpp's procedure, rewritten here: u = (rng() >> 11) * 2^-53 from the seed's
  // mt19937_64, walk the kept tokens by id summing exp((l - max) / T).
  const std::vector<float> logits = {0.5f, -1.0f, 2.0f, 0.0f, 1.0f, -0.5f};
  SamplingParams p;
  p.seed = 42;
  p.temperature = 0.7f;
  Sampler sampler(p, {}, 6);
  std::mt19937_64 rng(42);
  for (int step = 0; step < 100; ++step) {
    std::vector<double> w;
    double total = 0;
    for (float l : logits) {
      w.push_back(std::exp((static_cast<double>(l) - 2.0) / 0.7));
      total += w.back();
    }
    const double u = static_cast<double>(rng() >> 11) * 0x1.0p-53;
    double sum = 0;
    int want = 5;
    for (int t = 0; t < 6; ++t) {
      sum += w[t];
      if (sum > u * total) {
        want = t;
        break;
      }
    }
    std::vector<float> row = logits;
    ASSERT_EQ(sampler.Sample(row).token, want) << "step " << step;
  }
}

TEST(Sampler, RepetitionPenaltyOnPromptAndOutput) {
  SamplingParams p;
  p.temperature = 0.0f;
  p.repetition_penalty = 2.0f;
  const std::vector<int32_t> prompt = {1, 2, 2};
  Sampler sampler(p, prompt, 5);
  std::vector<float> row = {1.0f, 2.0f, -2.0f, 3.0f, 0.5f};
  EXPECT_EQ(sampler.Sample(row).token, 3);
  // Prompt tokens 1 and 2, once each: 2 / 2 = 1 and -2 * 2 = -4.
  EXPECT_EQ(row, (std::vector<float>{1.0f, 1.0f, -4.0f, 3.0f, 0.5f}));
  // Token 3 is now in the output: 3 / 2 = 1.5 still wins.
  row = {1.0f, 2.0f, -2.0f, 3.0f, 0.5f};
  EXPECT_EQ(sampler.Sample(row).token, 3);
  EXPECT_EQ(row, (std::vector<float>{1.0f, 1.0f, -4.0f, 1.5f, 0.5f}));
}

TEST(Sampler, PresenceAndFrequencyPenaltiesOnOutputCounts) {
  SamplingParams p;
  p.temperature = 0.0f;
  p.presence_penalty = 0.5f;
  p.frequency_penalty = 0.25f;
  const std::vector<int32_t> prompt = {0};  // the prompt does not count for these
  Sampler sampler(p, prompt, 3);
  std::vector<float> row = {0.0f, 0.0f, 5.0f};
  EXPECT_EQ(sampler.Sample(row).token, 2);
  EXPECT_EQ(row, (std::vector<float>{0.0f, 0.0f, 5.0f}));
  row = {0.0f, 0.0f, 5.0f};
  sampler.Sample(row);  // token 2 once before: 5 - 0.5 - 0.25
  EXPECT_EQ(row, (std::vector<float>{0.0f, 0.0f, 4.25f}));
  row = {0.0f, 0.0f, 5.0f};
  sampler.Sample(row);  // twice before: 5 - 0.5 - 0.5
  EXPECT_EQ(row, (std::vector<float>{0.0f, 0.0f, 4.0f}));
}

TEST(Sampler, LogitBiasComesBeforeThePenalties) {
  SamplingParams p;
  p.temperature = 0.0f;
  p.repetition_penalty = 2.0f;
  p.logit_bias = {{0, 1.0f}, {2, -100.0f}, {7, 50.0f} /* outside the vocabulary: ignored */};
  const std::vector<int32_t> prompt = {0};
  Sampler sampler(p, prompt, 3);
  std::vector<float> row = {-3.0f, 1.0f, 2.0f};
  // Token 0: (-3 + 1) * 2 = -4 (biasing after the penalty would give -5); token 2: -98.
  EXPECT_EQ(sampler.Sample(row).token, 1);
  EXPECT_EQ(row, (std::vector<float>{-4.0f, 1.0f, -98.0f}));
}

TEST(Sampler, IdsAtOrAboveValidVocabAreNeverSampled) {
  SamplingParams p;
  p.seed = 3;
  Sampler sampler(p, {}, 3);
  for (int i = 0; i < 500; ++i) {
    std::vector<float> row = {0.0f, 0.0f, 0.0f, 100.0f, 100.0f};
    const auto t = sampler.Sample(row);
    ASSERT_LT(t.token, 3);
    ASSERT_EQ(row[3], kNegInf);
    ASSERT_EQ(row[4], kNegInf);
  }
  SamplingParams greedy;
  greedy.temperature = 0.0f;
  Sampler g(greedy, {}, 2);
  std::vector<float> row = {0.0f, 1.0f, 9.0f};
  EXPECT_EQ(g.Sample(row).token, 1);
}

TEST(Sampler, LogprobsAreTheLogSoftmaxBeforeTemperature) {
  SamplingParams p;
  p.temperature = 0.0f;
  p.logprobs = true;
  p.top_logprobs = 3;
  Sampler sampler(p, {}, 5);
  std::vector<float> row = {1.0f, 2.0f, 2.0f, -1.0f, 0.0f};
  const auto t = sampler.Sample(row);
  const double z = std::exp(1.0) + 2 * std::exp(2.0) + std::exp(-1.0) + std::exp(0.0);
  EXPECT_EQ(t.token, 1);
  EXPECT_NEAR(t.logprob, 2.0 - std::log(z), 1e-6);
  ASSERT_EQ(t.top.size(), 3u);
  EXPECT_EQ(t.top[0].token, 1);  // the tie goes to the lower id first
  EXPECT_EQ(t.top[1].token, 2);
  EXPECT_EQ(t.top[2].token, 0);
  EXPECT_NEAR(t.top[2].logprob, 1.0 - std::log(z), 1e-6);

  // At temperature 2 with top_k 1 the logprob is still that of the unscaled row.
  p.temperature = 2.0f;
  p.top_k = 1;
  p.seed = 1;
  Sampler hot(p, {}, 5);
  row = {1.0f, 2.0f, 2.0f, -1.0f, 0.0f};
  const auto h = hot.Sample(row);
  EXPECT_EQ(h.token, 1);
  EXPECT_NEAR(h.logprob, 2.0 - std::log(z), 1e-6);
}

TEST(Sampler, LogprobsLeaveOutMaskedTokens) {
  SamplingParams p;
  p.temperature = 0.0f;
  p.top_logprobs = 5;
  Sampler sampler(p, {}, 2);
  std::vector<float> row = {0.0f, 0.0f, 5.0f};
  const auto t = sampler.Sample(row);
  ASSERT_EQ(t.top.size(), 2u);
  EXPECT_NEAR(t.top[0].logprob, std::log(0.5), 1e-6);
}

// Allows only the tokens of a set, and records what it was told.
class SetConstraint : public TokenConstraint {
 public:
  explicit SetConstraint(std::vector<int32_t> allowed, std::vector<int32_t>* accepted)
      : allowed_(std::move(allowed)), accepted_(accepted) {}
  void Mask(std::span<float> logits) const override {
    for (size_t t = 0; t < logits.size(); ++t) {
      if (std::find(allowed_.begin(), allowed_.end(), static_cast<int32_t>(t)) == allowed_.end()) {
        logits[t] = -std::numeric_limits<float>::infinity();
      }
    }
  }
  void Accept(int32_t token) override { accepted_->push_back(token); }
  bool Complete() const override { return accepted_->size() >= 3; }

 private:
  std::vector<int32_t> allowed_;
  std::vector<int32_t>* accepted_;
};

TEST(Sampler, TheConstraintMasksAndIsAdvanced) {
  std::vector<int32_t> accepted;
  SamplingParams p;
  p.seed = 5;
  p.logprobs = true;
  Sampler sampler(p, {}, 6, std::make_unique<SetConstraint>(std::vector<int32_t>{1, 4}, &accepted));
  std::vector<int32_t> drawn;
  for (int i = 0; i < 200; ++i) {
    EXPECT_EQ(sampler.ConstraintComplete(), i >= 3);
    std::vector<float> row = {9.0f, 0.0f, 9.0f, 9.0f, 0.0f, 9.0f};
    const auto t = sampler.Sample(row);
    ASSERT_TRUE(t.token == 1 || t.token == 4) << t.token;
    EXPECT_NEAR(t.logprob, std::log(0.5), 1e-6);  // over the allowed tokens only
    drawn.push_back(t.token);
  }
  EXPECT_EQ(accepted, drawn);
  EXPECT_TRUE(Sampler(SamplingParams{}, {}, 3).ConstraintComplete());
}

TEST(Sampler, NoPossibleTokenIsAnError) {
  std::vector<int32_t> accepted;
  Sampler sampler(SamplingParams{}, {}, 3, std::make_unique<SetConstraint>(std::vector<int32_t>{7}, &accepted));
  std::vector<float> row = {0.0f, 1.0f, 2.0f};
  try {
    sampler.Sample(row);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
  }
  Sampler plain(SamplingParams{}, {}, 2);
  std::vector<float> nan_row = {std::nanf(""), kNegInf};
  EXPECT_THROW(plain.Sample(nan_row), Error);
}

TEST(Sampler, NaNLogitsAreNeverChosen) {
  SamplingParams p;
  p.seed = 8;
  Sampler sampler(p, {}, 3);
  for (int i = 0; i < 100; ++i) {
    std::vector<float> row = {std::nanf(""), 0.0f, std::nanf("")};
    ASSERT_EQ(sampler.Sample(row).token, 1);
  }
}

TEST(Sampler, OutOfRangeParametersAreRefused) {
  auto refused = [](auto set) {
    SamplingParams p;
    set(p);
    try {
      Sampler s(p, {}, 4);
    } catch (const Error& e) {
      return e.code() == ErrorCode::kInvalidArgument;
    }
    return false;
  };
  EXPECT_TRUE(refused([](SamplingParams& p) { p.temperature = -0.1f; }));
  EXPECT_TRUE(refused([](SamplingParams& p) { p.temperature = std::nanf(""); }));
  EXPECT_TRUE(refused([](SamplingParams& p) { p.top_p = 0.0f; }));
  EXPECT_TRUE(refused([](SamplingParams& p) { p.top_p = 1.5f; }));
  EXPECT_TRUE(refused([](SamplingParams& p) { p.min_p = -1.0f; }));
  EXPECT_TRUE(refused([](SamplingParams& p) { p.repetition_penalty = 0.0f; }));
  EXPECT_TRUE(refused([](SamplingParams& p) { p.top_logprobs = 21; }));
  EXPECT_TRUE(refused([](SamplingParams& p) { p.logit_bias[1] = std::numeric_limits<float>::infinity(); }));
  EXPECT_FALSE(refused([](SamplingParams& p) { p.top_k = -1; }));  // vLLM's "off"
}

}  // namespace
}  // namespace mms::generation
