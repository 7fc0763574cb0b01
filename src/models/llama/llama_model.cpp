#include "models/llama/llama_model.h"

#include "layers/stacked_linear.h"

#include <omp.h>

#include <algorithm>
#include <cstring>

#include "base/error.h"
#include "engine/ops/packed_matmul.h"
#include "engine/ops/quantize.h"
#include "engine/ops/silu_mul.h"
#include "io/checkpoint.h"
#include "layers/paged_attention.h"
#include "models/step_profile.h"

namespace mms::models {

namespace {

// Workspace slots of a step (see generative_model.h: one Workspace per concurrent step).
enum Slot : size_t {
  kHidden,       // [T, hidden] the residual stream
  kNormed,       // [T, hidden]
  kQkv,          // [T, (heads + 2 kv_heads) * head_dim]
  kAttention,    // [T, heads * head_dim]
  kGateUp,       // [T, 2 * intermediate]
  kGated,        // [T, intermediate]
  kCos,          // [T, head_dim / 2]
  kSin,          // [T, head_dim / 2]
  kAttnScratch,  // per-thread accumulators of PagedAttention
  kLogitRows,    // [rows wanting logits, hidden]
};

struct Part {
  std::string prefix;
  int64_t out;
};

// The parts as one Linear (layers::LoadStackedLinear), all with a bias or none.
layers::Linear LoadStacked(const io::Checkpoint& ckpt, const std::vector<Part>& parts, int64_t in, bool with_bias,
                           Precision precision) {
  std::vector<layers::StackedPart> stacked;
  for (const auto& p : parts) stacked.push_back({p.prefix, p.out, with_bias});
  return layers::LoadStackedLinear(ckpt, stacked, in, precision);
}

std::string LayerPrefix(int64_t i) { return "model.layers." + std::to_string(i); }

bool LmHeadTied(const LlamaConfig& c, const io::Checkpoint* ckpt) {
  return c.tie_word_embeddings || (ckpt && !ckpt->Has("lm_head.weight"));
}

// The OpenMP team size of the kernels the calling thread runs (oneDNN's matrix products
// read it at each call), set for one scope and restored after it.
class ScopedThreads {
 public:
  explicit ScopedThreads(int n) : saved_(omp_get_max_threads()) {
    if (n != saved_) omp_set_num_threads(n);
  }
  ~ScopedThreads() {
    if (omp_get_max_threads() != saved_) omp_set_num_threads(saved_);
  }
  ScopedThreads(const ScopedThreads&) = delete;
  ScopedThreads& operator=(const ScopedThreads&) = delete;

