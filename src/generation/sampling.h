// Sampling of the next token of one sequence from its logits, as OpenAI's and vLLM's
// parameters define it. A Sampler belongs to one sequence: it holds that sequence's
// random generator (so the draw depends on the seed and the sequence alone, never on
// what else shares the batch) and the counts its penalties need.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <span>
#include <vector>

namespace mms::generation {

// Restricts which tokens may come next (constrained decoding: response_format
// json_object / json_schema). Implementations live beside the sampler.
class TokenConstraint {
 public:
  virtual ~TokenConstraint() = default;
  // Sets logits of tokens that may not come next to -infinity.
  virtual void Mask(std::span<float> logits) const = 0;
  // Advances the constraint's state past the chosen token.
  virtual void Accept(int32_t token) = 0;
  // Whether the output so far is complete (an end-of-sequence token may come now).
  virtual bool Complete() const = 0;
};

struct SamplingParams {
  float temperature = 1.0f;  // 0 (or below 1e-5) = greedy (argmax; ties go to the lowest id)
  int top_k = 0;             // 0 = off
  float top_p = 1.0f;        // 1 = off
  float min_p = 0.0f;        // 0 = off
  float repetition_penalty = 1.0f;  // >1 discourages tokens already in prompt or output (HF's rule)
  float presence_penalty = 0.0f;    // OpenAI's: -= presence if the token occurred in the output
  float frequency_penalty = 0.0f;   // OpenAI's: -= frequency * count in the output
  std::map<int32_t, float> logit_bias;  // added to the logits before everything else
  std::optional<uint64_t> seed;  // none: drawn from the system's random device
  int top_logprobs = 0;          // 0..20 alternatives reported per token
  bool logprobs = false;
};

struct TokenLogprob {
  int32_t token = 0;
  float logprob = 0.0f;
};

struct SampledToken {
  int32_t token = 0;
  // Filled only when SamplingParams::logprobs or top_logprobs asks (else 0 / empty):
  // log-softmax of the logits after logit_bias, penalties and masking (invalid ids, the
  // constraint), before temperature and top_k/top_p/min_p — vLLM's default, and what
  // OpenAI reports at temperature 1.
  float logprob = 0.0f;
  std::vector<TokenLogprob> top;      // top_logprobs alternatives, most likely first (ties: lower id)
};

class Sampler {
 public:
  // prompt: the prompt's tokens (the repetition penalty counts them); `valid_vocab`:
  // ids at or above it (rows of the output embedding with no token) are never sampled.
  Sampler(const SamplingParams& params, std::span<const int32_t> prompt, int valid_vocab,
          std::unique_ptr<TokenConstraint> constraint = nullptr);

  // Throws Error(kInvalidArgument) naming the field when a parameter is out of range
  // (temperature < 0, top_p outside (0, 1], min_p outside [0, 1], repetition_penalty <= 0,
  // top_logprobs outside [0, 20], anything non-finite). top_k <= 0 means off.

  // Picks the next token from one row of logits (modified in place) and records it.
  // Order: logit_bias; repetition penalty (prompt + output), presence/frequency (output);
  // ids >= valid_vocab and the constraint's mask -> -inf; greedy argmax when temperature
  // is 0, else temperature, top_k, top_p, min_p and one draw from this sequence's own
  // generator (sampling.cpp documents the draw exactly, so a seed's tokens reproduce).
  // Throws Error(kInvalidArgument) when no token is possible (the constraint allows none).
  SampledToken Sample(std::span<float> logits);
  // Whether the constraint (if any) accepts the end of the output here.
  bool ConstraintComplete() const;

 private:
  SamplingParams params_;
  int valid_vocab_ = 0;
  std::mt19937_64 rng_;
  std::vector<int32_t> prompt_tokens_;       // sorted, unique: the repetition penalty's set
  std::map<int32_t, int> output_counts_;     // token -> times generated
  std::unique_ptr<TokenConstraint> constraint_;
  int64_t generated_ = 0;

  int32_t Draw(float* logits, int32_t valid, float max_logit);
};

}  // namespace mms::generation
