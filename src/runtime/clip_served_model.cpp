#include "runtime/clip_served_model.h"

#include <omp.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <future>
#include <stdexcept>
#include <thread>

#include "base/error.h"
#include "base/file_util.h"
#include "base/logger.h"
#include "base/worker_pool.h"
#include "engine/op_profile.h"
#include "models/clip/clip_scoring.h"
#include "runtime/weights_fingerprint.h"

namespace mms::runtime {

namespace {

// The op profile's scope for a request's stages; the encoders' runs, on their batchers'
// threads and overlapping the request's wait, are in parentheses (not in its total).
constexpr const char* kServingScope = "serving";

using Clock = std::chrono::steady_clock;

uint64_t NanosSince(Clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - start).count();
}

uint64_t NowMillisSinceEpoch() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

BatcherConfig BatcherConfigFrom(const io::ModelConfig& config, const ServingDefaults& defaults) {
  BatcherConfig b;
  b.max_batch_size = config.max_batch_size > 0 ? static_cast<int>(config.max_batch_size) : defaults.max_batch_size;
  b.instance_count = static_cast<int>(config.instance_count);
  b.enabled = config.dynamic_batching.has_value();
  if (config.dynamic_batching) {
    const auto& d = *config.dynamic_batching;
    for (int64_t p : d.preferred_batch_size) b.preferred_batch_sizes.push_back(static_cast<int>(p));
    b.max_queue_delay = std::chrono::microseconds(d.max_queue_delay_microseconds);
    b.max_queue_size = static_cast<size_t>(d.default_queue_policy.max_queue_size);
    b.default_timeout = std::chrono::microseconds(d.default_queue_policy.default_timeout_microseconds);
  }
  return b;
}

// The results of one request's queued items, in order. Waits for all of them even after
// a failure, so no item outlives the request that submitted it.
std::vector<std::vector<float>> Gather(std::vector<std::future<std::vector<float>>>& futures) {
  std::vector<std::vector<float>> out(futures.size());
  std::exception_ptr first_error;
  for (size_t i = 0; i < futures.size(); ++i) {
    try {
      out[i] = futures[i].get();
    } catch (...) {
      if (!first_error) first_error = std::current_exception();
    }
  }
  if (first_error) std::rethrow_exception(first_error);
  return out;
}

// `count` rows: cached[offset + i] where the cache had row i, else the next computed one.
models::Embeddings Assemble(size_t count, std::vector<std::optional<std::vector<float>>>& cached, size_t offset,
                            const std::vector<std::vector<float>>& computed, int64_t dim) {
  models::Embeddings out;
  out.count = static_cast<int64_t>(count);
  out.dim = dim;
  out.values.resize(count * dim);
  size_t next = 0;
  for (size_t i = 0; i < count; ++i) {
    const std::vector<float>& e = cached[offset + i] ? *cached[offset + i] : computed.at(next++);
    if (static_cast<int64_t>(e.size()) != dim) ThrowInternal("an embedding has the wrong size");
    std::memcpy(out.values.data() + i * dim, e.data(), dim * sizeof(float));
  }
  return out;
}

const char* ImagePipelineName(media::ImagePipeline p) {
  return p == media::ImagePipeline::kOpenAI ? "openai" : "hf";
}

// Thrown inside Execute when not even one item fits in memory; answered as kUnavailable.
class OutOfMemoryForOneItem : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// config.pbtxt's "memory_budget_mb", else the server's default; 0 = none.
uint64_t MemoryBudgetBytes(const io::ModelConfig& config, const ServingDefaults& defaults) {
  auto it = config.parameters.find("memory_budget_mb");
  if (it == config.parameters.end()) return defaults.memory_budget_bytes;
  double mb = 0;
  size_t used = 0;
  try {
    mb = std::stod(it->second, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != it->second.size() || !(mb > 0) || mb > 1e9) {
    ThrowInvalidModel("parameter memory_budget_mb \"" + it->second + "\" is not a number of MiB between 0 and 1e9");
  }
  return static_cast<uint64_t>(mb * (1 << 20));
}

// CLIP's memory per batch item of a tower of `tokens` positions: one layer's activations
// at a time (the workspace is reused layer after layer): the residual stream, the normed
// input, q/k/v, the attention output (6·H per token), the MLP's intermediate (I per
// token) and the attention scores (heads·T² per sequence), all fp32, plus `input_floats`
// of input. An estimate meant to err high, not a measurement.
uint64_t ClipTowerBytesPerItem(const models::ClipTowerConfig& tower, int64_t tokens, int64_t input_floats) {
  const uint64_t t = static_cast<uint64_t>(std::max<int64_t>(tokens, 1));
  const uint64_t floats = t * (6 * static_cast<uint64_t>(tower.hidden_size) + static_cast<uint64_t>(tower.intermediate_size)) +
                          static_cast<uint64_t>(tower.num_heads) * t * t + static_cast<uint64_t>(input_floats);
  return floats * sizeof(float);
}

MemoryEstimate EstimateClipMemory(const models::ClipConfig& c, uint64_t weights_bytes) {
  MemoryEstimate e;
  e.weights_bytes = weights_bytes;
  const int64_t pixels = c.vision.num_channels * c.vision.image_size * c.vision.image_size;
  e.parts.push_back({"image", ClipTowerBytesPerItem(c.vision, c.vision.num_patches() + 1, pixels)});
  e.parts.push_back({"text", ClipTowerBytesPerItem(c.text, c.text.max_positions, 0)});
  return e;
}

}  // namespace

std::shared_ptr<ClipServedModel> ClipServedModel::Load(const std::string& name, int64_t version, const std::string& dir,
                                               const io::ModelConfig& config, const ServingDefaults& defaults) {
  std::shared_ptr<ClipServedModel> m(new ClipServedModel());
  m->name_ = name;
  m->version_ = version;
  m->dir_ = dir;
  m->config_ = config;
  if (m->config_.name.empty()) m->config_.name = name;
  if (m->config_.max_batch_size <= 0) m->config_.max_batch_size = defaults.max_batch_size;

  models::ClipOptions clip = defaults.clip;
  bool cache = true;
  for (const auto& [key, value] : config.parameters) {
    if (key == "cache") {
      if (value != "on" && value != "off") ThrowInvalidModel("parameter cache \"" + value + "\" is not on or off");
      cache = value == "on";
    } else if (key == "image_pipeline") {
      clip.image_pipeline = media::ParseImagePipeline(value);
    } else if (key == "precision") {
      if (!ParsePrecision(value, &clip.precision)) {
        ThrowInvalidModel("parameter precision \"" + value + "\" is not one of fp32, bf16, int8");
      }
    } else if (key == "memory_budget_mb") {
      MemoryBudgetBytes(config, defaults);  // checked here, used below
    } else {
      ThrowInvalidModel("unknown parameter \"" + key + "\" (known: cache, image_pipeline, precision, memory_budget_mb)");
    }
  }
  // The budget is checked before the weights load: a copy that cannot fit is refused at once.
  m->memory_estimate_ = EstimateClipMemory(models::ClipConfig::FromFile(dir + "/config.json"), CheckpointWeightBytes(dir));
  BatcherConfig image_batcher = BatcherConfigFrom(m->config_, defaults), text_batcher = image_batcher;
  if (const uint64_t budget = MemoryBudgetBytes(config, defaults); budget > 0) {
    const std::vector<int> fit = MaxBatchWithinBudget(m->memory_estimate_, budget, image_batcher.instance_count,
                                                      image_batcher.max_batch_size,
                                                      "model \"" + name + "\" version " + std::to_string(version));
    for (auto [b, max] : {std::pair{&image_batcher, fit[0]}, std::pair{&text_batcher, fit[1]}}) {
      b->max_batch_size = max;
      auto& preferred = b->preferred_batch_sizes;  // sizes above the new maximum cannot form
      preferred.erase(std::remove_if(preferred.begin(), preferred.end(), [max](int p) { return p > max; }),
                      preferred.end());
    }
  }
  m->image_ceiling_ = std::make_unique<BatchCeiling>(image_batcher.max_batch_size);
  m->text_ceiling_ = std::make_unique<BatchCeiling>(text_batcher.max_batch_size);
  // Cached embeddings are keyed by the bytes of the files loaded. The files' identities
  // before hashing and after loading must agree, or the fingerprint might describe other
  // weights than the ones that serve (files replaced during the load).
  const bool caching = cache && defaults.cache;
  std::string weights;
  std::vector<CheckpointFileState> files_before;
  if (caching) {
    files_before = CheckpointState(dir);
    weights = FingerprintCheckpoint(dir);
  }
  m->pipeline_ = models::ClipPipeline::Load(dir, clip);
  m->threads_per_instance_ = clip.threads;
  // A request's images decode on as many threads as the towers may use (--threads, or every
  // core), so that a batch of images is not decoded one after another on one core while the
  // others wait for it; with one core there is no pool and they decode on the request's thread.
  const int decode_threads = clip.threads > 0 ? clip.threads : static_cast<int>(std::thread::hardware_concurrency());
  if (decode_threads > 1) m->preprocess_pool_ = std::make_unique<WorkerPool>(std::min(decode_threads, 16));
  if (caching) {
    if (CheckpointState(dir) != files_before) {
      ThrowInvalidModel("the files of " + dir + " changed while it was loading; load it again");
    }
    m->cache_ = defaults.cache;
    // The precision the model really runs in (it may have fallen back to fp32), so that
    // replicas on different CPUs never share embeddings of different precisions.
    m->cache_key_ = {name, version, PrecisionName(m->pipeline_->model().precision()),
                     ImagePipelineName(clip.image_pipeline), weights};
  }

  const BatcherConfig& batcher = image_batcher;
  // The image and text batchers run their batches concurrently, so each instance of each
  // tower owns its workspace: sharing one would let a text pass overwrite an image pass.
  for (int i = 0; i < batcher.instance_count; ++i) {
    m->image_workspaces_.push_back(std::make_unique<Workspace>());
    m->text_workspaces_.push_back(std::make_unique<Workspace>());
  }
  const std::string batcher_name = name + ":" + std::to_string(version);
  m->fault_injector_ = NewFaultInjector(name, version);
  Logger* logger = defaults.logger;
  m->logger_ = logger;
  m->breaker_ = std::make_unique<CircuitBreaker>(
      defaults.breaker, [logger, name, version](BreakerState from, BreakerState to, const std::string& last_error) {
        if (!logger) return;
        logger->Log(to == BreakerState::kOpen ? LogLevel::kError : LogLevel::kWarning, "circuit breaker state changed",
                    {{"model", name}, {"version", version}, {"from", BreakerStateName(from)},
                     {"to", BreakerStateName(to)}, {"last_error", last_error}});
      });
  ClipServedModel* self = m.get();  // the batchers are owned by the model and stopped before it goes

  m->image_batcher_ = std::make_unique<DynamicBatcher<std::vector<float>, Embedding>>(
      batcher_name + " images", image_batcher, [self](std::vector<std::vector<float>>& batch, int instance) {
        return self->Execute("image", batch.size(), *self->image_ceiling_, [&](size_t begin, size_t count) {
          if (self->threads_per_instance_ > 0) omp_set_num_threads(self->threads_per_instance_);
          const int64_t n = static_cast<int64_t>(count), floats = self->pipeline_->image_floats();
          const int64_t dim = self->embed_dim();
          std::vector<float> pixels(n * floats);
          for (int64_t i = 0; i < n; ++i)
            std::memcpy(pixels.data() + i * floats, batch[begin + i].data(), floats * sizeof(float));
          std::vector<float> out(n * dim);
          const int64_t encode_start = profile::Enabled() ? profile::NowNs() : 0;
          self->pipeline_->model().EncodeImages(pixels.data(), n, out.data(), *self->image_workspaces_[instance]);
          if (encode_start) profile::Add(kServingScope, -1, "(image_encoder_run)", profile::NowNs() - encode_start);
          std::vector<Embedding> results(n);
          for (int64_t i = 0; i < n; ++i) results[i].assign(out.begin() + i * dim, out.begin() + (i + 1) * dim);
          return results;
        });
      });
  m->text_batcher_ = std::make_unique<DynamicBatcher<std::vector<int32_t>, Embedding>>(
      batcher_name + " texts", text_batcher, [self](std::vector<std::vector<int32_t>>& batch, int instance) {
        return self->Execute("text", batch.size(), *self->text_ceiling_, [&](size_t begin, size_t count) {
          if (self->threads_per_instance_ > 0) omp_set_num_threads(self->threads_per_instance_);
          const int64_t n = static_cast<int64_t>(count), dim = self->embed_dim();
          std::vector<float> out(n * dim);
          const bool whole = begin == 0 && count == batch.size();
          std::vector<std::vector<int32_t>> part;
          if (!whole) part.assign(batch.begin() + begin, batch.begin() + begin + count);
          const int64_t encode_start = profile::Enabled() ? profile::NowNs() : 0;
          self->pipeline_->model().EncodeTexts(whole ? batch : part, out.data(), *self->text_workspaces_[instance]);
          if (encode_start) profile::Add(kServingScope, -1, "(text_encoder_run)", profile::NowNs() - encode_start);
          std::vector<Embedding> results(n);
          for (int64_t i = 0; i < n; ++i) results[i].assign(out.begin() + i * dim, out.begin() + (i + 1) * dim);
          return results;
        });
      });
  return m;
}

ClipServedModel::~ClipServedModel() { Shutdown(std::chrono::milliseconds(30000)); }

std::vector<ClipServedModel::Embedding> ClipServedModel::Execute(const char* part, size_t batch_size, BatchCeiling& ceiling,
                                                        const RunRange& run) {
  try {
    std::vector<Embedding> results;
    results.reserve(batch_size);
    for (size_t done = 0; done < batch_size;) {
      const size_t chunk = std::min(batch_size - done, static_cast<size_t>(ceiling.current()));
      RunSplitting(part, done, chunk, ceiling, run, results);
      done += chunk;
    }
    breaker_->RecordSuccess();
    return results;
  } catch (const OutOfMemoryForOneItem& e) {
    throw Error(ErrorCode::kUnavailable, e.what());  // not told to the breaker
  } catch (const std::exception& e) {
    breaker_->RecordFailure(e.what());
    throw;
  }
}

void ClipServedModel::RunSplitting(const char* part, size_t begin, size_t count, BatchCeiling& ceiling, const RunRange& run,
                               std::vector<Embedding>& results) {
  bool out_of_memory = false;
  try {
    if (fault_injector_) fault_injector_->BeforeExecution({name_, version_, part, count});
    std::vector<Embedding> chunk = run(begin, count);
    ceiling.OnSuccess();
    for (auto& e : chunk) results.push_back(std::move(e));
  } catch (const std::bad_alloc&) {
    out_of_memory = true;  // handled below, once the exception is gone
  }
  if (!out_of_memory) return;
  ceiling.OnAllocationFailure(static_cast<int>(count));
  if (logger_) {
    logger_->Warning("allocation failed in a batch; splitting it and lowering the batch ceiling",
                     {{"model", name_}, {"version", version_}, {"part", part}, {"batch_size", count},
                      {"batch_ceiling", ceiling.current()}});
  }
  if (count <= 1) {
    throw OutOfMemoryForOneItem("out of memory running one " + std::string(part) + " item of model \"" + name_ +
                                "\" version " + std::to_string(version_) + "; retry later");
  }
  const size_t half = count / 2;
  RunSplitting(part, begin, half, ceiling, run, results);
  RunSplitting(part, begin + half, count - half, ceiling, run, results);
}

int ClipServedModel::max_batch_size(const std::string& part) const {
  return (part == "image" ? image_ceiling_ : text_ceiling_)->max();
}

int ClipServedModel::batch_ceiling(const std::string& part) const {
  return (part == "image" ? image_ceiling_ : text_ceiling_)->current();
}

uint64_t ClipServedModel::MemoryToLoad(const std::string& dir, const io::ModelConfig& config,
                                   const ServingDefaults& defaults) {
  const uint64_t budget = MemoryBudgetBytes(config, defaults);
  return budget > 0 ? budget : CheckpointWeightBytes(dir);
}

namespace {

// Queue-side answers (full, timed out, shutting down) and a momentary shortage of memory
// say the model was busy, not that it is broken: reloading it would not help, and a busy
// model must never be reloaded for being busy.
ClipServedModel::ProbeOutcome ClassifyProbeError(std::exception_ptr error, std::string* why) {
  try {
    std::rethrow_exception(error);
  } catch (const Error& e) {
    *why = e.what();
    const bool busy = e.code() == ErrorCode::kUnavailable || e.code() == ErrorCode::kTimeout;
    return busy ? ClipServedModel::ProbeOutcome::kBusy : ClipServedModel::ProbeOutcome::kFailed;
  } catch (const std::bad_alloc&) {
    *why = "out of memory for the probe's batch";
    return ClipServedModel::ProbeOutcome::kBusy;
  } catch (const std::exception& e) {
    *why = e.what();
  } catch (...) {
    *why = "unknown exception";
  }
  return ClipServedModel::ProbeOutcome::kFailed;
}

}  // namespace

ClipServedModel::ProbeResult ClipServedModel::Probe(std::chrono::milliseconds deadline) {
  ProbeResult result;
  const auto note = [&](const char* part, ProbeOutcome outcome, const std::string& why) {
    if (outcome == ProbeOutcome::kHealthy) return;
    result.outcome = std::max(result.outcome, outcome);
    result.detail += (result.detail.empty() ? "" : "; ") + std::string(part) + ": " + why;
  };
  const auto until = Clock::now() + deadline;
  const auto queue_timeout = std::chrono::duration_cast<std::chrono::microseconds>(deadline);
  std::vector<std::pair<const char*, std::future<Embedding>>> waits;
  // Both parts are queued before waiting on either, so the deadline covers them together.
  try {
    std::vector<std::vector<float>> image;
    image.emplace_back(static_cast<size_t>(pipeline_->image_floats()), 0.0f);  // mid-grey after normalizing
    waits.emplace_back("image", std::move(image_batcher_->SubmitMany(std::move(image), queue_timeout).front()));
  } catch (...) {
    std::string why;
    note("image", ClassifyProbeError(std::current_exception(), &why), why);
  }
  try {
    waits.emplace_back("text", std::move(text_batcher_->SubmitMany({pipeline_->Tokenize("health check")}, queue_timeout)
                                             .front()));
  } catch (...) {
    std::string why;
    note("text", ClassifyProbeError(std::current_exception(), &why), why);
  }
  for (auto& [part, future] : waits) {
    // An item still running at the deadline finishes on its own; its answer is dropped.
    if (future.wait_until(until) != std::future_status::ready) {
      note(part, ProbeOutcome::kBusy, "no answer within " + std::to_string(deadline.count()) + " ms");
      continue;
    }
    try {
      future.get();
    } catch (...) {
      std::string why;
      note(part, ClassifyProbeError(std::current_exception(), &why), why);
    }
  }
  return result;
}

void ClipServedModel::Shutdown(std::chrono::milliseconds deadline) {
  if (image_batcher_) image_batcher_->Shutdown(deadline);
  if (text_batcher_) text_batcher_->Shutdown(deadline);
}

void ClipServedModel::RecordRequest(bool ok, Clock::time_point start, uint64_t input_ns, uint64_t output_ns,
                                bool computed) {
  const uint64_t total = NanosSince(start);
  std::lock_guard<std::mutex> lock(stats_mutex_);
  DurationStat& s = ok ? success_ : fail_;
  ++s.count;
  s.ns += total;
  if (ok) last_inference_ms_ = NowMillisSinceEpoch();
  if (ok && computed) {
    ++compute_input_.count;
    compute_input_.ns += input_ns;
    ++compute_output_.count;
    compute_output_.ns += output_ns;
  }
}

void ClipServedModel::RecordCacheLookup(const EmbeddingCache::Lookup& found, size_t items) {
  const size_t memory_misses = items - found.memory_hits;
  if (cache_->has_memory()) {
    memory_hits_.fetch_add(found.memory_hits, std::memory_order_relaxed);
    memory_misses_.fetch_add(memory_misses, std::memory_order_relaxed);
  }
  if (cache_->has_shared()) {
    redis_hits_.fetch_add(found.shared_hits, std::memory_order_relaxed);
    redis_misses_.fetch_add(memory_misses - found.shared_hits, std::memory_order_relaxed);
  }
}

ClipServedModel::ItemsOutcome ClipServedModel::EmbedItems(const std::vector<std::string_view>& encoded_images,
                                                  const std::vector<std::string>& texts,
                                                  std::optional<std::chrono::microseconds> timeout,
                                                  Clock::time_point start, JointResult& r) {
  ItemsOutcome out;
  const int64_t dim = embed_dim();
  const size_t n_images = encoded_images.size(), n_texts = texts.size();
  profile::CountPass(kServingScope, static_cast<int64_t>(n_images + n_texts));
  profile::Timer stages(kServingScope, -1);
  std::vector<std::vector<int32_t>> ids;
  ids.reserve(n_texts);
  for (const auto& t : texts) ids.push_back(pipeline_->Tokenize(t));
  stages.Lap("tokenize");

  // Images are keyed by their encoded bytes, so a hit skips decoding too; texts by their
  // token ids. One lookup for both halves (one Redis round trip).
  std::vector<CacheDigest> keys;
  std::vector<std::optional<Embedding>> cached(n_images + n_texts);
  if (cache_ && n_images + n_texts > 0) {
    const auto lookup_start = Clock::now();
    keys.reserve(n_images + n_texts);
    for (auto bytes : encoded_images) keys.push_back(ImageCacheKey(cache_key_, bytes));
    for (const auto& t : ids) keys.push_back(TextCacheKey(cache_key_, t));
    EmbeddingCache::Lookup found = cache_->GetMany(keys, static_cast<size_t>(dim));
    RecordCacheLookup(found, keys.size());
    cached = std::move(found.values);
    out.cache_used = true;
    out.cache_ns = NanosSince(lookup_start);
  }
  stages.Lap("cache_lookup");

  // Images are decoded and preprocessed on this thread in chunks of one batch, each queued
  // as soon as it is ready, so the first batch runs while the next images are decoded;
  // the texts (tokenized above) are queued once the first chunk decoded, so that a request
  // whose first image is bad costs no inference. At most two chunks of pixels are held
  // at a time (the third waits for the first to finish), so a request's memory does not
  // grow with its number of images.
  std::vector<size_t> image_misses, text_misses;
  for (size_t i = 0; i < n_images; ++i) {
    if (!cached[i]) image_misses.push_back(i);
  }
  std::vector<std::vector<int32_t>> missing_ids;
  for (size_t t = 0; t < n_texts; ++t) {
    if (cached[n_images + t]) continue;
    text_misses.push_back(t);
    missing_ids.push_back(std::move(ids[t]));
  }
  out.computed = !image_misses.empty() || !text_misses.empty();

  std::vector<std::future<Embedding>> image_futures, text_futures;
  auto wait_all = [&] {
    for (auto& f : image_futures) f.wait();
    for (auto& f : text_futures) f.wait();
  };
  // compute_input: tokenizing, the cache lookup and preprocessing, without the waits between chunks.
  const uint64_t lookup_ns = NanosSince(start);
  uint64_t preprocess_ns = 0;
  media::PixelBudget request_pixels(pipeline_->options().max_request_pixels);
  try {
    auto submit_texts = [&] {
      if (!missing_ids.empty() && text_futures.empty()) text_futures = text_batcher_->SubmitMany(std::move(missing_ids), timeout);
    };
    if (image_misses.empty()) submit_texts();
    const size_t chunk = static_cast<size_t>(std::max<int64_t>(1, config_.max_batch_size));
    for (size_t first = 0; first < image_misses.size(); first += chunk) {
      if (first >= 2 * chunk) {
        for (size_t j = first - 2 * chunk; j < first - chunk; ++j) image_futures[j].wait();
        stages.Lap("wait_for_encoders");
      }
      const auto preprocess_start = Clock::now();
      std::vector<std::string_view> part;
      for (size_t j = first; j < std::min(first + chunk, image_misses.size()); ++j) {
        part.push_back(encoded_images[image_misses[j]]);
      }
      std::vector<std::vector<float>> pixels = PreprocessImages(part, request_pixels);
      preprocess_ns += NanosSince(preprocess_start);
      stages.Lap("image_decode_preprocess");
      submit_texts();
      auto submitted = image_batcher_->SubmitMany(std::move(pixels), timeout);
      for (auto& f : submitted) image_futures.push_back(std::move(f));
    }
  } catch (...) {
    wait_all();  // what was queued runs to its end before the request answers
    throw;
  }
  out.input_ns = lookup_ns + preprocess_ns;
  std::vector<Embedding> image_computed, text_computed;
  std::exception_ptr error;
  try {
    image_computed = Gather(image_futures);
  } catch (...) {
    error = std::current_exception();
  }
  try {
    text_computed = Gather(text_futures);
  } catch (...) {
    if (!error) error = std::current_exception();
  }
  stages.Lap("wait_for_encoders");
  if (error) std::rethrow_exception(error);
  r.images = Assemble(n_images, cached, 0, image_computed, dim);
  r.texts = Assemble(n_texts, cached, n_images, text_computed, dim);

  if (cache_ && out.computed) {
    const auto store_start = Clock::now();
    std::vector<CacheDigest> new_keys;
    std::vector<std::span<const float>> values;
    for (size_t j = 0; j < image_misses.size(); ++j) {
      new_keys.push_back(keys[image_misses[j]]);
      values.emplace_back(image_computed[j]);
    }
    for (size_t j = 0; j < text_misses.size(); ++j) {
      new_keys.push_back(keys[n_images + text_misses[j]]);
      values.emplace_back(text_computed[j]);
    }
    cache_->PutMany(new_keys, values);
    out.cache_ns += NanosSince(store_start);
  }
  return out;
}

std::vector<std::vector<float>> ClipServedModel::PreprocessImages(const std::vector<std::string_view>& encoded,
                                                                  media::PixelBudget& budget) const {
  std::vector<std::vector<float>> pixels;
  pixels.reserve(encoded.size());
  if (!preprocess_pool_ || encoded.size() < 2) {
    for (auto bytes : encoded) pixels.push_back(pipeline_->PreprocessImage(bytes, &budget));
    return pixels;
  }
  std::vector<std::future<std::vector<float>>> done;
  done.reserve(encoded.size());
  for (auto bytes : encoded) {
    done.push_back(
        preprocess_pool_->Submit([this, bytes, &budget] { return pipeline_->PreprocessImage(bytes, &budget); }));
  }
  // Every task ends before this returns or throws: they read the request's bytes and budget.
  for (auto& f : done) f.wait();
  for (auto& f : done) pixels.push_back(f.get());  // the first failed image's error, in request order
  return pixels;
}

ClipServedModel::JointResult ClipServedModel::EmbedBoth(const std::vector<std::string_view>& encoded_images,
                                                const std::vector<std::string>& texts,
                                                std::optional<std::chrono::microseconds> timeout) {
  const auto start = Clock::now();
  breaker_->Admit("model \"" + name_ + "\" version " + std::to_string(version_));
  try {
    JointResult r;
    const ItemsOutcome items = EmbedItems(encoded_images, texts, timeout, start, r);

    const auto output_start = Clock::now();
    if (r.images.count > 0 && r.texts.count > 0) {
      for (int64_t i = 0; i < r.images.count; ++i) {
        r.logits.push_back(models::ClipLogits(r.images.row(i), r.texts.values.data(), r.texts.count, r.texts.dim,
                                              logit_scale()));
        r.probs.push_back(models::Softmax(r.logits.back()));
      }
    }
    RecordRequest(true, start, items.input_ns, NanosSince(output_start), items.computed);
    if (items.cache_used) {
      std::lock_guard<std::mutex> lock(stats_mutex_);
      DurationStat& c = items.computed ? cache_miss_ : cache_hit_;
      ++c.count;
      c.ns += items.cache_ns;
    }
    return r;
  } catch (...) {
    RecordRequest(false, start, 0, 0);
    throw;
  }
}

models::Embeddings ClipServedModel::EmbedImages(const std::vector<std::string_view>& encoded_images,
                                            std::optional<std::chrono::microseconds> timeout) {
  return EmbedBoth(encoded_images, {}, timeout).images;
}

models::Embeddings ClipServedModel::EmbedTexts(const std::vector<std::string>& texts,
                                           std::optional<std::chrono::microseconds> timeout) {
  return EmbedBoth({}, texts, timeout).texts;
}

std::vector<models::LabelScore> ClipServedModel::Classify(std::string_view encoded_image, const std::vector<std::string>& texts) {
  if (texts.empty()) ThrowInvalidArgument("at least one text is needed to classify an image");
  const JointResult r = EmbedBoth({encoded_image}, texts);
  std::vector<models::LabelScore> scores;
  for (size_t i = 0; i < texts.size(); ++i) scores.push_back({texts[i], r.probs[0][i]});
  std::stable_sort(scores.begin(), scores.end(),
                   [](const models::LabelScore& a, const models::LabelScore& b) { return a.score > b.score; });
  return scores;
}

// The names KServe requests use (api/kserve_codec.h): BYTES images and texts in, FP32
// embeddings and image-text scores out.
std::vector<TensorSpec> ClipServedModel::kserve_inputs() const {
  return {{"IMAGE", "BYTES", {-1}}, {"TEXT", "BYTES", {-1}}};
}

std::vector<TensorSpec> ClipServedModel::kserve_outputs() const {
  const int64_t d = embed_dim();
  return {{"IMAGE_EMBEDS", "FP32", {-1, d}}, {"TEXT_EMBEDS", "FP32", {-1, d}},
          {"LOGITS_PER_IMAGE", "FP32", {-1, -1}}, {"PROBS", "FP32", {-1, -1}}};
}

namespace {

template <class Futures>
std::vector<std::vector<float>> WaitAll(Futures futures) {
  std::vector<std::vector<float>> out;
  out.reserve(futures.size());
  for (auto& f : futures) out.push_back(f.get());
  return out;
}

}  // namespace

std::vector<std::vector<float>> ClipServedModel::EncodePreprocessedImages(std::vector<std::vector<float>> pixels) {
  for (const auto& p : pixels) {
    if (static_cast<int64_t>(p.size()) != pipeline_->image_floats()) ThrowInvalidArgument("preprocessed image of the wrong size");
  }
  return WaitAll(image_batcher_->SubmitMany(std::move(pixels)));
}

std::vector<std::vector<float>> ClipServedModel::EncodeTokenIds(std::vector<std::vector<int32_t>> ids) {
  return WaitAll(text_batcher_->SubmitMany(std::move(ids)));
}

ModelStats ClipServedModel::Stats() const {
  ModelStats s;
  {
    std::lock_guard<std::mutex> lock(stats_mutex_);
    s.success = success_;
    s.fail = fail_;
    s.compute_input = compute_input_;
    s.compute_output = compute_output_;
    s.cache_hit = cache_hit_;
    s.cache_miss = cache_miss_;
  }
  s.cache_items = {memory_hits_.load(std::memory_order_relaxed), memory_misses_.load(std::memory_order_relaxed),
                   redis_hits_.load(std::memory_order_relaxed), redis_misses_.load(std::memory_order_relaxed)};
  s.last_inference_ms = last_inference_ms_;
  std::map<int, DurationStat> by_size;
  for (const BatcherStats& b : {image_batcher_->Stats(), text_batcher_->Stats()}) {
    s.execution_count += b.execution_count;
    s.queue.count += b.queue_count;
    s.queue.ns += b.queue_ns;
    s.compute_infer.count += b.execution_count;
    s.compute_infer.ns += b.compute_ns;
    s.queue_length += b.queue_length;
    for (const auto& [size, stat] : b.batch_stats) {
      by_size[size].count += stat.count;
      by_size[size].ns += stat.compute_ns;
      s.inference_count += static_cast<uint64_t>(size) * stat.count;
    }
  }
  for (const auto& [size, stat] : by_size) s.batch_stats.push_back({size, stat});
  return s;
}

}  // namespace mms::runtime
