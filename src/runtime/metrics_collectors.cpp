#include "runtime/metrics_collectors.h"

#include "runtime/speech_service.h"

#include <dirent.h>
#include <unistd.h>

#include <fstream>
#include <iterator>
#include <sstream>

#include "base/error.h"
#include "runtime/embedding_cache.h"
#include "runtime/clip_served_model.h"
#include "runtime/generative_served_model.h"
#include "runtime/model_repository.h"

namespace mms::runtime {

namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

// Batch sizes are whole numbers, so these buckets count them exactly up to 256.
const double kBatchSizeBuckets[] = {1, 2, 4, 8, 16, 32, 64, 128, 256};

MetricFamily Family(std::string name, std::string help, MetricType type) {
  MetricFamily f;
  f.name = std::move(name);
  f.help = std::move(help);
  f.type = type;
  return f;
}

ClientMetric WithLabels(std::vector<ClientMetric::Label> labels) {
  ClientMetric m;
  m.label = std::move(labels);
  return m;
}

ClientMetric GaugeOf(std::vector<ClientMetric::Label> labels, double value) {
  ClientMetric m = WithLabels(std::move(labels));
  m.gauge.value = value;
  return m;
}

ClientMetric CounterOf(std::vector<ClientMetric::Label> labels, double value) {
  ClientMetric m = WithLabels(std::move(labels));
  m.counter.value = value;
  return m;
}

// A summary without quantiles: its _count and _sum give rates and means.
ClientMetric SummaryOf(std::vector<ClientMetric::Label> labels, const DurationStat& d) {
  ClientMetric m = WithLabels(std::move(labels));
  m.summary.sample_count = d.count;
  m.summary.sample_sum = static_cast<double>(d.ns) / 1e9;
  return m;
}

ClientMetric BatchSizeHistogram(std::vector<ClientMetric::Label> labels, const std::vector<BatchSizeStat>& stats) {
  ClientMetric m = WithLabels(std::move(labels));
  for (double bound : kBatchSizeBuckets) m.histogram.bucket.push_back({0, bound});
  for (const BatchSizeStat& s : stats) {
    m.histogram.sample_count += s.compute_infer.count;
    m.histogram.sample_sum += static_cast<double>(s.batch_size) * static_cast<double>(s.compute_infer.count);
    for (auto& bucket : m.histogram.bucket) {
      if (s.batch_size <= bucket.upper_bound) bucket.cumulative_count += s.compute_infer.count;
    }
  }
  // The serializer writes the +Inf bucket from sample_count.
  return m;
}

ClientMetric LatencyHistogramOf(std::vector<ClientMetric::Label> labels, const LatencyHistogram::Snapshot& s) {
  ClientMetric m = WithLabels(std::move(labels));
  uint64_t cumulative = 0;
  const auto& bounds = LatencyHistogram::Bounds();
  for (size_t i = 0; i < bounds.size(); ++i) {
    cumulative += s.buckets[i];
    m.histogram.bucket.push_back({cumulative, bounds[i]});
  }
  m.histogram.sample_count = s.count;
  m.histogram.sample_sum = s.sum;
  return m;
}

}  // namespace

