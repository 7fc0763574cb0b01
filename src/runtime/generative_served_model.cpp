#include "runtime/generative_served_model.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <future>
#include <optional>
#include <thread>

#include "base/error.h"
#include "base/file_util.h"
#include "base/logger.h"
#include "generation/json_constraint.h"
#include "io/json_config.h"
#include "media/clip_preprocess.h"
#include "models/generative_model.h"
#include "models/image_encoder.h"
#include "models/speech_encoder.h"
#include "runtime/speech_service.h"
#include "runtime/weights_fingerprint.h"
#include "speech/whisper_vocabulary.h"
#include "template/chat_template.h"
#include "text/hf_tokenizer.h"

namespace mms::runtime {

namespace {

using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;

double SecondsBetween(Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double>(b - a).count(); }

struct ServingSettings {
  Precision precision = Precision::kFp32;
  generation::EngineConfig engine;
  int kv_cache_blocks = 0;  // when set, the KV budget in blocks (overrides kv_cache_mb)
  // Models that read images: their features in the embedding cache ("cache" on / off) and
  // the original LLaVA's pad-to-square ("pad_to_square" on / off; else preprocessor_config
  // .json's do_pad).
  bool cache = true;
  std::optional<bool> pad_to_square;
  // Models that listen (Whisper): the decoding a request gets when its form does not say.
  speech::TranscriptionOptions transcription;
};

float FloatParameter(const std::string& key, const std::string& value, float low, float high) {
  size_t used = 0;
  float v = 0;
  try {
    v = std::stof(value, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != value.size() || value.empty() || !std::isfinite(v) || v < low || v > high) {
    ThrowInvalidModel("config.pbtxt parameter " + key + " \"" + value + "\" is not a number in [" +
                      std::to_string(low) + ", " + std::to_string(high) + "]");
  }
  return v;
}

// A threshold that "none" turns off.
std::optional<float> ThresholdParameter(const std::string& key, const std::string& value) {
  if (value == "none") return std::nullopt;
  return FloatParameter(key, value, -1e6f, 1e6f);
}

bool OnOff(const std::string& key, const std::string& value) {
  if (value != "on" && value != "off") {
    ThrowInvalidModel("config.pbtxt parameter " + key + " \"" + value + "\" is not on or off");
  }
  return value == "on";
}

int64_t IntParameter(const std::string& key, const std::string& value, int64_t low, int64_t high) {
  size_t used = 0;
  int64_t v = 0;
  try {
    v = std::stoll(value, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != value.size() || value.empty() || v < low || v > high) {
    ThrowInvalidModel("config.pbtxt parameter " + key + " \"" + value + "\" is not an integer in [" +
                      std::to_string(low) + ", " + std::to_string(high) + "]");
  }
  return v;
}

ServingSettings SettingsFrom(const io::ModelConfig& config, const ServingDefaults& defaults) {
  ServingSettings s;
  s.precision = defaults.clip.precision;
  const GenerationDefaults& g = defaults.generation;
  s.engine.kv_cache_bytes = g.kv_cache_bytes;
  s.engine.max_running_sequences = g.max_running_sequences;
  s.engine.max_tokens_per_step = g.max_tokens_per_step;
  s.engine.max_waiting = static_cast<size_t>(g.max_waiting);
  s.engine.block_tokens = g.block_tokens;
  s.engine.prefix_caching = g.prefix_caching;
  for (const auto& [key, value] : config.parameters) {
    if (key == "precision") {
      if (!ParsePrecision(value, &s.precision)) {
        ThrowInvalidModel("config.pbtxt parameter precision \"" + value + "\" is not one of fp32, bf16, int8");
      }
    } else if (key == "kv_cache_mb") {
      s.engine.kv_cache_bytes = static_cast<size_t>(IntParameter(key, value, 1, 1 << 20)) << 20;
    } else if (key == "kv_cache_blocks") {
      s.kv_cache_blocks = static_cast<int>(IntParameter(key, value, 1, 1 << 24));
    } else if (key == "max_running_sequences") {
      s.engine.max_running_sequences = static_cast<int>(IntParameter(key, value, 1, 4096));
    } else if (key == "max_tokens_per_step") {
      s.engine.max_tokens_per_step = static_cast<int>(IntParameter(key, value, 16, 1 << 16));
    } else if (key == "max_waiting") {
      s.engine.max_waiting = static_cast<size_t>(IntParameter(key, value, 1, 1 << 20));
    } else if (key == "block_tokens") {
      s.engine.block_tokens = static_cast<int>(IntParameter(key, value, 1, 256));
    } else if (key == "prefix_caching") {
      s.engine.prefix_caching = OnOff(key, value);
    } else if (key == "cache") {
      s.cache = OnOff(key, value);
    } else if (key == "pad_to_square") {
      s.pad_to_square = OnOff(key, value);
    } else if (key == "memory_budget_mb") {
      // the encoders' setting: nothing to do for a generative model
    } else if (key == "temperature_increment_on_fallback") {
      s.transcription.temperature_increment = FloatParameter(key, value, 0, 1);
    } else if (key == "compression_ratio_threshold") {
      s.transcription.compression_ratio_threshold = ThresholdParameter(key, value);
    } else if (key == "logprob_threshold") {
      s.transcription.logprob_threshold = ThresholdParameter(key, value);
    } else if (key == "no_speech_threshold") {
      s.transcription.no_speech_threshold = ThresholdParameter(key, value);
    } else if (key == "condition_on_previous_text") {
      s.transcription.condition_on_previous_text = OnOff(key, value);
    } else if (key == "max_tokens_per_window") {
      s.transcription.max_tokens_per_window = static_cast<int>(IntParameter(key, value, 1, 224));
    } else if (key == "beam_size") {
      IntParameter(key, value, 1, 1);  // beam search is not built: only 1 is accepted
    } else {
      ThrowInvalidModel("unknown parameter \"" + key + "\" for a generative model (known: precision, kv_cache_mb, kv_cache_blocks, "
                        "max_running_sequences, max_tokens_per_step, max_waiting, block_tokens, prefix_caching, cache, "
                        "pad_to_square; for Whisper also temperature_increment_on_fallback, compression_ratio_threshold, "
                        "logprob_threshold, no_speech_threshold, condition_on_previous_text, max_tokens_per_window, "
                        "beam_size)");
    }
  }
  if (s.engine.max_tokens_per_step < s.engine.max_running_sequences) {
    s.engine.max_tokens_per_step = s.engine.max_running_sequences;  // every running sequence decodes each step
  }
  return s;
}

std::unique_ptr<ImageFeatureEncoder> MakeImageEncoder(const std::string& name, int64_t version, Precision precision,
                                                      const models::ImageEncoder& encoder, const std::string& dir,
                                                      const io::ModelConfig& config, const ServingDefaults& defaults,
                                                      const ServingSettings& settings) {
  ImageFeatureOptions o;
  const std::string preprocessor = dir + "/preprocessor_config.json";
  if (!fs::exists(preprocessor)) {
    ThrowInvalidModel(dir + ": preprocessor_config.json is missing; a model that reads images needs it");
  }
  const nlohmann::json pj = io::LoadJsonFile(preprocessor);
  o.preprocess = media::PreprocessConfig::FromJson(pj);
  o.pad_to_square = settings.pad_to_square.value_or(pj.is_object() && pj.value("do_pad", false) == true);
  o.decode_limits = defaults.clip.decode_limits;
  o.max_request_pixels = defaults.clip.max_request_pixels;
  // A request's images decode on as many threads as the model computes with.
  o.decode_threads =
      defaults.clip.threads > 0 ? defaults.clip.threads : static_cast<int>(std::thread::hardware_concurrency());
  // A batch of images is a large piece of work already (576 positions each at 336 px):
  // beyond 8 a bigger batch gains nothing and only holds the first images back.
  o.batcher.max_batch_size = std::clamp<int>(config.max_batch_size > 0 ? static_cast<int>(config.max_batch_size)
                                                                       : defaults.max_batch_size, 1, 8);
  o.batcher.max_queue_delay = defaults.max_queue_delay;
  if (config.dynamic_batching) {
    o.batcher.max_queue_delay = std::chrono::microseconds(config.dynamic_batching->max_queue_delay_microseconds);
  }
  o.batcher.instance_count = 1;
  if (settings.cache && defaults.cache) {
    o.cache = defaults.cache;
    // The precision really run, and the preparation: padded features differ from cropped ones.
    o.cache_key = {name, version, PrecisionName(precision),
                   o.pad_to_square ? "llava-pad" : "llava", FingerprintCheckpoint(dir)};
  }
  return std::make_unique<ImageFeatureEncoder>("model \"" + name + "\"", encoder, std::move(o));
}

// eos_token_id as generation_config.json / config.json write it: one id or a list.
void AppendIds(const nlohmann::json& j, const char* field, std::vector<int32_t>& out, const std::string& path) {
  if (!j.contains(field) || j[field].is_null()) return;
  const auto& v = j[field];
  const auto add = [&](const nlohmann::json& id) {
    if (!id.is_number_integer() || id.get<int64_t>() < 0 || id.get<int64_t>() > (1 << 30)) {
      ThrowInvalidModel(path + ": " + field + " must be a non-negative token id or a list of them");
    }
    const auto x = static_cast<int32_t>(id.get<int64_t>());
    if (std::find(out.begin(), out.end(), x) == out.end()) out.push_back(x);
  };
  if (v.is_array()) {
    if (v.size() > 64) ThrowInvalidModel(path + ": " + field + " lists more than 64 ids");
    for (const auto& id : v) add(id);
  } else {
    add(v);
  }
}

// The chat template as transformers finds it: chat_template.jinja, else chat_template.json,
// else tokenizer_config.json's chat_template; --chat-template overrides them all.
std::unique_ptr<tmpl::ChatTemplate> LoadChatTemplate(const std::string& dir, const text::TokenizerConfig& tc,
                                                     const std::string& override_file) {
  constexpr size_t kMaxTemplateBytes = 1 << 20;
  const auto from_file = [&](const std::string& path) {
    if (fs::file_size(path) > kMaxTemplateBytes) ThrowInvalidModel(path + " is larger than 1 MiB");
    return std::make_unique<tmpl::ChatTemplate>(tmpl::ChatTemplate::Parse(ReadFileBytes(path), path));
  };
  if (!override_file.empty()) return from_file(override_file);
  if (fs::exists(dir + "/chat_template.jinja")) return from_file(dir + "/chat_template.jinja");
  if (fs::exists(dir + "/chat_template.json")) {
    const std::string path = dir + "/chat_template.json";
    const nlohmann::json j = io::LoadJsonFile(path);
    if (!j.is_object() || !j.contains("chat_template") || !j["chat_template"].is_string()) {
      ThrowInvalidModel(path + ": expected an object with a string \"chat_template\"");
    }
    return std::make_unique<tmpl::ChatTemplate>(tmpl::ChatTemplate::Parse(j["chat_template"].get<std::string>(), path));
  }
  if (!tc.chat_template.empty()) {
    return std::make_unique<tmpl::ChatTemplate>(
        tmpl::ChatTemplate::Parse(tc.chat_template, dir + "/tokenizer_config.json (chat_template)"));
  }
  return nullptr;
}

// Defaults a request's sampling starts from: generation_config.json's.
generation::SamplingParams DefaultSampling(const nlohmann::json& gc) {
  generation::SamplingParams p;
  const bool do_sample = gc.value("do_sample", false);
  p.temperature = do_sample ? gc.value("temperature", 1.0f) : 0.0f;
  if (do_sample) {
    p.top_p = gc.value("top_p", 1.0f);
    p.top_k = gc.value("top_k", 0);
  }
  p.repetition_penalty = gc.value("repetition_penalty", 1.0f);
  return p;
}

}  // namespace

// ---- LatencyHistogram ----

const std::vector<double>& LatencyHistogram::Bounds() {
  static const std::vector<double> bounds = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5,
                                             0.75,  1.0,    1.5,   2.0,  3.0,   5.0,  7.5,   10,  20,   30,  60};
  return bounds;
}

void LatencyHistogram::Observe(double seconds) {
  const auto& b = Bounds();
  const size_t i = std::lower_bound(b.begin(), b.end(), seconds) - b.begin();  // b.size(): +Inf
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  sum_us_.fetch_add(static_cast<uint64_t>(std::max(0.0, seconds) * 1e6), std::memory_order_relaxed);
}

LatencyHistogram::Snapshot LatencyHistogram::Read() const {
  Snapshot s;
  for (size_t i = 0; i <= Bounds().size(); ++i) s.buckets.push_back(buckets_[i].load(std::memory_order_relaxed));
  s.count = count_.load(std::memory_order_relaxed);
  s.sum = sum_us_.load(std::memory_order_relaxed) / 1e6;
  return s;
}

// ---- what every sequence's finish tells the model ----

struct GenerativeServedModel::Recorder {
  LatencyHistogram ttft, inter_token, end_to_end, queue;
  std::atomic<uint64_t> prompt_tokens{0}, generated_tokens{0}, ok{0}, failed{0};
  CircuitBreaker* breaker = nullptr;
};

namespace {

// Times the sequence and reports its end to the breaker, then passes everything on.
class RecordingSink final : public generation::TokenSink {
 public:
  RecordingSink(std::shared_ptr<generation::TokenSink> inner, std::shared_ptr<GenerativeServedModel::Recorder> rec,
                size_t prompt_tokens)
      : inner_(std::move(inner)), rec_(std::move(rec)), prompt_tokens_(prompt_tokens) {}

