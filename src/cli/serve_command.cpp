#include <condition_variable>
#include <csignal>
#include <mutex>
#include <pthread.h>
#include <thread>

#include "api/http_server.h"
#include "base/error.h"
#include "cli/args.h"
#include "cli/cache_options.h"
#include "cli/commands.h"
#include "engine/op_profile.h"
#include "cli/model_options.h"
#include "runtime/fault_injection.h"
#include "runtime/health_checker.h"
#include "runtime/metrics.h"

namespace mms::cli {

namespace {

// "a.example, b.example" -> {"a.example", "b.example"}: spaces around items dropped, empty items skipped.
std::vector<std::string> SplitList(const std::string& list) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= list.size()) {
    size_t end = list.find(',', start);
    if (end == std::string::npos) end = list.size();
    std::string item = list.substr(start, end - start);
    item.erase(0, item.find_first_not_of(" \t"));
    item.erase(item.find_last_not_of(" \t") + 1);
    if (!item.empty()) out.push_back(std::move(item));
    start = end + 1;
  }
  return out;
}

runtime::RepositoryOptions RepositoryOptionsFrom(const Args& args, const api::InputLimits& limits) {
  runtime::RepositoryOptions o;
  o.root = args.Required("model-repository");
  o.default_model = args.Get("default-model");
  o.control_mode = runtime::ParseControlMode(args.Get("model-control-mode", "none"));
  o.poll_seconds = args.GetInt("repository-poll-secs", 15);
  o.startup_models = args.All("load-model");
  if (!o.startup_models.empty() && o.control_mode != runtime::ControlMode::kExplicit) {
    ThrowInvalidArgument("--load-model needs --model-control-mode explicit");
  }
  if (o.poll_seconds < 1) ThrowInvalidArgument("--repository-poll-secs must be at least 1");
  o.defaults.clip.image_pipeline = media::ParseImagePipeline(args.Get("image-pipeline", "hf"));
  o.defaults.clip.threads = args.GetInt("threads", 0);
  o.defaults.clip.precision = PrecisionFlag(args);  // config.pbtxt's parameter "precision" overrides it
  o.defaults.clip.decode_limits.max_bytes = limits.max_image_bytes;
  // Decompression bombs: a small file can declare a huge image; refused before decoding.
  o.defaults.clip.decode_limits.max_pixels =
      static_cast<uint64_t>(args.GetDouble("max-image-pixels", static_cast<double>(o.defaults.clip.decode_limits.max_pixels)));
  if (o.defaults.clip.decode_limits.max_pixels < 1) ThrowInvalidArgument("--max-image-pixels must be at least 1");
  const double request_pixels = args.GetDouble("max-request-pixels", static_cast<double>(o.defaults.clip.max_request_pixels));
  if (!(request_pixels >= 1) || request_pixels > 1e12) ThrowInvalidArgument("--max-request-pixels must be between 1 and 1e12");
  o.defaults.clip.max_request_pixels = static_cast<uint64_t>(request_pixels);
  o.defaults.max_batch_size = args.GetInt("max-batch-size", o.defaults.max_batch_size);
  o.defaults.max_queue_delay = std::chrono::microseconds(args.GetInt("max-queue-delay-us", 2000));
  const std::string batching = args.Get("dynamic-batching", "on");
  if (batching != "on" && batching != "off") ThrowInvalidArgument("--dynamic-batching must be on or off");
  o.defaults.dynamic_batching = batching == "on";
  if (o.defaults.max_batch_size < 1) ThrowInvalidArgument("--max-batch-size must be at least 1");
  o.defaults.breaker.failure_threshold = args.GetInt("circuit-breaker-failures", 5);
  o.defaults.breaker.cool_down = std::chrono::milliseconds(
      static_cast<int64_t>(1000 * args.GetDouble("circuit-breaker-cooldown-secs", 10)));
  if (o.defaults.breaker.failure_threshold < 0) ThrowInvalidArgument("--circuit-breaker-failures must not be negative");
  if (o.defaults.breaker.cool_down.count() < 0) ThrowInvalidArgument("--circuit-breaker-cooldown-secs must not be negative");
  const double budget_mb = args.GetDouble("memory-budget-mb", 0);  // config.pbtxt's memory_budget_mb overrides it
  if (!(budget_mb >= 0) || budget_mb > 1e9) ThrowInvalidArgument("--memory-budget-mb must be between 0 (none) and 1e9");
  o.defaults.memory_budget_bytes = static_cast<uint64_t>(budget_mb * (1 << 20));
  // Generative models (config.pbtxt parameters of the same names override these).
  auto& g = o.defaults.generation;
  const int kv_mb = args.GetInt("kv-cache-mb", static_cast<int>(g.kv_cache_bytes >> 20));
  if (kv_mb < 1) ThrowInvalidArgument("--kv-cache-mb must be at least 1");
  g.kv_cache_bytes = static_cast<uint64_t>(kv_mb) << 20;
  g.max_running_sequences = args.GetInt("max-running-sequences", g.max_running_sequences);
  if (g.max_running_sequences < 1 || g.max_running_sequences > 4096) {
    ThrowInvalidArgument("--max-running-sequences must be between 1 and 4096");
  }
  g.max_tokens_per_step = args.GetInt("max-tokens-per-step", g.max_tokens_per_step);
  if (g.max_tokens_per_step < 16) ThrowInvalidArgument("--max-tokens-per-step must be at least 16");
  g.max_waiting = args.GetInt("max-waiting-sequences", g.max_waiting);
  if (g.max_waiting < 1) ThrowInvalidArgument("--max-waiting-sequences must be at least 1");
  g.chat_template_file = args.Get("chat-template", "");
  return o;
}