std::vector<MetricFamily> CollectGenerationMetrics(const ModelRepository& repository) {
  MetricFamily ttft = Family("mmserve_time_to_first_token_seconds",
                             "From a sequence's submission to its first generated token", MetricType::Histogram);
  MetricFamily itl = Family("mmserve_inter_token_latency_seconds", "Between consecutive tokens of a sequence",
                            MetricType::Histogram);
  MetricFamily e2e = Family("mmserve_generation_seconds", "From a sequence's submission to its end",
                            MetricType::Histogram);
  MetricFamily queue = Family("mmserve_generation_queue_seconds",
                              "From a sequence's submission to the step that produced its first token",
                              MetricType::Histogram);
  MetricFamily prompt = Family("mmserve_prompt_tokens_total", "Prompt tokens of finished sequences", MetricType::Counter);
  MetricFamily generated = Family("mmserve_generated_tokens_total", "Tokens generated", MetricType::Counter);
  MetricFamily computed = Family("mmserve_prompt_tokens_computed_total",
                                 "Prompt tokens run through the model (the rest came from the prefix cache)",
                                 MetricType::Counter);
  MetricFamily running = Family("mmserve_sequences_running", "Sequences in the running batch", MetricType::Gauge);
  MetricFamily waiting = Family("mmserve_sequences_waiting", "Sequences waiting to run", MetricType::Gauge);
  MetricFamily kv_total = Family("mmserve_kv_cache_blocks", "KV-cache blocks of the model", MetricType::Gauge);
  MetricFamily kv_used = Family("mmserve_kv_cache_blocks_used", "KV-cache blocks held by sequences now",
                                MetricType::Gauge);
  MetricFamily prefix = Family("mmserve_prefix_cache_queries_total",
                               "Full prompt blocks looked up in the prefix cache, by result", MetricType::Counter);
  MetricFamily preemptions = Family("mmserve_preemptions_total",
                                    "Sequences preempted (to be recomputed) because the KV cache was full",
                                    MetricType::Counter);
  MetricFamily steps = Family("mmserve_generation_steps_total", "Batched decoder steps", MetricType::Counter);
  MetricFamily images = Family("mmserve_image_features_total",
                               "Images of chat requests by where their features came from (cache, encoded)",
                               MetricType::Counter);
  MetricFamily image_batches = Family("mmserve_image_encoder_batches_total",
                                      "Batches the image encoder ran (images of concurrent requests together)",
                                      MetricType::Counter);
  MetricFamily audio = Family("mmserve_audio_seconds_total", "Seconds of audio transcribed", MetricType::Counter);
  MetricFamily audio_processing = Family("mmserve_audio_processing_seconds_total",
                                         "Wall time of those transcriptions (the real-time factor is "
                                         "rate(processing) / rate(audio))",
                                         MetricType::Counter);
  MetricFamily audio_rtf = Family("mmserve_audio_real_time_factor",
                                  "Processing seconds per audio second since the model was loaded",
                                  MetricType::Gauge);
  MetricFamily audio_stages = Family("mmserve_audio_stage_seconds_total",
                                     "Transcription time by stage: file_decode (the upload to samples), mel, encoder "
                                     "(waiting for and running the window batches), decoder (the generation steps)",
                                     MetricType::Counter);
  MetricFamily audio_windows = Family("mmserve_audio_windows_total",
                                      "30-second windows decoded, and of them decoded again at a higher temperature "
                                      "(kind=fallback)",
                                      MetricType::Counter);
  MetricFamily audio_batches = Family("mmserve_audio_encoder_batches_total",
                                      "Batches the audio encoder ran (windows of concurrent requests together)",
                                      MetricType::Counter);
  for (const ModelVersionStatus& s : repository.Index()) {
    if (s.version <= 0 || s.state != ModelState::kReady) continue;
    std::shared_ptr<ServedModel> model;
    try {
      model = repository.Find(s.name, s.version);
    } catch (const Error&) {
      continue;
    }
    const GenerativeServedModel* g = model->AsGenerator();
    if (!g) continue;
    if (const SpeechService* sp = g->speech()) {
      const std::vector<ClientMetric::Label> l = {{"model", s.name}, {"version", std::to_string(s.version)}};
      const SpeechStats st = sp->Stats();
      audio.metric.push_back(CounterOf(l, st.audio_seconds));
      audio_processing.metric.push_back(CounterOf(l, st.processing_seconds));
      audio_rtf.metric.push_back(GaugeOf(l, st.audio_seconds > 0 ? st.processing_seconds / st.audio_seconds : 0.0));
      for (const auto& [stage, seconds] : {std::pair{"file_decode", st.file_decode_seconds}, {"mel", st.mel_seconds},
                                           {"encoder", st.encode_seconds}, {"decoder", st.decode_seconds}}) {
        auto with = l;
        with.push_back({"stage", stage});
        audio_stages.metric.push_back(CounterOf(with, seconds));
      }
      auto windows = l, fallbacks = l;
      windows.push_back({"kind", "window"});
      fallbacks.push_back({"kind", "fallback"});
      audio_windows.metric.push_back(CounterOf(windows, static_cast<double>(st.windows)));
      audio_windows.metric.push_back(CounterOf(fallbacks, static_cast<double>(st.fallbacks)));
      audio_batches.metric.push_back(CounterOf(l, static_cast<double>(st.encoder.execution_count)));
    }
    const std::vector<ClientMetric::Label> labels = {{"model", s.name}, {"version", std::to_string(s.version)}};
    const GenerationMetricsSnapshot m = g->Metrics();
    ttft.metric.push_back(LatencyHistogramOf(labels, m.time_to_first_token));
    itl.metric.push_back(LatencyHistogramOf(labels, m.inter_token));
    e2e.metric.push_back(LatencyHistogramOf(labels, m.end_to_end));
    queue.metric.push_back(LatencyHistogramOf(labels, m.queue));
    prompt.metric.push_back(CounterOf(labels, static_cast<double>(m.prompt_tokens)));
    generated.metric.push_back(CounterOf(labels, static_cast<double>(m.engine.generated_tokens)));
    computed.metric.push_back(CounterOf(labels, static_cast<double>(m.engine.prompt_tokens_computed)));
    running.metric.push_back(GaugeOf(labels, m.engine.running));
    waiting.metric.push_back(GaugeOf(labels, m.engine.waiting));
    kv_total.metric.push_back(GaugeOf(labels, m.engine.kv_blocks_total));
    kv_used.metric.push_back(GaugeOf(labels, m.engine.kv_blocks_used));
    auto hit = labels, miss = labels;
    hit.push_back({"result", "hit"});
    miss.push_back({"result", "miss"});
    prefix.metric.push_back(CounterOf(hit, static_cast<double>(m.engine.prefix_cache_hits)));
    prefix.metric.push_back(
        CounterOf(miss, static_cast<double>(m.engine.prefix_cache_queries - m.engine.prefix_cache_hits)));
    preemptions.metric.push_back(CounterOf(labels, static_cast<double>(m.engine.preemptions)));
    steps.metric.push_back(CounterOf(labels, static_cast<double>(m.engine.steps)));
    if (const std::optional<ImageFeatureStats> is = g->ImageStats()) {
      auto cached = labels, encoded = labels;
      cached.push_back({"source", "cache"});
      encoded.push_back({"source", "encoded"});
      images.metric.push_back(CounterOf(cached, static_cast<double>(is->cache_hits)));
      images.metric.push_back(CounterOf(encoded, static_cast<double>(is->encoded)));
      image_batches.metric.push_back(CounterOf(labels, static_cast<double>(is->batcher.execution_count)));
    }
  }
  std::vector<MetricFamily> out;
  for (MetricFamily* f : {&ttft, &itl, &e2e, &queue, &prompt, &generated, &computed, &running, &waiting, &kv_total,
                          &kv_used, &prefix, &preemptions, &steps, &images, &image_batches, &audio, &audio_processing,
                          &audio_rtf, &audio_stages, &audio_windows, &audio_batches}) {
    out.push_back(std::move(*f));
  }
  return out;
}