  generation::SinkVerdict OnToken(const generation::SampledToken& token) override {
    const auto now = Clock::now();
    if (tokens_ == 0) {
      rec_->ttft.Observe(SecondsBetween(submitted_, now));
      rec_->queue.Observe(SecondsBetween(submitted_, now));  // until its first step produced a token
    } else {
      rec_->inter_token.Observe(SecondsBetween(last_, now));
    }
    last_ = now;
    ++tokens_;
    return inner_->OnToken(token);
  }

  void OnFinish(generation::FinishReason reason, const std::string& error) override {
    rec_->end_to_end.Observe(SecondsBetween(submitted_, Clock::now()));
    rec_->prompt_tokens.fetch_add(prompt_tokens_, std::memory_order_relaxed);
    rec_->generated_tokens.fetch_add(tokens_, std::memory_order_relaxed);
    if (reason == generation::FinishReason::kError) {
      rec_->failed.fetch_add(1, std::memory_order_relaxed);
      rec_->breaker->RecordFailure(error);
    } else {
      rec_->ok.fetch_add(1, std::memory_order_relaxed);
      if (reason != generation::FinishReason::kCancelled) rec_->breaker->RecordSuccess();
    }
    inner_->OnFinish(reason, error);
  }

 private:
  std::shared_ptr<generation::TokenSink> inner_;
  std::shared_ptr<GenerativeServedModel::Recorder> rec_;
  size_t prompt_tokens_;
  Clock::time_point submitted_ = Clock::now(), last_;
  uint64_t tokens_ = 0;
};

}  // namespace

std::shared_ptr<GenerativeServedModel> GenerativeServedModel::Load(const std::string& name, int64_t version,
                                                                   const std::string& dir,
                                                                   const io::ModelConfig& config,
                                                                   const ServingDefaults& defaults,
                                                                   const models::FamilyInfo& family) {
  if (!family.load_generative) ThrowInternal(std::string("family ") + family.name + " has no generative loader");
  std::shared_ptr<GenerativeServedModel> m(new GenerativeServedModel());
  m->name_ = name;
  m->version_ = version;
  m->dir_ = dir;
  m->config_ = config;
  if (m->config_.name.empty()) m->config_.name = name;
  m->family_name_ = family.name;
  m->scheduling_ = family.scheduling;
  ServingSettings settings = SettingsFrom(config, defaults);

  models::GenerativeLoadOptions options;
  options.precision = settings.precision;
  options.threads = defaults.clip.threads;
  m->model_ = family.load_generative(dir, options);

  m->tokenizer_ = std::make_unique<text::HfTokenizer>(text::HfTokenizer::Load(dir + "/tokenizer.json"));
  m->tokenizer_config_ = std::make_unique<text::TokenizerConfig>(text::LoadTokenizerConfig(dir + "/tokenizer_config.json"));
  m->chat_template_ = LoadChatTemplate(dir, *m->tokenizer_config_, defaults.generation.chat_template_file);
  m->valid_vocab_ = std::min(m->tokenizer_->vocab_size(), m->model_->vocab_size());

  nlohmann::json generation_config = nlohmann::json::object();
  const std::string gc_path = dir + "/generation_config.json";
  if (fs::exists(gc_path)) generation_config = io::LoadJsonFile(gc_path);
  if (!generation_config.is_object()) ThrowInvalidModel(gc_path + ": expected a JSON object");
  AppendIds(generation_config, "eos_token_id", m->eos_ids_, gc_path);
  if (m->eos_ids_.empty()) AppendIds(io::LoadJsonFile(dir + "/config.json"), "eos_token_id", m->eos_ids_, dir + "/config.json");
  if (m->eos_ids_.empty() && !m->tokenizer_config_->eos_token.empty()) {
    if (const auto id = m->tokenizer_->TokenId(m->tokenizer_config_->eos_token)) m->eos_ids_.push_back(*id);
  }
  try {
    m->default_sampling_ = DefaultSampling(generation_config);
  } catch (const nlohmann::json::exception& e) {
    ThrowInvalidModel(gc_path + ": a sampling field has the wrong type (" + e.what() + ")");
  }

  const layers::KvCacheShape kv = m->model_->kv_cache_shape(settings.engine.block_tokens);
  if (settings.kv_cache_blocks > 0) settings.engine.kv_cache_bytes = static_cast<size_t>(settings.kv_cache_blocks) * kv.block_bytes();
  m->memory_estimate_.weights_bytes = CheckpointWeightBytes(dir);
  m->memory_estimate_.weights_bytes += settings.engine.kv_cache_bytes / kv.block_bytes() * kv.block_bytes();

  Logger* logger = defaults.logger;
  m->breaker_ = std::make_unique<CircuitBreaker>(
      defaults.breaker, [logger, name, version](BreakerState from, BreakerState to, const std::string& last_error) {
        if (!logger) return;
        logger->Warning("circuit breaker changed state", {{"model", name}, {"version", version},
                                                          {"from", BreakerStateName(from)}, {"to", BreakerStateName(to)},
                                                          {"last_error", last_error}});
      });
  m->recorder_ = std::make_shared<Recorder>();
  m->recorder_->breaker = m->breaker_.get();
  if (const models::ImageEncoder* encoder = m->model_->image_encoder()) {
    m->images_ = MakeImageEncoder(name, version, m->model_->precision(), *encoder, dir, config, defaults, settings);
  }
  m->engine_ = std::make_unique<generation::GenerationEngine>(*m->model_, settings.engine);
  if (const models::SpeechEncoder* encoder = m->model_->speech_encoder()) {
    auto vocabulary = std::make_shared<const speech::WhisperVocabulary>(
        speech::WhisperVocabulary::Load(dir, *m->tokenizer_, m->model_->vocab_size()));
    BatcherConfig batcher;
    // An audio window is a large piece of work (1500 positions): beyond 8 a bigger batch
    // gains nothing and only holds the first windows back.
    batcher.max_batch_size = std::clamp<int>(config.max_batch_size > 0 ? static_cast<int>(config.max_batch_size)
                                                                       : defaults.max_batch_size, 1, 8);
    batcher.max_queue_delay = defaults.max_queue_delay;
    if (config.dynamic_batching) {
      batcher.max_queue_delay = std::chrono::microseconds(config.dynamic_batching->max_queue_delay_microseconds);
    }
    GenerativeServedModel* self = m.get();
    m->speech_ = std::make_unique<SpeechService>(
        "model \"" + name + "\"", *encoder, std::move(vocabulary), *m->tokenizer_, m->model_->context_length(), batcher,
        settings.transcription,
        [self](generation::GenerationRequest r, std::shared_ptr<generation::TokenSink> sink) {
          return self->Submit(std::move(r), std::move(sink));
        },
        [self](uint64_t id) { self->Cancel(id); });
  }
  return m;
}

std::vector<ImageFeatures> GenerativeServedModel::EncodeImages(const std::vector<std::string>& images,
                                                               const std::vector<std::string>& where) {
  if (!images_) ThrowInvalidArgument("model \"" + name_ + "\" takes text only; it cannot read images");
  breaker_->Admit("model \"" + name_ + "\"");
  return images_->Encode(images, where);
}

std::optional<ImageFeatureStats> GenerativeServedModel::ImageStats() const {
  if (!images_) return std::nullopt;
  return images_->Stats();
}

uint64_t GenerativeServedModel::MemoryToLoad(const std::string& dir, const io::ModelConfig& config,
                                             const ServingDefaults& defaults) {
  return CheckpointWeightBytes(dir) + SettingsFrom(config, defaults).engine.kv_cache_bytes;
}

GenerativeServedModel::~GenerativeServedModel() {
  if (speech_) speech_->Shutdown(std::chrono::milliseconds(0));
  if (engine_) engine_->Shutdown(std::chrono::milliseconds(0));
  speech_.reset();
  engine_.reset();  // before the model it runs
  images_.reset();
}

std::vector<TensorSpec> GenerativeServedModel::kserve_inputs() const {
  if (speech_) return {{"AUDIO", "BYTES", {1}}};  // one audio file
  std::vector<TensorSpec> inputs = {{"text_input", "BYTES", {1}}, {"max_tokens", "INT32", {1}}};
  // Models that read images take image URLs, one per <image> in text_input (generate's "image").
  if (model_->image_encoder()) inputs.push_back({"image", "BYTES", {-1}});
  return inputs;
}

std::vector<TensorSpec> GenerativeServedModel::kserve_outputs() const {
  if (speech_) return {{"TEXT", "BYTES", {1}}, {"SEGMENTS", "BYTES", {1}}};  // the transcript; its segments as JSON
  return {{"text_output", "BYTES", {-1}}};
}

std::shared_ptr<const generation::TokenVocabularyBytes> GenerativeServedModel::vocabulary_bytes() const {
  std::call_once(vocabulary_once_, [this] {
    std::vector<std::string> bytes(static_cast<size_t>(valid_vocab_));
    for (int i = 0; i < valid_vocab_; ++i) bytes[i] = tokenizer_->IsSpecial(i) ? std::string() : tokenizer_->TokenBytes(i);
    vocabulary_ = std::make_shared<const generation::TokenVocabularyBytes>(std::move(bytes));
  });
  return vocabulary_;
}

uint64_t GenerativeServedModel::Submit(generation::GenerationRequest request,
                                       std::shared_ptr<generation::TokenSink> sink) {
  breaker_->Admit("model \"" + name_ + "\"");
  if (request.valid_vocab <= 0) request.valid_vocab = valid_vocab_;
  const size_t prompt_tokens = request.prompt.size();
  return engine_->Submit(std::move(request), std::make_shared<RecordingSink>(std::move(sink), recorder_, prompt_tokens));
}

void GenerativeServedModel::Cancel(uint64_t sequence_id) { engine_->Cancel(sequence_id); }

GenerationMetricsSnapshot GenerativeServedModel::Metrics() const {
  GenerationMetricsSnapshot s;
  s.time_to_first_token = recorder_->ttft.Read();
  s.inter_token = recorder_->inter_token.Read();
  s.end_to_end = recorder_->end_to_end.Read();
  s.queue = recorder_->queue.Read();
  s.prompt_tokens = recorder_->prompt_tokens.load();
  s.generated_tokens = recorder_->generated_tokens.load();
  s.requests_ok = recorder_->ok.load();
  s.requests_failed = recorder_->failed.load();
  s.engine = engine_->Stats();
  return s;
}

ModelStats GenerativeServedModel::Stats() const {
  ModelStats s;
  const GenerationMetricsSnapshot g = Metrics();
  s.inference_count = g.requests_ok + g.requests_failed;
  s.execution_count = g.engine.steps;
  s.success.count = g.requests_ok;
  s.success.ns = static_cast<uint64_t>(g.end_to_end.sum * 1e9);
  s.fail.count = g.requests_failed;
  s.queue.count = g.queue.count;
  s.queue.ns = static_cast<uint64_t>(g.queue.sum * 1e9);
  s.queue_length = static_cast<size_t>(g.engine.waiting);
  return s;
}

namespace {

// Waits for one probe sequence.
class ProbeSink final : public generation::TokenSink {
 public:
  generation::SinkVerdict OnToken(const generation::SampledToken&) override { return generation::SinkVerdict::kContinue; }
  void OnFinish(generation::FinishReason reason, const std::string& error) override {
    promise_.set_value({reason, error});
  }
  std::future<std::pair<generation::FinishReason, std::string>> future() { return promise_.get_future(); }