api::ServerOptions ServerOptionsFrom(const Args& args) {
  api::ServerOptions o;
  o.host = args.Get("host", "0.0.0.0");
  o.port = args.GetInt("port", 8080);
  o.http_threads = args.GetInt("http-threads", 64);
  o.limits.max_image_bytes = args.GetInt("max-image-bytes", o.limits.max_image_bytes);
  o.limits.max_audio_bytes = args.GetInt("max-audio-bytes", o.limits.max_audio_bytes);
  o.limits.max_text_chars = args.GetInt("max-text-chars", o.limits.max_text_chars);
  o.limits.max_texts = args.GetInt("max-texts", o.limits.max_texts);
  const int max_images = args.GetInt("max-images", static_cast<int>(o.limits.max_images));
  const int max_connections = args.GetInt("max-connections", static_cast<int>(o.max_connections));
  if (max_connections < 1) ThrowInvalidArgument("--max-connections must be at least 1");
  if (max_images < 1) ThrowInvalidArgument("--max-images must be at least 1");
  o.limits.max_images = static_cast<size_t>(max_images);
  o.max_connections = static_cast<size_t>(max_connections);
  o.tls_ciphers = args.Get("tls-ciphers", o.tls_ciphers);
  auto seconds_flag = [&args](const char* name, std::chrono::milliseconds fallback) {
    const double secs = args.GetDouble(name, fallback.count() / 1000.0);
    if (!(secs > 0) || secs > 86400) ThrowInvalidArgument(std::string("--") + name + " must be between 0 and 86400 seconds");
    return std::chrono::milliseconds(static_cast<int64_t>(secs * 1000));
  };
  o.header_timeout = seconds_flag("header-timeout-secs", o.header_timeout);
  o.body_timeout = seconds_flag("body-timeout-secs", o.body_timeout);
  o.keep_alive_timeout = seconds_flag("keep-alive-timeout-secs", o.keep_alive_timeout);
  o.write_timeout = seconds_flag("write-timeout-secs", o.write_timeout);

  o.limits.max_body_bytes = args.GetInt("max-body-bytes", o.limits.max_body_bytes);
  o.tls_cert = args.Get("tls-cert");
  o.tls_key = args.Get("tls-key");
  o.access.api_keys_file = args.Get("api-keys-file");
  o.access.jwt_secret_file = args.Get("jwt-secret-file");
  o.access.jwt_issuer = args.Get("jwt-issuer");
  o.access.jwt_audience = args.Get("jwt-audience");
  o.access.rate_limit = args.GetDouble("rate-limit", 0);
  o.access.rate_burst = args.GetDouble("rate-burst", 0);
  o.access.protect_health = args.Has("protect-health");
  if ((!o.access.jwt_issuer.empty() || !o.access.jwt_audience.empty()) && o.access.jwt_secret_file.empty()) {
    ThrowInvalidArgument("--jwt-issuer and --jwt-audience need --jwt-secret-file");
  }
  // Image URLs in chat requests: data: URLs always; http(s) and file:// only as allowed here.
  auto& images = o.image_sources;
  for (const std::string& host : SplitList(args.Get("image-url-allowed-hosts", ""))) images.allowed_hosts.push_back(host);
  images.allow_private_addresses = args.Has("image-url-allow-private");
  images.local_folder = args.Get("image-folder", "");
  images.max_bytes = o.limits.max_image_bytes;
  images.timeout = seconds_flag("image-fetch-timeout-secs", images.timeout);
  if (o.port < 0 || o.port > 65535) ThrowInvalidArgument("--port must be 0..65535");
  if (o.http_threads < 1) ThrowInvalidArgument("--http-threads must be at least 1");
  return o;
}

}  // namespace