std::vector<MetricFamily> CollectModelMetrics(const ModelRepository& repository, const EmbeddingCache* cache) {
  MetricFamily state = Family("mmserve_model_state",
                              "1 for the state each model version is in (LOADING, READY, UNAVAILABLE, UNLOADING), "
                              "0 for the others; version 0 stands for a model with no loadable version",
                              MetricType::Gauge);
  MetricFamily load = Family("mmserve_model_load_seconds", "How long loading the serving copy of the version took",
                             MetricType::Gauge);
  MetricFamily breaker = Family("mmserve_circuit_breaker_state",
                                "1 for the state of the version's circuit breaker (closed, open, half_open), 0 for "
                                "the others",
                                MetricType::Gauge);
  MetricFamily requests = Family("mmserve_inference_requests_total",
                                 "Inference requests that reached the model version, by result (success, failure)",
                                 MetricType::Counter);
  MetricFamily items = Family("mmserve_inference_items_total",
                              "Images and texts inferred (a batch of 8 counts 8)", MetricType::Counter);
  MetricFamily executions = Family("mmserve_executions_total", "Batches executed", MetricType::Counter);
  MetricFamily queue_length = Family("mmserve_queue_length", "Images and texts waiting for a batch now",
                                     MetricType::Gauge);
  MetricFamily queue = Family("mmserve_inference_queue_seconds",
                              "Time images and texts waited in the batcher's queue (one observation per item)",
                              MetricType::Summary);
  MetricFamily compute = Family("mmserve_inference_compute_seconds",
                                "Compute time by phase: preprocess (decode, resize, tokenize; per request), infer "
                                "(the forward pass; per batch), postprocess (scores; per request)",
                                MetricType::Summary);
  MetricFamily batch_size = Family("mmserve_batch_size", "Items per executed batch", MetricType::Histogram);
  MetricFamily cache_requests = Family("mmserve_cache_requests_total",
                                       "Images and texts looked up in the embedding cache, by level (memory, then "
                                       "redis for what memory lacked) and result (hit, miss)",
                                       MetricType::Counter);
  const bool memory_level = !cache || cache->has_memory();
  const bool redis_level = !cache || cache->has_shared();

  constexpr ModelState kStates[] = {ModelState::kLoading, ModelState::kReady, ModelState::kUnavailable,
                                    ModelState::kUnloading};
  constexpr BreakerState kBreakerStates[] = {BreakerState::kClosed, BreakerState::kOpen, BreakerState::kHalfOpen};
  for (const ModelVersionStatus& s : repository.Index()) {
    const std::string version = std::to_string(s.version);
    for (ModelState st : kStates) {
      state.metric.push_back(GaugeOf({{"model", s.name}, {"version", version}, {"state", ModelStateName(st)}},
                                     st == s.state ? 1 : 0));
    }
    if (s.version <= 0) continue;
    std::shared_ptr<ServedModel> model;
    try {
      model = repository.Find(s.name, s.version);
    } catch (const Error&) {
      continue;  // not loaded (failed, or unloaded since Index()): no statistics to read
    }
    const std::vector<ClientMetric::Label> labels = {{"model", s.name}, {"version", version}};
    auto with = [&labels](const char* name, const char* value) {
      auto l = labels;
      l.push_back({name, value});
      return l;
    };
    load.metric.push_back(GaugeOf(labels, s.load_seconds));
    const BreakerState current = model->breaker_state();
    for (BreakerState b : kBreakerStates) {
      breaker.metric.push_back(GaugeOf(with("state", BreakerStateName(b)), b == current ? 1 : 0));
    }
    const ModelStats stats = model->Stats();
    requests.metric.push_back(CounterOf(with("result", "success"), static_cast<double>(stats.success.count)));
    requests.metric.push_back(CounterOf(with("result", "failure"), static_cast<double>(stats.fail.count)));
    items.metric.push_back(CounterOf(labels, static_cast<double>(stats.inference_count)));
    executions.metric.push_back(CounterOf(labels, static_cast<double>(stats.execution_count)));
    queue_length.metric.push_back(GaugeOf(labels, static_cast<double>(stats.queue_length)));
    queue.metric.push_back(SummaryOf(labels, stats.queue));
    compute.metric.push_back(SummaryOf(with("phase", "preprocess"), stats.compute_input));
    compute.metric.push_back(SummaryOf(with("phase", "infer"), stats.compute_infer));
    compute.metric.push_back(SummaryOf(with("phase", "postprocess"), stats.compute_output));
    batch_size.metric.push_back(BatchSizeHistogram(labels, stats.batch_stats));
    if (const ClipServedModel* clip = model->AsClip(); clip && clip->caching()) {
      auto lookups = [&](const char* level, uint64_t hits, uint64_t misses) {
        auto l = with("level", level);
        l.push_back({"result", "hit"});
        cache_requests.metric.push_back(CounterOf(l, static_cast<double>(hits)));
        l.back().value = "miss";
        cache_requests.metric.push_back(CounterOf(l, static_cast<double>(misses)));
      };
      const CacheItemStats& c = stats.cache_items;
      if (memory_level) lookups("memory", c.memory_hits, c.memory_misses);
      if (redis_level) lookups("redis", c.redis_hits, c.redis_misses);
    }
  }
  std::vector<MetricFamily> out;
  for (MetricFamily* f : {&state, &load, &breaker, &requests, &items, &executions, &queue_length, &queue, &compute,
                          &batch_size, &cache_requests}) {
    out.push_back(std::move(*f));
  }
  return out;
}