 private:
  std::promise<std::pair<generation::FinishReason, std::string>> promise_;
};

}  // namespace

ServedModel::ProbeResult GenerativeServedModel::Probe(std::chrono::milliseconds deadline) {
  ProbeResult result;
  if (speech_) {
    // A listening model's sequences need an audio window: encode silence, decode a token.
    try {
      speech_->Probe(deadline);
    } catch (const Error& e) {
      const bool busy = e.code() == ErrorCode::kUnavailable || e.code() == ErrorCode::kTimeout;
      return {busy ? ProbeOutcome::kBusy : ProbeOutcome::kFailed, std::string("transcribe: ") + e.what()};
    } catch (const std::exception& e) {
      return {ProbeOutcome::kFailed, std::string("transcribe: ") + e.what()};
    }
    return result;
  }
  try {
    generation::GenerationRequest request;
    request.prompt = {eos_ids_.empty() ? 0 : eos_ids_.front()};
    request.sampling.temperature = 0;
    request.max_tokens = 1;
    request.ignore_eos = true;
    request.valid_vocab = valid_vocab_;
    auto sink = std::make_shared<ProbeSink>();
    auto done = sink->future();
    const uint64_t id = engine_->Submit(std::move(request), sink);  // past the breaker, on purpose
    if (done.wait_for(deadline) != std::future_status::ready) {
      engine_->Cancel(id);
      return {ProbeOutcome::kBusy, "generate: no answer within " + std::to_string(deadline.count()) + " ms"};
    }
    const auto [reason, error] = done.get();
    if (reason == generation::FinishReason::kError) return {ProbeOutcome::kFailed, "generate: " + error};
    if (reason == generation::FinishReason::kCancelled) return {ProbeOutcome::kBusy, "generate: cancelled"};
  } catch (const Error& e) {
    const bool busy = e.code() == ErrorCode::kUnavailable || e.code() == ErrorCode::kTimeout;
    return {busy ? ProbeOutcome::kBusy : ProbeOutcome::kFailed, std::string("generate: ") + e.what()};
  } catch (const std::exception& e) {
    return {ProbeOutcome::kFailed, std::string("generate: ") + e.what()};
  }
  return result;
}

void GenerativeServedModel::Shutdown(std::chrono::milliseconds deadline) {
  if (images_) images_->Shutdown(deadline);
  if (speech_) speech_->Shutdown(deadline);
  engine_->Shutdown(deadline);
}

}  // namespace mms::runtime
