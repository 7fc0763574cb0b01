// The sampler's steps, in the order vLLM and Hugging Face apply them (sampling.h has the
// contract). Everything is fp32 on the logits row, with sums in double; each step is one
// pass over the vocabulary, and the only ordering work is a partial selection of the
// tokens top_k / top_p / top_logprobs keep, so a 152k vocabulary costs a few hundred
// microseconds at most.
#include "generation/sampling.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>

#include "base/error.h"

namespace mms::generation {
namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();
constexpr int kMaxTopLogprobs = 20;  // OpenAI's limit
constexpr float kMinTemperature = 1e-5f;

bool Finite(float v) { return std::isfinite(v); }

void CheckParams(const SamplingParams& p) {
  auto bad = [](const std::string& field, const std::string& why) {
    ThrowInvalidArgument("sampling parameter '" + field + "' " + why);
  };
  if (!Finite(p.temperature) || p.temperature < 0.0f) bad("temperature", "must be a finite number >= 0");
  if (!Finite(p.top_p) || p.top_p <= 0.0f || p.top_p > 1.0f) bad("top_p", "must be in (0, 1]");
  if (!Finite(p.min_p) || p.min_p < 0.0f || p.min_p > 1.0f) bad("min_p", "must be in [0, 1]");
  if (!Finite(p.repetition_penalty) || p.repetition_penalty <= 0.0f) {
    bad("repetition_penalty", "must be a finite number > 0");
  }
  if (!Finite(p.presence_penalty)) bad("presence_penalty", "must be finite");
  if (!Finite(p.frequency_penalty)) bad("frequency_penalty", "must be finite");
  if (p.top_logprobs < 0 || p.top_logprobs > kMaxTopLogprobs) bad("top_logprobs", "must be in [0, 20]");
  for (const auto& [token, bias] : p.logit_bias) {
    if (!Finite(bias)) bad("logit_bias", "value for token " + std::to_string(token) + " must be finite");
  }
}

// Ranking of tokens used wherever an order is needed (top_k, top_p, top_logprobs):
// higher logit first, and among equal logits the lower id first, so that ties break the
// same way as greedy's argmax and the result never depends on the sort algorithm.
struct Ranked {
  const float* logits;
  bool operator()(int32_t a, int32_t b) const {
    return logits[a] > logits[b] || (logits[a] == logits[b] && a < b);
  }
};

// Scratch of the calling thread (the engine's loop): a sampler per sequence keeps no
// vocabulary-sized buffers of its own, so hundreds of waiting sequences cost nothing.
struct Scratch {
  std::vector<int32_t> candidates;
  std::vector<float> weights;
  std::vector<double> block_sums;
};
Scratch& ThreadScratch() {
  thread_local Scratch scratch;
  return scratch;
}

// GCC keeps float comparisons from being if-converted (so loops with a select do not
// vectorize) unless it may assume they do not trap; clang does it anyway. The loops
// below see no signalling NaN, so the assumption holds.
#if defined(__GNUC__) && !defined(__clang__)
#define MMS_VECTORIZABLE_SELECTS __attribute__((optimize("no-trapping-math")))
#else
#define MMS_VECTORIZABLE_SELECTS
#endif

// exp(x) for x <= 0 in float, written so that the compiler vectorizes the loop around
// it (std::exp is a library call per token): x = n ln2 + r with |r| <= ln2/2, exp(r) by
// its Taylor series to r^7 (error below 3e-9, under float's precision), times 2^n built
// in the exponent bits. Below -87 (and for -inf, NaN) it returns 0: those tokens weigh
// less than 1e-38 of the best one.
MMS_VECTORIZABLE_SELECTS inline float FastExp(float x) {
  // Callers pass no NaN (CleanAndMax removed them); -inf and very negative x clamp here
  // and come out as 0 at the end.
  const float xc = x > -87.0f ? x : -87.0f;
  // Round to nearest by the 1.5 * 2^23 trick (nearbyint would not vectorize on x86-64's
  // SSE2 baseline).
  const float n = (xc * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
  const float r = (xc - n * 0.693145751953125f) - n * 1.428606765330187e-06f;
  float p = 1.0f / 5040.0f;
  p = p * r + 1.0f / 720.0f;
  p = p * r + 1.0f / 120.0f;
  p = p * r + 1.0f / 24.0f;
  p = p * r + 1.0f / 6.0f;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  const int32_t bits = (static_cast<int32_t>(n) + 127) << 23;
  float scale;
  std::memcpy(&scale, &bits, sizeof scale);
  const float y = p * scale;
  return x > -87.0f ? y : 0.0f;
}

// out[t] = FastExp((l[t] - max) * scale): raw, non-aliasing pointers so that it vectorizes.
MMS_VECTORIZABLE_SELECTS void ScaledExp(const float* __restrict l, int32_t n, float max, float scale, float* __restrict out) {
  for (int32_t t = 0; t < n; ++t) out[t] = FastExp((l[t] - max) * scale);
}

MMS_VECTORIZABLE_SELECTS void ApplyMinP(float* w, int32_t n, float min_p) {
  for (int32_t t = 0; t < n; ++t) w[t] = w[t] >= min_p ? w[t] : 0.0f;
}

// Replaces NaN by -inf and +inf by the largest float (so that max - l stays finite),
// and returns the maximum.
MMS_VECTORIZABLE_SELECTS float CleanAndMax(float* l, int32_t n) {
  float acc[8] = {kNegInf, kNegInf, kNegInf, kNegInf, kNegInf, kNegInf, kNegInf, kNegInf};
  int32_t i = 0;
  auto clean = [](float x) {
    x = x == x ? x : kNegInf;
    return x < std::numeric_limits<float>::max() ? x : std::numeric_limits<float>::max();
  };
  for (; i + 8 <= n; i += 8) {
    for (int j = 0; j < 8; ++j) {
      const float x = clean(l[i + j]);
      l[i + j] = x;
      acc[j] = acc[j] > x ? acc[j] : x;
    }
  }
  float m = kNegInf;
  for (; i < n; ++i) {
    l[i] = clean(l[i]);
    m = m > l[i] ? m : l[i];
  }
  for (float a : acc) m = m > a ? m : a;
  return m;
}

// Sum of n floats with independent partial sums (vectorizable), returned as double.
double BlockSum(const float* w, int32_t n) {
  float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int32_t i = 0;
  for (; i + 8 <= n; i += 8) {
    for (int j = 0; j < 8; ++j) acc[j] += w[i + j];
  }
  double s = 0.0;
  for (; i < n; ++i) s += w[i];
  for (float a : acc) s += a;
  return s;
}

// top_p over cand[0, kept): returns how many of them stay, after reordering cand so that
// they are cand[0, result). Instead of sorting the candidates, their weights go into
// buckets by scaled logit (2048 buckets over [-87, 0], each spanning a factor of 1.04):
// buckets above the one where the running mass reaches the target stay whole, and only
// that boundary bucket's tokens are ranked, so a nucleus of 100k tokens costs two passes.
size_t TopPCut(std::vector<int32_t>& cand, size_t kept, const float* w, const float* l, float max_logit,
               float inv_t, float top_p) {
  constexpr int kBuckets = 2048;
  constexpr float kPerUnit = kBuckets / 87.0f;
  auto bucket_of = [&](int32_t t) {
    const float s = -(l[t] - max_logit) * inv_t;  // >= 0, monotone in the logit
    return std::min(kBuckets - 1, static_cast<int>(s * kPerUnit));
  };
  double mass[kBuckets] = {};
  double total = 0.0;
  for (size_t i = 0; i < kept; ++i) {
    mass[bucket_of(cand[i])] += w[cand[i]];
    total += w[cand[i]];
  }
  const double target = static_cast<double>(top_p) * total;
  double above = 0.0;  // mass of the buckets before the boundary one
  int boundary = 0;
  for (; boundary < kBuckets; ++boundary) {
    if (above + mass[boundary] >= target) break;
    above += mass[boundary];
  }
  if (boundary == kBuckets) return kept;  // rounding: the whole set
  // Partition: whole buckets first, then the boundary bucket's tokens, then the rest.
  auto mid = std::partition(cand.begin(), cand.begin() + kept, [&](int32_t t) { return bucket_of(t) < boundary; });
  auto edge_end = std::partition(mid, cand.begin() + kept, [&](int32_t t) { return bucket_of(t) == boundary; });
  std::sort(mid, edge_end, Ranked{l});
  double sum = above;
  for (auto it = mid; it != edge_end; ++it) {
    sum += w[*it];
    if (sum >= target) return std::max<size_t>(1, static_cast<size_t>(it - cand.begin()) + 1);
  }
  return std::max<size_t>(1, static_cast<size_t>(edge_end - cand.begin()));
}

}  // namespace

Sampler::Sampler(const SamplingParams& params, std::span<const int32_t> prompt, int valid_vocab,
                 std::unique_ptr<TokenConstraint> constraint)
    : params_(params), valid_vocab_(valid_vocab), constraint_(std::move(constraint)) {
  CheckParams(params_);
  if (params_.seed) {
    rng_.seed(*params_.seed);
  } else {
    std::random_device device;
    rng_.seed((static_cast<uint64_t>(device()) << 32) ^ device());
  }
  if (params_.repetition_penalty != 1.0f) {
    prompt_tokens_.assign(prompt.begin(), prompt.end());
    std::sort(prompt_tokens_.begin(), prompt_tokens_.end());
    prompt_tokens_.erase(std::unique(prompt_tokens_.begin(), prompt_tokens_.end()), prompt_tokens_.end());
  }
}

bool Sampler::ConstraintComplete() const { return !constraint_ || constraint_->Complete(); }

SampledToken Sampler::Sample(std::span<float> logits) {
  const int32_t vocab = static_cast<int32_t>(std::min<size_t>(logits.size(), std::numeric_limits<int32_t>::max()));
  const int32_t valid = valid_vocab_ > 0 ? std::min(valid_vocab_, vocab) : vocab;
  float* l = logits.data();
  auto in_range = [&](int32_t t) { return t >= 0 && t < valid; };

  // 1. logit_bias, before everything else (OpenAI; vLLM's logits processor).
  for (const auto& [token, bias] : params_.logit_bias) {
    if (in_range(token)) l[token] += bias;
  }
  // 2. Penalties. Repetition (HF): once per distinct token of prompt or output, dividing
  // a positive logit and multiplying a negative one, so the token always loses.
  const float rep = params_.repetition_penalty;
  if (rep != 1.0f) {
    auto penalize = [&](int32_t t) {
      if (in_range(t)) l[t] = l[t] > 0.0f ? l[t] / rep : l[t] * rep;
    };
    for (int32_t t : prompt_tokens_) penalize(t);
    for (const auto& [t, count] : output_counts_) {
      if (!std::binary_search(prompt_tokens_.begin(), prompt_tokens_.end(), t)) penalize(t);
    }
  }
  // Presence and frequency (OpenAI): on the output's counts only.
  if (params_.presence_penalty != 0.0f || params_.frequency_penalty != 0.0f) {
    for (const auto& [t, count] : output_counts_) {
      if (in_range(t)) l[t] -= params_.presence_penalty + params_.frequency_penalty * static_cast<float>(count);
    }
  }
  // 3. Ids with no token, then the constraint's mask. A NaN (a broken model row) counts
  // as impossible rather than poisoning every comparison below.
  for (int32_t t = valid; t < vocab; ++t) l[t] = kNegInf;
  if (constraint_) constraint_->Mask(logits.first(static_cast<size_t>(vocab)));
  // Two plain passes the compiler vectorizes: clean and find the maximum, then the
  // lowest id holding it (greedy's choice).
  const float max_logit = CleanAndMax(l, valid);
  int32_t best = -1;
  if (max_logit > kNegInf) {
    for (int32_t t = 0; t < valid; ++t) {
      if (l[t] == max_logit) {
        best = t;
        break;
      }
    }
  }
  if (best < 0) {
    throw Error(ErrorCode::kInvalidArgument,
                constraint_ ? "sampling: the output constraint allows no token of the vocabulary after " +
                                  std::to_string(generated_) + " generated tokens"
                            : "sampling: every logit of the row is -inf or NaN");
  }

  SampledToken out;
  // 4. Log-probabilities: log-softmax of the logits as they are now (after bias,
  // penalties and masking; before temperature and the top-k/top-p/min-p filters), which
  // is what vLLM reports by default and what OpenAI's numbers mean for temperature 1.
  const bool want_logprobs = params_.logprobs || params_.top_logprobs > 0;
  double log_z = 0.0;
  if (want_logprobs) {
    // exp in float, summed per block in double: relative error ~1e-7 on the result.
    std::vector<float>& e = ThreadScratch().weights;
    if (e.size() < static_cast<size_t>(valid)) e.resize(valid);
    ScaledExp(l, valid, max_logit, 1.0f, e.data());
    double z = 0.0;
    for (int32_t b = 0; b < valid; b += 1024) z += BlockSum(e.data() + b, std::min(1024, valid - b));
    log_z = std::log(z) + max_logit;
  }

  // 5. The choice.
  // Temperatures below 1e-5 are greedy, as in vLLM: 1/T would overflow the scaled logits.
  int32_t chosen = best;
  if (params_.temperature >= kMinTemperature) chosen = Draw(l, valid, max_logit);

  if (want_logprobs) {
    out.logprob = static_cast<float>(static_cast<double>(l[chosen]) - log_z);
    const int n = params_.top_logprobs;
    if (n > 0) {
      // A bounded heap of the n best (worst on top), one pass over the vocabulary.
      const Ranked ranked{l};
      std::vector<int32_t> heap;
      heap.reserve(n + 1);
      for (int32_t t = 0; t < valid; ++t) {
        if (l[t] == kNegInf) continue;
        if (static_cast<int>(heap.size()) < n) {
          heap.push_back(t);
          std::push_heap(heap.begin(), heap.end(), ranked);
        } else if (ranked(t, heap.front())) {
          std::pop_heap(heap.begin(), heap.end(), ranked);
          heap.back() = t;
          std::push_heap(heap.begin(), heap.end(), ranked);
        }
      }
      std::sort_heap(heap.begin(), heap.end(), ranked);
      for (int32_t t : heap) out.top.push_back({t, static_cast<float>(static_cast<double>(l[t]) - log_z)});
    }
  }

  out.token = chosen;
  ++output_counts_[chosen];
  ++generated_;
  if (constraint_) constraint_->Accept(chosen);
  return out;
}

// Temperature, top_k, top_p, min_p, then one draw. The exact procedure, so that a seed's
// tokens can be reproduced elsewhere:
//   w_i = exp((l_i - max_l) / temperature) in float (FastExp above: within 2 ulp of
//       expf; 0 below e^-87, so a masked or hopeless token is never drawn);
//   top_k: keep the k best by (logit desc, id asc);
//   top_p: of those, in the same order, keep the shortest prefix whose sum of w reaches
//       top_p * (sum of w over the kept tokens), at least one token;
//   min_p: keep w_i >= min_p (w of the best token is 1, so this is p_i >= min_p * p_max);
//   draw: u = (rng() >> 11) * 2^-53, one 64-bit output of the sequence's mt19937_64 per
//       sampled token (greedy steps draw nothing); walk the kept tokens in ascending id
//       order summing w in double, and take the first whose running sum exceeds
//       u * (total of w over the kept tokens). (The walk skips whole blocks of 1024 ids
//       by their precomputed sums, which moves the boundaries by rounding only.)
int32_t Sampler::Draw(float* l, int32_t valid, float max_logit) {
  Scratch& scratch = ThreadScratch();
  std::vector<float>& w = scratch.weights;
  if (w.size() < static_cast<size_t>(valid)) w.resize(valid);
  const float inv_t = 1.0f / params_.temperature;
  ScaledExp(l, valid, max_logit, inv_t, w.data());
  // The best token's w is exactly FastExp(0) = 1: the draw can never come up empty.

  const bool top_k = params_.top_k > 0 && params_.top_k < valid;
  const bool top_p = params_.top_p < 1.0f;
  if (top_k || top_p) {
    std::vector<int32_t>& cand = scratch.candidates;
    cand.clear();
    for (int32_t t = 0; t < valid; ++t) {
      if (w[t] > 0.0f) cand.push_back(t);
    }
    const Ranked ranked{l};
    size_t kept = cand.size();
    if (top_k && static_cast<size_t>(params_.top_k) < kept) {
      kept = static_cast<size_t>(params_.top_k);
      std::nth_element(cand.begin(), cand.begin() + (kept - 1), cand.end(), ranked);
    }
    if (top_p && kept > 1) kept = TopPCut(cand, kept, w.data(), l, max_logit, inv_t, params_.top_p);
    for (size_t i = kept; i < cand.size(); ++i) w[cand[i]] = 0.0f;
  }
  if (params_.min_p > 0.0f) {
    const float min_p = params_.min_p;  // the best token (w = 1 >= min_p) always stays
    ApplyMinP(w.data(), valid, min_p);
  }

  // Sums per block of 1024 tokens, so that the walk to the drawn token reads one block.
  constexpr int32_t kBlock = 1024;
  std::vector<double>& blocks = scratch.block_sums;
  blocks.clear();
  double total = 0.0;
  for (int32_t b = 0; b < valid; b += kBlock) {
    const double s = BlockSum(w.data() + b, std::min(kBlock, valid - b));
    blocks.push_back(s);
    total += s;
  }
  const double u = static_cast<double>(rng_() >> 11) * 0x1.0p-53;
  const double target = u * total;
  double sum = 0.0;
  for (size_t b = 0; b < blocks.size(); ++b) {
    const int32_t begin = static_cast<int32_t>(b) * kBlock;
    if (sum + blocks[b] <= target && b + 1 < blocks.size()) {
      sum += blocks[b];
      continue;
    }
    const int32_t end = std::min(valid, begin + kBlock);
    for (int32_t t = begin; t < end; ++t) {
      if (w[t] == 0.0f) continue;
      sum += w[t];
      if (sum > target) return t;
    }
  }
  // Rounding left the target at the very end: the last possible token.
  for (int32_t t = valid - 1; t >= 0; --t) {
    if (w[t] > 0.0f) return t;
  }
  return 0;  // unreachable: the best token weighs 1
}

}  // namespace mms::generation