std::vector<MetricFamily> CollectCacheMetrics(const EmbeddingCache* cache) {
  if (!cache) return {};
  MetricFamily entries = Family("mmserve_cache_entries", "Embeddings held by the memory level now", MetricType::Gauge);
  MetricFamily bytes = Family("mmserve_cache_bytes", "Bytes held by the memory level now", MetricType::Gauge);
  MetricFamily capacity = Family("mmserve_cache_capacity_bytes", "The memory level's bound (--cache-bytes)",
                                 MetricType::Gauge);
  MetricFamily evictions = Family("mmserve_cache_evictions_total",
                                  "Entries the memory level dropped to stay within its bound", MetricType::Counter);
  MetricFamily errors = Family("mmserve_cache_errors_total", "Failed connects and commands of the redis level",
                               MetricType::Counter);
  MetricFamily rejected = Family("mmserve_cache_rejected_total",
                                 "Redis values whose HMAC tag was wrong (planted or corrupted), answered as misses",
                                 MetricType::Counter);
  MetricFamily up = Family("mmserve_cache_up", "1 while the level answers, 0 while it is down (redis)",
                           MetricType::Gauge);
  const EmbeddingCache::Stats stats = cache->GetStats();
  if (stats.memory) {
    const std::vector<ClientMetric::Label> memory = {{"level", "memory"}};
    entries.metric.push_back(GaugeOf(memory, static_cast<double>(stats.memory->entries)));
    bytes.metric.push_back(GaugeOf(memory, static_cast<double>(stats.memory->bytes)));
    capacity.metric.push_back(GaugeOf(memory, static_cast<double>(stats.memory->capacity_bytes)));
    evictions.metric.push_back(CounterOf(memory, static_cast<double>(stats.memory->evictions)));
    up.metric.push_back(GaugeOf(memory, 1));
  }
  if (stats.shared) {
    const std::vector<ClientMetric::Label> redis = {{"level", "redis"}};
    errors.metric.push_back(CounterOf(redis, static_cast<double>(stats.shared->errors)));
    rejected.metric.push_back(CounterOf(redis, static_cast<double>(stats.shared->rejected)));
    up.metric.push_back(GaugeOf(redis, stats.shared->available ? 1 : 0));
  }
  return {std::move(entries), std::move(bytes), std::move(capacity), std::move(evictions), std::move(errors),
          std::move(rejected), std::move(up)};
}

