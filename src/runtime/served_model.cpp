#include "runtime/served_model.h"

#include <omp.h>

#include <cstring>

#include "base/error.h"
#include "models/clip/clip_scoring.h"

namespace mms::runtime {

namespace {

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

// Collects the futures of one request's items into an Embeddings matrix. Waits for all
// of them even after a failure, so no item outlives the request that submitted it.
models::Embeddings Gather(std::vector<std::future<std::vector<float>>>& futures, int64_t dim) {
  models::Embeddings out;
  out.count = static_cast<int64_t>(futures.size());
  out.dim = dim;
  out.values.resize(out.count * dim);
  std::exception_ptr first_error;
  for (size_t i = 0; i < futures.size(); ++i) {
    try {
      const std::vector<float> e = futures[i].get();
      std::memcpy(out.values.data() + i * dim, e.data(), dim * sizeof(float));
    } catch (...) {
      if (!first_error) first_error = std::current_exception();
    }
  }
  if (first_error) std::rethrow_exception(first_error);
  return out;
}

}  // namespace

std::shared_ptr<ServedModel> ServedModel::Load(const std::string& name, int64_t version, const std::string& dir,
                                               const io::ModelConfig& config, const ServingDefaults& defaults) {
  std::shared_ptr<ServedModel> m(new ServedModel());
  m->name_ = name;
  m->version_ = version;
  m->dir_ = dir;
  m->config_ = config;
  if (m->config_.name.empty()) m->config_.name = name;
  if (m->config_.max_batch_size <= 0) m->config_.max_batch_size = defaults.max_batch_size;

  models::ClipOptions clip = defaults.clip;
  for (const auto& [key, value] : config.parameters) {
    if (key == "image_pipeline") {
      clip.image_pipeline = media::ParseImagePipeline(value);
    } else if (key == "precision") {
      if (value != "fp32") ThrowInvalidModel("parameter precision \"" + value + "\" is not supported (fp32)");
    } else {
      ThrowInvalidModel("unknown parameter \"" + key + "\" (known: image_pipeline, precision)");
    }
  }
  m->pipeline_ = models::ClipPipeline::Load(dir, clip);
  m->threads_per_instance_ = clip.threads;

  const BatcherConfig batcher = BatcherConfigFrom(m->config_, defaults);
  // The image and text batchers run their batches concurrently, so each instance of each
  // tower owns its workspace: sharing one would let a text pass overwrite an image pass.
  for (int i = 0; i < batcher.instance_count; ++i) {
    m->image_workspaces_.push_back(std::make_unique<Workspace>());
    m->text_workspaces_.push_back(std::make_unique<Workspace>());
  }
  const std::string batcher_name = name + ":" + std::to_string(version);
  ServedModel* self = m.get();  // the batchers are owned by the model and stopped before it goes

  m->image_batcher_ = std::make_unique<DynamicBatcher<std::vector<float>, Embedding>>(
      batcher_name + " images", batcher, [self](std::vector<std::vector<float>>& batch, int instance) {
        if (self->threads_per_instance_ > 0) omp_set_num_threads(self->threads_per_instance_);
        const int64_t n = static_cast<int64_t>(batch.size()), floats = self->pipeline_->image_floats();
        const int64_t dim = self->embed_dim();
        std::vector<float> pixels(n * floats);
        for (int64_t i = 0; i < n; ++i) std::memcpy(pixels.data() + i * floats, batch[i].data(), floats * sizeof(float));
        std::vector<float> out(n * dim);
        self->pipeline_->model().EncodeImages(pixels.data(), n, out.data(), *self->image_workspaces_[instance]);
        std::vector<Embedding> results(n);
        for (int64_t i = 0; i < n; ++i) results[i].assign(out.begin() + i * dim, out.begin() + (i + 1) * dim);
        return results;
      });
  m->text_batcher_ = std::make_unique<DynamicBatcher<std::vector<int32_t>, Embedding>>(
      batcher_name + " texts", batcher, [self](std::vector<std::vector<int32_t>>& batch, int instance) {
        if (self->threads_per_instance_ > 0) omp_set_num_threads(self->threads_per_instance_);
        const int64_t n = static_cast<int64_t>(batch.size()), dim = self->embed_dim();
        std::vector<float> out(n * dim);
        self->pipeline_->model().EncodeTexts(batch, out.data(), *self->text_workspaces_[instance]);
        std::vector<Embedding> results(n);
        for (int64_t i = 0; i < n; ++i) results[i].assign(out.begin() + i * dim, out.begin() + (i + 1) * dim);
        return results;
      });
  return m;
}

ServedModel::~ServedModel() { Shutdown(std::chrono::milliseconds(30000)); }

void ServedModel::Shutdown(std::chrono::milliseconds deadline) {
  if (image_batcher_) image_batcher_->Shutdown(deadline);
  if (text_batcher_) text_batcher_->Shutdown(deadline);
}

void ServedModel::RecordRequest(bool ok, Clock::time_point start, uint64_t input_ns, uint64_t output_ns) {
  const uint64_t total = NanosSince(start);
  std::lock_guard<std::mutex> lock(stats_mutex_);
  DurationStat& s = ok ? success_ : fail_;
  ++s.count;
  s.ns += total;
  if (ok) {
    ++compute_input_.count;
    compute_input_.ns += input_ns;
    ++compute_output_.count;
    compute_output_.ns += output_ns;
    last_inference_ms_ = NowMillisSinceEpoch();
  }
}

ServedModel::JointResult ServedModel::EmbedBoth(const std::vector<std::string_view>& encoded_images,
                                                const std::vector<std::string>& texts,
                                                std::optional<std::chrono::microseconds> timeout) {
  const auto start = Clock::now();
  try {
    // Preprocess on this thread, then queue both halves before waiting on either, so the
    // image and text batches of one request can run back to back.
    std::vector<std::vector<float>> pixels;
    pixels.reserve(encoded_images.size());
    for (auto bytes : encoded_images) pixels.push_back(pipeline_->PreprocessImage(bytes));
    std::vector<std::vector<int32_t>> ids;
    ids.reserve(texts.size());
    for (const auto& t : texts) ids.push_back(pipeline_->Tokenize(t));
    const uint64_t input_ns = NanosSince(start);

    std::vector<std::future<Embedding>> image_futures, text_futures;
    if (!pixels.empty()) image_futures = image_batcher_->SubmitMany(std::move(pixels), timeout);
    if (!ids.empty()) {
      try {
        text_futures = text_batcher_->SubmitMany(std::move(ids), timeout);
      } catch (...) {
        for (auto& f : image_futures) f.wait();
        throw;
      }
    }
    JointResult r;
    std::exception_ptr error;
    try {
      r.images = Gather(image_futures, embed_dim());
    } catch (...) {
      error = std::current_exception();
    }
    try {
      r.texts = Gather(text_futures, embed_dim());
    } catch (...) {
      if (!error) error = std::current_exception();
    }
    if (error) std::rethrow_exception(error);

    const auto output_start = Clock::now();
    if (r.images.count > 0 && r.texts.count > 0) {
      for (int64_t i = 0; i < r.images.count; ++i) {
        r.logits.push_back(models::ClipLogits(r.images.row(i), r.texts.values.data(), r.texts.count, r.texts.dim,
                                              logit_scale()));
        r.probs.push_back(models::Softmax(r.logits.back()));
      }
    }
    RecordRequest(true, start, input_ns, NanosSince(output_start));
    return r;
  } catch (...) {
    RecordRequest(false, start, 0, 0);
    throw;
  }
}

models::Embeddings ServedModel::EmbedImages(const std::vector<std::string_view>& encoded_images,
                                            std::optional<std::chrono::microseconds> timeout) {
  return EmbedBoth(encoded_images, {}, timeout).images;
}

models::Embeddings ServedModel::EmbedTexts(const std::vector<std::string>& texts,
                                           std::optional<std::chrono::microseconds> timeout) {
  return EmbedBoth({}, texts, timeout).texts;
}

std::vector<models::LabelScore> ServedModel::Classify(std::string_view encoded_image, const std::vector<std::string>& texts) {
  if (texts.empty()) ThrowInvalidArgument("at least one text is needed to classify an image");
  const JointResult r = EmbedBoth({encoded_image}, texts);
  std::vector<models::LabelScore> scores;
  for (size_t i = 0; i < texts.size(); ++i) scores.push_back({texts[i], r.probs[0][i]});
  std::stable_sort(scores.begin(), scores.end(),
                   [](const models::LabelScore& a, const models::LabelScore& b) { return a.score > b.score; });
  return scores;
}

ModelStats ServedModel::Stats() const {
  ModelStats s;
  {
    std::lock_guard<std::mutex> lock(stats_mutex_);
    s.success = success_;
    s.fail = fail_;
    s.compute_input = compute_input_;
    s.compute_output = compute_output_;
  }
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
