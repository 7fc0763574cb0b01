#include "speech/whisper_logit_filter.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace mms::speech {

namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

void Fill(std::span<float> logits, int64_t begin, int64_t end) {
  begin = std::max<int64_t>(begin, 0);
  end = std::min<int64_t>(end, static_cast<int64_t>(logits.size()));
  for (int64_t i = begin; i < end; ++i) logits[i] = kNegInf;
}

// log(sum(exp(x))) over a range, stable; -inf for an empty or all -inf range.
double LogSumExp(const float* x, int64_t n) {
  float m = kNegInf;
  for (int64_t i = 0; i < n; ++i) m = std::max(m, x[i]);
  if (m == kNegInf) return -std::numeric_limits<double>::infinity();
  double s = 0;
  for (int64_t i = 0; i < n; ++i) s += std::exp(static_cast<double>(x[i]) - m);
  return m + std::log(s);
}

}  // namespace

WhisperLogitFilter::WhisperLogitFilter(std::shared_ptr<const WhisperVocabulary> vocabulary, LogitFilterOptions options)
    : vocab_(std::move(vocabulary)), options_(options) {}

void WhisperLogitFilter::Mask(std::span<float> logits) const {
  const WhisperVocabulary& v = *vocab_;
  const int64_t n = static_cast<int64_t>(logits.size());
  const bool first = sampled_.empty();
  if (options_.suppress_blank && first) {
    for (int32_t id : v.begin_suppress) Fill(logits, id, id + 1);
  }
  if (options_.suppress_tokens) {
    for (int32_t id : v.suppress) Fill(logits, id, id + 1);
  }
  if (!options_.timestamps) return;

  const int32_t tb = v.timestamp_begin;
  Fill(logits, v.no_timestamps, v.no_timestamps + 1);
  const size_t k = sampled_.size();
  const bool last_ts = k >= 1 && sampled_[k - 1] >= tb;
  const bool penultimate_ts = k < 2 || sampled_[k - 2] >= tb;
  if (last_ts) {
    if (penultimate_ts) {
      Fill(logits, tb, n);  // a pair just closed: text (or end-of-text) next
    } else {
      Fill(logits, 0, v.eot);  // an open timestamp: another timestamp or end-of-text next
    }
  }
  int32_t last_timestamp = -1;
  for (int32_t t : sampled_) {
    if (t >= tb) last_timestamp = t;
  }
  if (last_timestamp >= 0) {
    // Timestamps never decrease; after a closing one the next segment must not be empty.
    const int32_t bound = (last_ts && !penultimate_ts) ? last_timestamp : last_timestamp + 1;
    Fill(logits, tb, bound);
  }
  if (first) {
    Fill(logits, 0, tb);  // the first token is a timestamp
    if (options_.max_initial_timestamp_index >= 0) Fill(logits, tb + options_.max_initial_timestamp_index + 1, n);
  }
  // When the timestamps together are likelier than any single text token, take a timestamp.
  const double lse_all = LogSumExp(logits.data(), n);
  const double ts_logprob = LogSumExp(logits.data() + tb, n - tb) - lse_all;
  float max_text = kNegInf;
  for (int64_t i = 0; i < tb; ++i) max_text = std::max(max_text, logits[i]);
  const double max_text_logprob = static_cast<double>(max_text) - lse_all;
  if (ts_logprob > max_text_logprob) Fill(logits, 0, tb);
}

void LanguageTokenFilter::Mask(std::span<float> logits) const {
  std::vector<float> keep;
  keep.reserve(vocab_->languages.size());
  for (const auto& l : vocab_->languages) keep.push_back(logits[l.token]);
  std::fill(logits.begin(), logits.end(), kNegInf);
  for (size_t i = 0; i < keep.size(); ++i) logits[vocab_->languages[i].token] = keep[i];
}

}  // namespace mms::speech