std::optional<ProcessStats> ReadProcessStats() {
  std::ifstream stat_file("/proc/self/stat");
  const std::string stat((std::istreambuf_iterator<char>(stat_file)), std::istreambuf_iterator<char>());
  // The command name (field 2) is in parentheses and may hold spaces: count from after it.
  const size_t close = stat.rfind(')');
  if (close == std::string::npos) return std::nullopt;
  std::istringstream rest(stat.substr(close + 1));
  std::vector<std::string> f{std::istream_iterator<std::string>(rest), std::istream_iterator<std::string>()};
  // f[0] is field 3 (state), so field n is f[n - 3].
  if (f.size() < 22) return std::nullopt;
  const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  const double page = static_cast<double>(sysconf(_SC_PAGESIZE));
  ProcessStats p;
  try {
    p.cpu_seconds = (std::stod(f[14 - 3]) + std::stod(f[15 - 3])) / ticks;
    p.threads = std::stod(f[20 - 3]);
    p.virtual_bytes = std::stod(f[23 - 3]);
    p.resident_bytes = std::stod(f[24 - 3]) * page;
    const double start_ticks = std::stod(f[22 - 3]);
    std::ifstream proc_stat("/proc/stat");
    for (std::string line; std::getline(proc_stat, line);) {
      if (line.rfind("btime ", 0) == 0) p.start_time_seconds = std::stod(line.substr(6)) + start_ticks / ticks;
    }
  } catch (const std::exception&) {
    return std::nullopt;
  }
  if (DIR* dir = opendir("/proc/self/fd")) {
    int n = 0;
    while (const dirent* e = readdir(dir)) {
      if (e->d_name[0] != '.') ++n;
    }
    closedir(dir);
    p.open_fds = n - 1;  // not the descriptor that reads the folder
  }
  return p;
}

std::vector<MetricFamily> CollectProcessMetrics() {
  const std::optional<ProcessStats> p = ReadProcessStats();
  if (!p) return {};
  auto one = [](std::string name, std::string help, MetricType type, double value) {
    MetricFamily f = Family(std::move(name), std::move(help), type);
    f.metric.push_back(type == MetricType::Counter ? CounterOf({}, value) : GaugeOf({}, value));
    return f;
  };
  return {
      one("process_cpu_seconds_total", "User and system CPU time spent, in seconds", MetricType::Counter,
          p->cpu_seconds),
      one("process_resident_memory_bytes", "Resident memory size in bytes", MetricType::Gauge, p->resident_bytes),
      one("process_virtual_memory_bytes", "Virtual memory size in bytes", MetricType::Gauge, p->virtual_bytes),
      one("process_threads", "Threads of the process", MetricType::Gauge, p->threads),
      one("process_start_time_seconds", "Start time of the process since the Unix epoch, in seconds",
          MetricType::Gauge, p->start_time_seconds),
      one("process_open_fds", "Open file descriptors", MetricType::Gauge, p->open_fds),
  };
}

}  // namespace mms::runtime