 private:
  int saved_;
};

// Below this many multiply-adds a product runs on the calling thread alone: a parallel
// region costs microseconds on an idle machine and milliseconds on a busy one, where the
// other thread of the team waits for a core at every barrier (the tiny models of the
// tests took 13 ms a token that way). A decode row of a 1B model is far above it.
constexpr int64_t kParallelMacs = int64_t{1} << 22;

void RunLinear(const layers::Linear& l, const float* x, int64_t rows, float* y, int threads, ops::Epilogue e = {}) {
  const int64_t macs = rows * l.in_features() * l.out_features();
  ScopedThreads scope(macs < kParallelMacs ? 1 : threads);
  l.Forward(x, rows, y, e);
}

// The step's chunks as attention sees them, kept per thread so that steady-state steps
// do not allocate (the vector grows to the largest batch and stays).
std::vector<layers::AttentionChunk>& ChunkScratch() {
  thread_local std::vector<layers::AttentionChunk> chunks;
  return chunks;
}

}  // namespace

std::vector<std::string> LlamaModel::Int8WeightNames(const LlamaConfig& c) {
  std::vector<std::string> names;
  for (int64_t i = 0; i < c.num_layers; ++i) {
    for (const char* p : {".self_attn.q_proj", ".self_attn.k_proj", ".self_attn.v_proj", ".self_attn.o_proj",
                          ".mlp.gate_proj", ".mlp.up_proj", ".mlp.down_proj"}) {
      names.push_back(LayerPrefix(i) + p + ".weight");
    }
  }
  if (!c.tie_word_embeddings) names.push_back("lm_head.weight");
  return names;
}

std::unique_ptr<LlamaModel> LlamaModel::Load(const std::string& dir, Precision requested, int threads) {
  const LlamaConfig config = LlamaConfig::FromFile(dir + "/config.json");
  return LoadFrom(io::Checkpoint::Open(dir), config, requested, threads);
}

std::unique_ptr<LlamaModel> LlamaModel::LoadFrom(const io::Checkpoint& ckpt, const LlamaConfig& config,
                                                 Precision requested, int threads) {
  std::unique_ptr<LlamaModel> m(new LlamaModel());
  m->config_ = config;
  m->precision_ = ops::RunnablePrecision(requested, &m->precision_note_);
  m->threads_ = std::max(threads, 0);
  const LlamaConfig& c = m->config_;
  const Precision p = m->precision_;

  const int64_t d = c.hidden_size, hd = c.head_dim;
  const int64_t q_out = c.num_heads * hd, kv_out = c.num_kv_heads * hd;
  // The shape check names the tensor and the file when the embedding's rows disagree
  // with config.json's vocab_size.
  m->embed_tokens_ = ckpt.Float32("model.embed_tokens.weight", {c.vocab_size, d});
  for (int64_t i = 0; i < c.num_layers; ++i) {
    const std::string pre = LayerPrefix(i);
    DecoderLayer l;
    l.input_norm = layers::RmsNorm::Load(ckpt, pre + ".input_layernorm", d, c.rms_norm_eps);
    l.post_attention_norm = layers::RmsNorm::Load(ckpt, pre + ".post_attention_layernorm", d, c.rms_norm_eps);
    const std::string attn = pre + ".self_attn.";
    l.qkv = LoadStacked(ckpt, {{attn + "q_proj", q_out}, {attn + "k_proj", kv_out}, {attn + "v_proj", kv_out}}, d,
                        c.qkv_bias, p);
    l.o_proj = LoadStacked(ckpt, {{attn + "o_proj", d}}, q_out, c.o_bias, p);
    const std::string mlp = pre + ".mlp.";
    l.gate_up = LoadStacked(ckpt, {{mlp + "gate_proj", c.intermediate_size}, {mlp + "up_proj", c.intermediate_size}},
                            d, c.mlp_bias, p);
    l.down = LoadStacked(ckpt, {{mlp + "down_proj", d}}, c.intermediate_size, c.mlp_bias, p);
    m->layers_.push_back(std::move(l));
  }
  m->final_norm_ = layers::RmsNorm::Load(ckpt, "model.norm", d, c.rms_norm_eps);
  if (LmHeadTied(c, &ckpt)) {
    m->lm_head_ = layers::Linear::FromOutIn(m->embed_tokens_.data<float>(), c.vocab_size, d, nullptr, p);
  } else {
    m->lm_head_ = LoadStacked(ckpt, {{"lm_head", c.vocab_size}}, d, false, p);
  }
  m->rope_ = layers::RotaryEmbedding(static_cast<int>(hd), c.rope_theta, c.rope_scaling);
  return m;
}

layers::KvCacheShape LlamaModel::kv_cache_shape(int block_tokens) const {
  return {static_cast<int>(config_.num_layers), static_cast<int>(config_.num_kv_heads),
          static_cast<int>(config_.head_dim), block_tokens};
}

void LlamaModel::CheckStep(std::span<const SequenceChunk> chunks, const layers::PagedKvCache& cache) const {
  const layers::KvCacheShape& s = cache.shape();
  const layers::KvCacheShape want = kv_cache_shape(s.block_tokens);
  if (s.layers != want.layers || s.kv_heads != want.kv_heads || s.head_dim != want.head_dim) {
    ThrowInternal("LlamaModel::Step: KV cache of " + std::to_string(s.layers) + " layers x " +
                  std::to_string(s.kv_heads) + " heads x " + std::to_string(s.head_dim) + " does not match the model's " +
                  std::to_string(want.layers) + " x " + std::to_string(want.kv_heads) + " x " +
                  std::to_string(want.head_dim));
  }
  for (size_t ci = 0; ci < chunks.size(); ++ci) {
    const SequenceChunk& c = chunks[ci];
    const std::string where = "LlamaModel::Step: chunk " + std::to_string(ci);
    const int64_t n = static_cast<int64_t>(c.tokens.size());
    if (n == 0) ThrowInvalidArgument(where + " has no tokens");
    if (c.first_position < 0 || c.first_position + n > config_.max_position_embeddings) {
      ThrowInvalidArgument(where + ": positions " + std::to_string(c.first_position) + ".." +
                           std::to_string(c.first_position + n - 1) + " outside the context of " +
                           std::to_string(config_.max_position_embeddings));
    }
    const int64_t blocks_needed = (c.first_position + n + s.block_tokens - 1) / s.block_tokens;
    if (static_cast<int64_t>(c.block_table.size()) < blocks_needed) {
      ThrowInvalidArgument(where + ": block table of " + std::to_string(c.block_table.size()) + " blocks for " +
                           std::to_string(c.first_position + n) + " positions (needs " +
                           std::to_string(blocks_needed) + ")");
    }
    for (int64_t b = 0; b < blocks_needed; ++b) {
      if (c.block_table[b] < 0 || c.block_table[b] >= cache.num_blocks()) {
        ThrowInvalidArgument(where + ": block table entry " + std::to_string(b) + " is block " +
                             std::to_string(c.block_table[b]) + ", outside the cache's " +
                             std::to_string(cache.num_blocks()) + " blocks");
      }
    }
    for (int64_t i = 0; i < n; ++i) {
      if (c.tokens[i] < 0 || c.tokens[i] >= config_.vocab_size) {
        ThrowInvalidArgument(where + ": token " + std::to_string(i) + " is id " + std::to_string(c.tokens[i]) +
                             ", outside the vocabulary of " + std::to_string(config_.vocab_size));
      }
    }
    for (const auto& e : c.injected) {
      if (e.position < c.first_position || e.position >= c.first_position + n || e.values == nullptr) {
        ThrowInvalidArgument(where + ": injected embedding at position " + std::to_string(e.position) +
                             " is outside the chunk's positions or has no values");
      }
    }
  }
}

void LlamaModel::Step(std::span<const SequenceChunk> chunks, layers::PagedKvCache& cache, Workspace& ws,
                      std::vector<float>& logits) const {
  profile::Timer timer;
  CheckStep(chunks, cache);
  const LlamaConfig& c = config_;
  const int64_t d = c.hidden_size, hd = c.head_dim, half = hd / 2;
  const int64_t q_width = c.num_heads * hd, kv_width = c.num_kv_heads * hd;
  const int64_t qkv_width = q_width + 2 * kv_width;
  const int64_t inter = c.intermediate_size;
  const int threads = threads_ > 0 ? threads_ : omp_get_max_threads();
  // The norms, SiLU gate and rope parallelize themselves above their own sizes; this
  // makes them use the model's thread count rather than the calling thread's default.
  ScopedThreads step_threads(threads);

  auto& att_chunks = ChunkScratch();
  att_chunks.clear();
  int64_t T = 0, logit_rows = 0;
  for (const auto& ch : chunks) {
    const int64_t n = static_cast<int64_t>(ch.tokens.size());
    att_chunks.push_back({T, n, ch.first_position, ch.block_table});
    T += n;
    if (ch.want_logits) ++logit_rows;
  }
  logits.resize(static_cast<size_t>(logit_rows * c.vocab_size));
  if (T == 0) return;

  float* hidden = ws.Buffer(kHidden, T * d);
  float* normed = ws.Buffer(kNormed, T * d);
  float* qkv = ws.Buffer(kQkv, T * qkv_width);
  float* attention = ws.Buffer(kAttention, T * q_width);
  float* gate_up = ws.Buffer(kGateUp, T * 2 * inter);
  float* gated = ws.Buffer(kGated, T * inter);
  float* cos = ws.Buffer(kCos, T * half);
  float* sin = ws.Buffer(kSin, T * half);
  const layers::PagedAttentionShape shape{static_cast<int>(c.num_heads), static_cast<int>(c.num_kv_heads),
                                          static_cast<int>(hd)};
  float* scratch = ws.Buffer(kAttnScratch, layers::PagedAttentionScratchFloats(shape, cache.shape().block_tokens, threads));

  timer.Lap(profile::kStepOther);
  // Embeddings (or injected ones at their positions) and each row's rotary angles.
  const float* table = embed_tokens_.data<float>();
  for (size_t ci = 0; ci < chunks.size(); ++ci) {
    const SequenceChunk& ch = chunks[ci];
    const int64_t row0 = att_chunks[ci].row_begin;
    for (size_t i = 0; i < ch.tokens.size(); ++i) {
      std::memcpy(hidden + (row0 + i) * d, table + static_cast<int64_t>(ch.tokens[i]) * d, d * sizeof(float));
      rope_.CosSin(ch.first_position + static_cast<int64_t>(i), cos + (row0 + i) * half, sin + (row0 + i) * half);
    }
    for (const auto& e : ch.injected) {
      std::memcpy(hidden + (row0 + e.position - ch.first_position) * d, e.values, d * sizeof(float));
    }
  }

  timer.Lap(profile::kEmbed);

  for (size_t li = 0; li < layers_.size(); ++li) {
    const DecoderLayer& l = layers_[li];
    const int layer = static_cast<int>(li);
    l.input_norm.Forward(hidden, T, normed);
    timer.Lap(profile::kNorm);
    RunLinear(l.qkv, normed, T, qkv, threads);
    timer.Lap(profile::kQkv);
#pragma omp parallel for schedule(static) num_threads(threads) if (T * qkv_width > 65536)
    for (int64_t t = 0; t < T; ++t) {
      float* row = qkv + t * qkv_width;
      rope_.Apply(row, c.num_heads, cos + t * half, sin + t * half);
      rope_.Apply(row + q_width, c.num_kv_heads, cos + t * half, sin + t * half);
    }
    timer.Lap(profile::kRope);
    layers::WriteKvRows(att_chunks, qkv + q_width, qkv + q_width + kv_width, qkv_width, cache, layer);
    timer.Lap(profile::kKvWrite);
    layers::PagedAttention(qkv, qkv_width, att_chunks, shape, cache, layer, attention, scratch, threads);
    timer.Lap(profile::kAttention);
    RunLinear(l.o_proj, attention, T, hidden, threads, {ops::Activation::kNone, /*accumulate=*/true});
    timer.Lap(profile::kOProj);

    l.post_attention_norm.Forward(hidden, T, normed);
    timer.Lap(profile::kNorm);
    RunLinear(l.gate_up, normed, T, gate_up, threads);
    timer.Lap(profile::kGateUp);
    ops::SiluMul(gate_up, gated, T, inter);
    timer.Lap(profile::kSiluMul);
    RunLinear(l.down, gated, T, hidden, threads, {ops::Activation::kNone, /*accumulate=*/true});
    timer.Lap(profile::kDown);
  }

  if (logit_rows == 0) return;
  // The final norm is per row, so normalizing only the rows that give logits is exact.
  float* last = ws.Buffer(kLogitRows, logit_rows * d);
  int64_t r = 0;
  for (size_t ci = 0; ci < chunks.size(); ++ci) {
    if (!chunks[ci].want_logits) continue;
    const int64_t t = att_chunks[ci].row_begin + att_chunks[ci].rows - 1;
    std::memcpy(last + r * d, hidden + t * d, d * sizeof(float));
    ++r;
  }
  final_norm_.Forward(last, logit_rows, last);
  RunLinear(lm_head_, last, logit_rows, logits.data(), threads);
  timer.Lap(profile::kLmHead);
}

}  // namespace mms::models