int ServeCommand(int argc, char** argv) {
  std::set<std::string> value_flags = {"model-repository", "host", "port", "threads", "http-threads", "image-pipeline", "default-model",
                   "log-level", "log-format", "config", "max-image-bytes", "max-audio-bytes", "max-image-pixels", "max-text-chars", "max-texts", "max-body-bytes",
                   "model-control-mode", "repository-poll-secs", "load-model", "exit-timeout-secs", "max-batch-size",
                   "max-queue-delay-us", "dynamic-batching", "cache-bytes", "redis-url", "cache-ttl-secs", "cache-hmac-secret-file",
                   "redis-timeout-ms", "api-keys-file", "jwt-secret-file", "jwt-issuer",
                   "jwt-audience", "rate-limit", "rate-burst", "circuit-breaker-failures",
                   "circuit-breaker-cooldown-secs", "health-check-secs", "health-check-failures", "memory-budget-mb",
                   "tls-cert", "tls-key", "precision", "max-images", "max-request-pixels", "max-connections", "tls-ciphers",
                   "header-timeout-secs", "body-timeout-secs", "keep-alive-timeout-secs", "write-timeout-secs",
                   "kv-cache-mb", "max-running-sequences", "max-tokens-per-step", "max-waiting-sequences", "chat-template",
                   "image-url-allowed-hosts", "image-folder", "image-fetch-timeout-secs"};
  // Test builds (mmserve-testing) add their fault-injection flags; production adds none.
  for (const auto& flag : runtime::FaultInjectionFlags()) value_flags.insert(flag);
  Args args(argc, argv, 2, value_flags, {"protect-health", "image-url-allow-private", "profile"});
  args.ReadEnvironment("MMSERVE_", {"load-model"});  // containers configure by environment
  if (args.Has("config")) args.ReadConfigFile(args.Get("config"));
  if (args.Has("profile")) profile::Enable();  // the op table goes to stderr at exit
  std::map<std::string, std::string> fault_flags;
  for (const auto& flag : runtime::FaultInjectionFlags())
    if (args.Has(flag)) fault_flags[flag] = args.Get(flag);
  runtime::ConfigureFaultInjection(fault_flags);
  Logger logger(ParseLogLevel(args.Get("log-level", "info")), ParseLogFormat(args.Get("log-format", "json")));
  const api::ServerOptions server_options = ServerOptionsFrom(args);
  runtime::RepositoryOptions repo_options = RepositoryOptionsFrom(args, server_options.limits);
  repo_options.defaults.cache = EmbeddingCacheFrom(args, logger);  // shared by every model
  const auto exit_timeout = std::chrono::seconds(args.GetInt("exit-timeout-secs", 30));

  // SIGINT/SIGTERM are taken by one thread, blocked everywhere else. Blocked before any
  // thread starts, so that every thread inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  runtime::Metrics metrics;
  metrics.WatchCache(repo_options.defaults.cache);
  runtime::ModelRepository repository(repo_options, logger);
  repository.Start();
  runtime::HealthCheckOptions health_options;
  health_options.interval = std::chrono::milliseconds(static_cast<int64_t>(1000 * args.GetDouble("health-check-secs", 10)));
  health_options.failures_before_reload = args.GetInt("health-check-failures", 3);
  if (health_options.failures_before_reload < 1) ThrowInvalidArgument("--health-check-failures must be at least 1");
  runtime::HealthChecker health_checker(repository, health_options, logger);
  health_checker.Start();
  api::HttpServer server(server_options, repository, logger, metrics);

  std::mutex done_mutex;
  std::condition_variable done_cv;
  bool done = false;
  // Shutdown: stop accepting; requests already accepted finish (their queued items run);
  // if that takes longer than --exit-timeout-secs, what is still queued is answered 503.
  std::thread signal_thread([&] {
    int sig = 0;
    sigwait(&signals, &sig);
    {
      std::lock_guard<std::mutex> lock(done_mutex);
      if (done) return;  // woken by main after the server stopped on its own
    }
    logger.Info("shutting down", {{"signal", sig == SIGINT ? "SIGINT" : "SIGTERM"},
                                  {"exit_timeout_secs", exit_timeout.count()}});
    server.Stop();
    std::unique_lock<std::mutex> lock(done_mutex);
    if (!done_cv.wait_for(lock, exit_timeout, [&] { return done; })) {
      logger.Warning("exit timeout reached; failing queued requests");
      lock.unlock();
      repository.Stop(std::chrono::milliseconds(0));
    }
  });
  auto finish = [&] {
    {
      std::lock_guard<std::mutex> lock(done_mutex);
      done = true;
    }
    done_cv.notify_all();
    pthread_kill(signal_thread.native_handle(), SIGTERM);  // no-op if it already returned
    signal_thread.join();
  };
  try {
    server.Run();
  } catch (...) {
    finish();
    throw;
  }
  finish();
  health_checker.Stop();  // no probes into models that are shutting down
  repository.Stop(std::chrono::duration_cast<std::chrono::milliseconds>(exit_timeout));
  logger.Info("stopped");
  return 0;
}

}  // namespace mms::cli
