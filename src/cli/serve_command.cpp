#include <csignal>
#include <pthread.h>
#include <thread>

#include "api/http_server.h"
#include "base/error.h"
#include "cli/args.h"
#include "cli/commands.h"

namespace mms::cli {

int ServeCommand(int argc, char** argv) {
  const Args args(argc, argv, 2,
                  {"model-repository", "host", "port", "threads", "http-threads", "image-pipeline", "default-model",
                   "log-level", "log-format", "max-image-bytes", "max-text-chars", "max-texts", "max-body-bytes"});
  Logger logger(ParseLogLevel(args.Get("log-level", "info")), ParseLogFormat(args.Get("log-format", "json")));

  runtime::RepositoryOptions repo_options;
  repo_options.root = args.Required("model-repository");
  repo_options.default_model = args.Get("default-model");
  repo_options.clip.image_pipeline = media::ParseImagePipeline(args.Get("image-pipeline", "hf"));
  repo_options.clip.threads = args.GetInt("threads", 0);

  api::ServerOptions server_options;
  server_options.host = args.Get("host", "0.0.0.0");
  server_options.port = args.GetInt("port", 8080);
  server_options.http_threads = args.GetInt("http-threads", 8);
  server_options.limits.max_image_bytes = args.GetInt("max-image-bytes", server_options.limits.max_image_bytes);
  server_options.limits.max_text_chars = args.GetInt("max-text-chars", server_options.limits.max_text_chars);
  server_options.limits.max_texts = args.GetInt("max-texts", server_options.limits.max_texts);
  server_options.limits.max_body_bytes = args.GetInt("max-body-bytes", server_options.limits.max_body_bytes);
  repo_options.clip.decode_limits.max_bytes = server_options.limits.max_image_bytes;
  if (server_options.port < 0 || server_options.port > 65535) ThrowInvalidArgument("--port must be 0..65535");
  if (server_options.http_threads < 1) ThrowInvalidArgument("--http-threads must be at least 1");

  // SIGINT/SIGTERM are taken by one thread that asks the server to stop, so the
  // requests in progress finish and Run() returns normally. Blocked before any thread
  // starts, so that every thread inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  runtime::ModelRepository repository(repo_options, logger);
  repository.LoadAll();
  api::HttpServer server(server_options, repository, logger);

  std::thread signal_thread([&] {
    int sig = 0;
    sigwait(&signals, &sig);
    logger.Info("shutting down", {{"signal", sig == SIGINT ? "SIGINT" : "SIGTERM"}});
    server.Stop();
  });
  try {
    server.Run();
  } catch (...) {
    pthread_kill(signal_thread.native_handle(), SIGTERM);
    signal_thread.join();
    throw;
  }
  // Run() also returns if the listener fails; wake the signal thread so it can be joined.
  pthread_kill(signal_thread.native_handle(), SIGTERM);
  signal_thread.join();
  logger.Info("stopped");
  return 0;
}

}  // namespace mms::cli
