#include "models/whisper/whisper_model.h"

#include "engine/ops/bf16_convert.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "base/error.h"
#include "engine/op_profile.h"
#include "engine/ops/attention.h"
#include "engine/ops/packed_matmul.h"
#include "io/checkpoint.h"
#include "layers/cross_attention.h"
#include "layers/paged_attention.h"
#include "layers/stacked_linear.h"
#include "models/whisper/whisper_weights.h"

namespace mms::models {

namespace {

using layers::StackedPart;

constexpr const char* kEncoderScope = "model.encoder";  // the op profile's name for the encoder

// Workspace slots of Encode and Step (a Workspace serves one call at a time).
enum Slot : size_t {
  kCols,         // Encode: im2col rows of a convolution
  kConv1,        // Encode: [batch * frames, d] conv1 output
  kNormed,       // [rows, d]
  kQkv,          // [rows, 3d]
  kAttention,    // [rows, d]
  kMlp,          // [rows, ffn]
  kAttnScratch,  // attention kernels' scratch
  kHidden,       // Step: [T, d] the residual stream
  kCrossQ,       // Step: [T, d] cross-attention queries
  kCrossScratch, // Step: CrossAttention's per-thread scores
  kLogitRows,    // Step: [rows needing logits, d]
};

// The OpenMP team size of the kernels the calling thread runs (oneDNN reads it at each
// call), for one scope.
class ThreadScope {
 public:
  explicit ThreadScope(int n) : saved_(omp_get_max_threads()) {
    if (n > 0 && n != saved_) omp_set_num_threads(n);
  }
  ~ThreadScope() {
    if (omp_get_max_threads() != saved_) omp_set_num_threads(saved_);
  }
  ThreadScope(const ThreadScope&) = delete;
  ThreadScope& operator=(const ThreadScope&) = delete;

 private:
  int saved_;
};

// Small products (a decode step of a tiny model) run on the calling thread alone: a
// parallel region's barriers cost more than the arithmetic there, and far more on a busy
// machine.
constexpr int64_t kParallelMacs = int64_t{1} << 22;

void RunLinear(const layers::Linear& l, const float* x, int64_t rows, float* y, int threads, ops::Epilogue e = {}) {
  const int64_t macs = rows * l.in_features() * l.out_features();
  ThreadScope scope(macs < kParallelMacs ? 1 : threads);
  l.Forward(x, rows, y, e);
}

constexpr ops::Epilogue kGelu{ops::Activation::kGelu, false};
constexpr ops::Epilogue kResidual{ops::Activation::kNone, true};

std::string EncoderPrefix(int64_t i) { return "model.encoder.layers." + std::to_string(i); }
std::string DecoderPrefix(int64_t i) { return "model.decoder.layers." + std::to_string(i); }

std::vector<StackedPart> QkvParts(const std::string& attn, int64_t d) {
  return {{attn + ".q_proj", d, true}, {attn + ".k_proj", d, false}, {attn + ".v_proj", d, true}};
}

bool Tied(const WhisperConfig& c, const io::Checkpoint& ckpt) {
  return c.tie_word_embeddings || !ckpt.Has("proj_out.weight");
}

}  // namespace

std::vector<std::string> WhisperModel::Int8WeightNames(const WhisperConfig& c) {
  std::vector<std::string> names;
  const auto add = [&](const std::string& prefix, std::initializer_list<const char*> parts) {
    for (const char* p : parts) names.push_back(prefix + p + ".weight");
  };
  for (int64_t i = 0; i < c.encoder_layers; ++i) {
    add(EncoderPrefix(i), {".self_attn.q_proj", ".self_attn.k_proj", ".self_attn.v_proj", ".self_attn.out_proj",
                           ".fc1", ".fc2"});
  }
  for (int64_t i = 0; i < c.decoder_layers; ++i) {
    add(DecoderPrefix(i), {".self_attn.q_proj", ".self_attn.k_proj", ".self_attn.v_proj", ".self_attn.out_proj",
                           ".encoder_attn.q_proj", ".encoder_attn.k_proj", ".encoder_attn.v_proj",
                           ".encoder_attn.out_proj", ".fc1", ".fc2"});
  }
  // The convolution kernels are [out, in, 3], not matrices of the checkpoint's own; the
  // tied output projection is the token embedding, which stays float32.
  if (!c.tie_word_embeddings) names.push_back("proj_out.weight");
  return names;
}

std::unique_ptr<WhisperModel> WhisperModel::Load(const std::string& dir, Precision requested, int threads) {
  std::unique_ptr<WhisperModel> m(new WhisperModel());
  m->config_ = WhisperConfig::Load(dir);
  const io::Checkpoint ckpt = io::Checkpoint::Open(dir);
  m->precision_ = ops::RunnablePrecision(requested, &m->precision_note_);
  m->threads_ = std::max(threads, 0);
  const WhisperConfig& c = m->config_;
  const Precision p = m->precision_;
  const int64_t d = c.d_model;
  const float eps = c.layer_norm_eps;

  m->conv1_ = whisper::LoadConvolution(ckpt, "model.encoder.conv1", c.num_mel_bins, d, 3, p);
  m->conv2_ = whisper::LoadConvolution(ckpt, "model.encoder.conv2", d, d, 3, p);
  m->encoder_positions_ = ckpt.Float32("model.encoder.embed_positions.weight", {c.max_source_positions, d});
  for (int64_t i = 0; i < c.encoder_layers; ++i) {
    const std::string pre = EncoderPrefix(i);
    EncoderLayer l;
    l.self_attn_norm = layers::LayerNorm::Load(ckpt, pre + ".self_attn_layer_norm", d, eps);
    l.final_norm = layers::LayerNorm::Load(ckpt, pre + ".final_layer_norm", d, eps);
    l.qkv = layers::LoadStackedLinear(ckpt, QkvParts(pre + ".self_attn", d), d, p);
    l.out_proj = layers::LoadStackedLinear(ckpt, {{pre + ".self_attn.out_proj", d, true}}, d, p);
    l.fc1 = layers::LoadStackedLinear(ckpt, {{pre + ".fc1", c.encoder_ffn_dim, true}}, d, p);
    l.fc2 = layers::LoadStackedLinear(ckpt, {{pre + ".fc2", d, true}}, c.encoder_ffn_dim, p);
    m->encoder_layers_.push_back(std::move(l));
  }
  m->encoder_norm_ = layers::LayerNorm::Load(ckpt, "model.encoder.layer_norm", d, eps);

  m->embed_tokens_ = ckpt.Float32("model.decoder.embed_tokens.weight", {c.vocab_size, d});
  m->decoder_positions_ = ckpt.Float32("model.decoder.embed_positions.weight", {c.max_target_positions, d});
  for (int64_t i = 0; i < c.decoder_layers; ++i) {
    const std::string pre = DecoderPrefix(i);
    DecoderLayer l;
    l.self_attn_norm = layers::LayerNorm::Load(ckpt, pre + ".self_attn_layer_norm", d, eps);
    l.cross_attn_norm = layers::LayerNorm::Load(ckpt, pre + ".encoder_attn_layer_norm", d, eps);
    l.final_norm = layers::LayerNorm::Load(ckpt, pre + ".final_layer_norm", d, eps);
    l.qkv = layers::LoadStackedLinear(ckpt, QkvParts(pre + ".self_attn", d), d, p);
    l.self_out = layers::LoadStackedLinear(ckpt, {{pre + ".self_attn.out_proj", d, true}}, d, p);
    l.cross_q = layers::LoadStackedLinear(ckpt, {{pre + ".encoder_attn.q_proj", d, true}}, d, p);
    l.cross_kv = layers::LoadStackedLinear(
        ckpt, {{pre + ".encoder_attn.k_proj", d, false}, {pre + ".encoder_attn.v_proj", d, true}}, d, p);
    l.cross_out = layers::LoadStackedLinear(ckpt, {{pre + ".encoder_attn.out_proj", d, true}}, d, p);
    l.fc1 = layers::LoadStackedLinear(ckpt, {{pre + ".fc1", c.decoder_ffn_dim, true}}, d, p);
    l.fc2 = layers::LoadStackedLinear(ckpt, {{pre + ".fc2", d, true}}, c.decoder_ffn_dim, p);
    m->decoder_layers_.push_back(std::move(l));
  }
  m->decoder_norm_ = layers::LayerNorm::Load(ckpt, "model.decoder.layer_norm", d, eps);
  if (Tied(c, ckpt)) {
    m->lm_head_ = layers::Linear::FromOutIn(m->embed_tokens_.data<float>(), c.vocab_size, d, nullptr, p);
  } else {
    m->lm_head_ = layers::LoadStackedLinear(ckpt, {{"proj_out", c.vocab_size, false}}, d, p);
  }
  return m;
}

void WhisperModel::Encode(const float* mel, int64_t batch, float* out, Workspace& ws) const {
  if (batch <= 0) return;
  const WhisperConfig& c = config_;
  const int64_t d = c.d_model, mels = c.num_mel_bins, frames = window_frames(), positions = audio_positions();
  const int64_t rows = batch * positions;
  const int threads = threads_ > 0 ? threads_ : omp_get_max_threads();
  ThreadScope scope(threads);
  profile::CountPass(kEncoderScope, rows);
  profile::Timer timer(kEncoderScope, -1);

  // conv1 (kernel 3, padding 1, stride 1): im2col row (w, t) holds mel[w][ch][t + k - 1]
  // at column ch * 3 + k, zero outside the window.
  const int64_t cols1 = mels * 3;
  float* cols = ws.Buffer(kCols, static_cast<size_t>(std::max(batch * frames * cols1, rows * d * 3)));
#pragma omp parallel for collapse(2) schedule(static)
  for (int64_t w = 0; w < batch; ++w) {
    for (int64_t ch = 0; ch < mels; ++ch) {
      const float* src = mel + (w * mels + ch) * frames;
      float* dst = cols + w * frames * cols1 + ch * 3;
      for (int64_t t = 0; t < frames; ++t) {
        float* r = dst + t * cols1;
        r[0] = t > 0 ? src[t - 1] : 0.0f;
        r[1] = src[t];
        r[2] = t + 1 < frames ? src[t + 1] : 0.0f;
      }
    }
  }
  float* conv1 = ws.Buffer(kConv1, static_cast<size_t>(batch * frames * d));
  conv1_.Forward(cols, batch * frames, conv1, kGelu);

  // conv2 (kernel 3, padding 1, stride 2): output t reads conv1 frames 2t - 1, 2t, 2t + 1.
  const int64_t cols2 = d * 3;
#pragma omp parallel for collapse(2) schedule(static)
  for (int64_t w = 0; w < batch; ++w) {
    for (int64_t t = 0; t < positions; ++t) {
      float* r = cols + (w * positions + t) * cols2;
      for (int64_t k = 0; k < 3; ++k) {
        const int64_t f = 2 * t + k - 1;
        if (f < 0 || f >= frames) {
          for (int64_t ch = 0; ch < d; ++ch) r[ch * 3 + k] = 0.0f;
          continue;
        }
        const float* src = conv1 + (w * frames + f) * d;
        for (int64_t ch = 0; ch < d; ++ch) r[ch * 3 + k] = src[ch];
      }
    }
  }
  float* hidden = out;  // the residual stream lives in the output
  conv2_.Forward(cols, rows, hidden, kGelu);
  const float* pos = encoder_positions_.data<float>();
#pragma omp parallel for collapse(2) schedule(static)
  for (int64_t w = 0; w < batch; ++w) {
    for (int64_t t = 0; t < positions; ++t) {
      float* h = hidden + (w * positions + t) * d;
      const float* e = pos + t * d;
      for (int64_t i = 0; i < d; ++i) h[i] += e[i];
    }
  }

  const ops::AttentionShape shape{batch, positions, c.encoder_attention_heads, d / c.encoder_attention_heads};
  float* normed = ws.Buffer(kNormed, static_cast<size_t>(rows * d));
  float* qkv = ws.Buffer(kQkv, static_cast<size_t>(rows * 3 * d));
  float* attention = ws.Buffer(kAttention, static_cast<size_t>(rows * d));
  float* mlp = ws.Buffer(kMlp, static_cast<size_t>(rows * c.encoder_ffn_dim));
  timer.Lap("embed");
  for (size_t i = 0; i < encoder_layers_.size(); ++i) {
    const EncoderLayer& l = encoder_layers_[i];
    profile::Timer layer_timer(kEncoderScope, static_cast<int>(i));
    l.self_attn_norm.Forward(hidden, rows, normed);
    layer_timer.Lap("layer_norm");
    l.qkv.Forward(normed, rows, qkv);
    layer_timer.Lap("qkv");
    // With bf16 or int8 products, attention's two products take bf16 inputs too (ops/attention.h).
    const auto products =
        l.qkv.precision() == Precision::kFp32 ? ops::AttentionProducts::kFloat32 : ops::AttentionProducts::kBf16;
    ops::Attention(qkv, attention, shape, /*causal=*/false, products);
    layer_timer.Lap("attention");
    l.out_proj.Forward(attention, rows, hidden, kResidual);
    layer_timer.Lap("out_proj");
    l.final_norm.Forward(hidden, rows, normed);
    layer_timer.Lap("layer_norm");
    l.fc1.Forward(normed, rows, mlp, kGelu);
    layer_timer.Lap("fc1_act");
    l.fc2.Forward(mlp, rows, hidden, kResidual);
    layer_timer.Lap("fc2");
  }
  timer = profile::Timer(kEncoderScope, -1);
  encoder_norm_.Forward(hidden, rows, out);
  timer.Lap("head");
}

std::shared_ptr<WhisperCrossState> WhisperModel::CrossAttentionState(const float* encoder_output) const {
  const int64_t d = config_.d_model, positions = audio_positions();
  const int threads = threads_ > 0 ? threads_ : omp_get_max_threads();
  auto state = std::make_shared<WhisperCrossState>();
  state->audio_positions = positions;
  std::vector<float> kv(static_cast<size_t>(positions * 2 * d));
  for (const DecoderLayer& l : decoder_layers_) {
    RunLinear(l.cross_kv, encoder_output, positions, kv.data(), threads);
    std::vector<float> keys(static_cast<size_t>(positions * d)), values(static_cast<size_t>(positions * d));
    // Keys transposed per head ([heads, head_dim, positions]: layers/cross_attention.h),
    // values as they come.
    for (int64_t t = 0; t < positions; ++t) {
      const float* k = kv.data() + t * 2 * d;
      for (int64_t c = 0; c < d; ++c) keys[static_cast<size_t>(c * positions + t)] = k[c];
      std::memcpy(values.data() + t * d, kv.data() + t * 2 * d + d, d * sizeof(float));
    }
    if (precision_ == Precision::kFp32) {
      state->keys.push_back(std::move(keys));
      state->values.push_back(std::move(values));
    } else {
      // bf16 and int8 models keep them in bfloat16: the decoder steps stream half the bytes.
      std::vector<uint16_t> k16(keys.size()), v16(values.size());
      ops::ConvertToBf16(keys.data(), k16.data(), static_cast<int64_t>(keys.size()));
      ops::ConvertToBf16(values.data(), v16.data(), static_cast<int64_t>(values.size()));
      state->keys_bf16.push_back(std::move(k16));
      state->values_bf16.push_back(std::move(v16));
    }
  }
  return state;
}

layers::KvCacheShape WhisperModel::kv_cache_shape(int block_tokens) const {
  const int heads = static_cast<int>(config_.decoder_attention_heads);
  return {static_cast<int>(config_.decoder_layers), heads, static_cast<int>(config_.d_model / heads), block_tokens};
}

void WhisperModel::CheckStep(std::span<const SequenceChunk> chunks, const layers::PagedKvCache& cache,
                             std::vector<const WhisperCrossState*>& states) const {
  const layers::KvCacheShape& s = cache.shape();
  const layers::KvCacheShape want = kv_cache_shape(s.block_tokens);
  if (s.layers != want.layers || s.kv_heads != want.kv_heads || s.head_dim != want.head_dim) {
    ThrowInternal("WhisperModel::Step: KV cache of " + std::to_string(s.layers) + " layers x " +
                  std::to_string(s.kv_heads) + " heads x " + std::to_string(s.head_dim) + " does not match the model's " +
                  std::to_string(want.layers) + " x " + std::to_string(want.kv_heads) + " x " +
                  std::to_string(want.head_dim));
  }
  const WhisperConfig& c = config_;
  const size_t layers = static_cast<size_t>(c.decoder_layers);
  states.clear();
  for (size_t ci = 0; ci < chunks.size(); ++ci) {
    const SequenceChunk& ch = chunks[ci];
    const std::string where = "WhisperModel::Step: chunk " + std::to_string(ci);
    const int64_t n = static_cast<int64_t>(ch.tokens.size());
    if (n == 0) ThrowInvalidArgument(where + " has no tokens");
    if (ch.first_position < 0 || ch.first_position + n > c.max_target_positions) {
      ThrowInvalidArgument(where + ": positions " + std::to_string(ch.first_position) + ".." +
                           std::to_string(ch.first_position + n - 1) + " outside the decoder context of " +
                           std::to_string(c.max_target_positions));
    }
    const int64_t blocks_needed = (ch.first_position + n + s.block_tokens - 1) / s.block_tokens;
    if (static_cast<int64_t>(ch.block_table.size()) < blocks_needed) {
      ThrowInvalidArgument(where + ": block table of " + std::to_string(ch.block_table.size()) + " blocks for " +
                           std::to_string(ch.first_position + n) + " positions (needs " +
                           std::to_string(blocks_needed) + ")");
    }
    for (int64_t b = 0; b < blocks_needed; ++b) {
      if (ch.block_table[b] < 0 || ch.block_table[b] >= cache.num_blocks()) {
        ThrowInvalidArgument(where + ": block table entry " + std::to_string(b) + " is block " +
                             std::to_string(ch.block_table[b]) + ", outside the cache's " +
                             std::to_string(cache.num_blocks()) + " blocks");
      }
    }
    for (int64_t i = 0; i < n; ++i) {
      if (ch.tokens[i] < 0 || ch.tokens[i] >= c.vocab_size) {
        ThrowInvalidArgument(where + ": token " + std::to_string(i) + " is id " + std::to_string(ch.tokens[i]) +
                             ", outside the vocabulary of " + std::to_string(c.vocab_size));
      }
    }
    if (!ch.injected.empty()) ThrowInvalidArgument(where + ": Whisper's decoder takes no injected embeddings");
    // sequence_state is type-erased: a state of another family cannot be told apart, but
    // one not built by CrossAttentionState for this model fails these shape checks.
    // Speech runtimes pass SpeechEncoder::DecoderState's object; anything else is refused.
    const auto* st = dynamic_cast<const WhisperCrossState*>(static_cast<const SpeechDecoderState*>(ch.sequence_state.get()));
    if (st == nullptr) ThrowInvalidArgument(where + " has no WhisperCrossState (sequence_state is null)");
    const bool half = !st->keys_bf16.empty();
    const size_t n_keys = half ? st->keys_bf16.size() : st->keys.size();
    const size_t n_values = half ? st->values_bf16.size() : st->values.size();
    if (st->audio_positions <= 0 || st->audio_positions > c.max_source_positions || n_keys != layers ||
        n_values != layers) {
      ThrowInvalidArgument(where + ": sequence_state is not a WhisperCrossState of this model (" +
                           std::to_string(n_keys) + " layers of " + std::to_string(st->audio_positions) +
                           " audio positions)");
    }
    const size_t floats = static_cast<size_t>(st->audio_positions * c.d_model);
    for (size_t l = 0; l < layers; ++l) {
      const size_t nk = half ? st->keys_bf16[l].size() : st->keys[l].size();
      const size_t nv = half ? st->values_bf16[l].size() : st->values[l].size();
      if (nk != floats || nv != floats) {
        ThrowInvalidArgument(where + ": WhisperCrossState layer " + std::to_string(l) +
                             " keys/values are not [audio_positions, d_model]");
      }
    }
    if (st->no_speech_token >= c.vocab_size) {
      ThrowInvalidArgument(where + ": no_speech_token " + std::to_string(st->no_speech_token) +
                           " is outside the vocabulary of " + std::to_string(c.vocab_size));
    }
    states.push_back(st);
  }
}

namespace {

// softmax(row)[token] over a logits row, max-subtracted; the sum in double so that 51865
// terms lose nothing.
float SoftmaxAt(const float* row, int64_t n, int64_t token) {
  const float max_logit = *std::max_element(row, row + n);
  double sum = 0.0;
  for (int64_t i = 0; i < n; ++i) sum += std::exp(static_cast<double>(row[i] - max_logit));
  return static_cast<float>(std::exp(static_cast<double>(row[token] - max_logit)) / sum);
}

std::vector<layers::AttentionChunk>& AttentionChunkScratch() {
  thread_local std::vector<layers::AttentionChunk> chunks;
  return chunks;
}
std::vector<layers::CrossAttentionChunk>& CrossChunkScratch() {
  thread_local std::vector<layers::CrossAttentionChunk> chunks;
  return chunks;
}
std::vector<const WhisperCrossState*>& StateScratch() {
  thread_local std::vector<const WhisperCrossState*> states;
  return states;
}

}  // namespace

void WhisperModel::Step(std::span<const SequenceChunk> chunks, layers::PagedKvCache& cache, Workspace& ws,
                        std::vector<float>& logits) const {
  auto& states = StateScratch();
  CheckStep(chunks, cache, states);
  const WhisperConfig& c = config_;
  const int64_t d = c.d_model, heads = c.decoder_attention_heads, hd = d / heads, vocab = c.vocab_size;
  const int threads = threads_ > 0 ? threads_ : omp_get_max_threads();
  ThreadScope step_threads(threads);

  auto& att = AttentionChunkScratch();
  auto& cross = CrossChunkScratch();
  att.clear();
  cross.clear();
  int64_t T = 0, logit_rows = 0, max_audio = 1;
  for (size_t ci = 0; ci < chunks.size(); ++ci) {
    const int64_t n = static_cast<int64_t>(chunks[ci].tokens.size());
    att.push_back({T, n, chunks[ci].first_position, chunks[ci].block_table});
    layers::CrossAttentionChunk c;
    c.row_begin = T;
    c.rows = n;
    c.kv_rows = states[ci]->audio_positions;
    cross.push_back(c);
    max_audio = std::max(max_audio, states[ci]->audio_positions);
    T += n;
    if (chunks[ci].want_logits) ++logit_rows;
  }
  // Rows whose logits are computed: each want_logits chunk's last row, in chunk order
  // (what the caller gets), then the <|startoftranscript|> rows of no-speech detection
  // that are not among them. no_speech[i] = {chunk, index into the computed rows}.
  std::vector<int64_t> rows_out;
  std::vector<std::pair<size_t, int64_t>> no_speech;
  for (size_t ci = 0; ci < chunks.size(); ++ci) {
    if (chunks[ci].want_logits) rows_out.push_back(att[ci].row_begin + att[ci].rows - 1);
  }
  for (size_t ci = 0, want = 0; ci < chunks.size(); ++ci) {
    const WhisperCrossState* st = states[ci];
    const int64_t first = chunks[ci].first_position, n = att[ci].rows;
    const bool covers = st->sot_index >= 0 && st->no_speech_token >= 0 && st->sot_index >= first && st->sot_index < first + n;
    if (covers) {
      const int64_t row = att[ci].row_begin + (st->sot_index - first);
      if (chunks[ci].want_logits && row == att[ci].row_begin + n - 1) {
        no_speech.push_back({ci, static_cast<int64_t>(want)});
      } else {
        no_speech.push_back({ci, static_cast<int64_t>(rows_out.size())});
        rows_out.push_back(row);
      }
    }
    if (chunks[ci].want_logits) ++want;
  }
  logits.resize(static_cast<size_t>(logit_rows * vocab));
  if (T == 0) return;

  float* hidden = ws.Buffer(kHidden, static_cast<size_t>(T * d));
  float* normed = ws.Buffer(kNormed, static_cast<size_t>(T * d));
  float* qkv = ws.Buffer(kQkv, static_cast<size_t>(T * 3 * d));
  float* attention = ws.Buffer(kAttention, static_cast<size_t>(T * d));
  float* cross_q = ws.Buffer(kCrossQ, static_cast<size_t>(T * d));
  float* mlp = ws.Buffer(kMlp, static_cast<size_t>(T * c.decoder_ffn_dim));
  const layers::PagedAttentionShape shape{static_cast<int>(heads), static_cast<int>(heads), static_cast<int>(hd)};
  float* scratch =
      ws.Buffer(kAttnScratch, layers::PagedAttentionScratchFloats(shape, cache.shape().block_tokens, threads));
  float* cross_scratch = ws.Buffer(kCrossScratch, layers::CrossAttentionScratchFloats(max_audio, threads));
  // A decode step of one sequence is a small cross-attention (whisper-base: 0.8M
  // multiply-adds): alone on the calling thread, as RunLinear does for small products.
  const int cross_threads = T * d * max_audio < kParallelMacs ? 1 : threads;

  // Token embedding (scaled by sqrt(d) where scale_embedding says so) plus the learned position.
  const float embed_scale = c.scale_embedding ? std::sqrt(static_cast<float>(d)) : 1.0f;
  const float* table = embed_tokens_.data<float>();
  const float* pos = decoder_positions_.data<float>();
  for (size_t ci = 0; ci < chunks.size(); ++ci) {
    const SequenceChunk& ch = chunks[ci];
    for (int64_t i = 0; i < att[ci].rows; ++i) {
      float* h = hidden + (att[ci].row_begin + i) * d;
      const float* e = table + static_cast<int64_t>(ch.tokens[i]) * d;
      const float* p = pos + (ch.first_position + i) * d;
      for (int64_t k = 0; k < d; ++k) h[k] = e[k] * embed_scale + p[k];
    }
  }

  for (size_t li = 0; li < decoder_layers_.size(); ++li) {
    const DecoderLayer& l = decoder_layers_[li];
    const int layer = static_cast<int>(li);
    // Causal self-attention over the paged cache.
    l.self_attn_norm.Forward(hidden, T, normed);
    RunLinear(l.qkv, normed, T, qkv, threads);
    layers::WriteKvRows(att, qkv + d, qkv + 2 * d, 3 * d, cache, layer);
    layers::PagedAttention(qkv, 3 * d, att, shape, cache, layer, attention, scratch, threads);
    RunLinear(l.self_out, attention, T, hidden, threads, kResidual);
    // Cross-attention: each chunk over its own window's keys and values.
    l.cross_attn_norm.Forward(hidden, T, normed);
    RunLinear(l.cross_q, normed, T, cross_q, threads);
    for (size_t ci = 0; ci < chunks.size(); ++ci) {
      const WhisperCrossState& st = *states[ci];
      if (st.keys_bf16.empty()) {
        cross[ci].keys = st.keys[li].data();
        cross[ci].values = st.values[li].data();
        cross[ci].keys_bf16 = cross[ci].values_bf16 = nullptr;
      } else {
        cross[ci].keys_bf16 = st.keys_bf16[li].data();
        cross[ci].values_bf16 = st.values_bf16[li].data();
        cross[ci].keys = cross[ci].values = nullptr;
      }
    }
    layers::CrossAttention(cross_q, d, cross, {static_cast<int>(heads), static_cast<int>(hd)}, attention, d,
                           cross_scratch, cross_threads);
    RunLinear(l.cross_out, attention, T, hidden, threads, kResidual);
    // MLP.
    l.final_norm.Forward(hidden, T, normed);
    RunLinear(l.fc1, normed, T, mlp, threads, kGelu);
    RunLinear(l.fc2, mlp, T, hidden, threads, kResidual);
  }

  if (rows_out.empty()) return;
  // The final norm is per row, so normalizing only the rows that give logits is exact.
  const int64_t computed = static_cast<int64_t>(rows_out.size());
  float* last = ws.Buffer(kLogitRows, static_cast<size_t>(computed * d));
  for (int64_t r = 0; r < computed; ++r) std::memcpy(last + r * d, hidden + rows_out[r] * d, d * sizeof(float));
  decoder_norm_.Forward(last, computed, last);
  logits.resize(static_cast<size_t>(computed * vocab));
  RunLinear(lm_head_, last, computed, logits.data(), threads);
  for (const auto& [ci, r] : no_speech) {
    const WhisperCrossState* st = states[ci];
    st->no_speech_prob.store(SoftmaxAt(logits.data() + r * vocab, vocab, st->no_speech_token));
  }
  logits.resize(static_cast<size_t>(logit_rows * vocab));  // the no-speech rows are not returned
}

}  // namespace mms::models
