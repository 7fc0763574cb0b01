#include "api/http_server.h"

#include <httplib.h>

#include "api/kserve_metadata.h"
#include "api/kserve_routes.h"
#include "api/metrics_routes.h"
#include "api/openai_codec.h"
#include "api/openai_routes.h"
#include "api/predict_routes.h"
#include "api/request_handler.h"

namespace mms::api {

namespace {

// Errors that no route handled (unknown path, body over the limit) answer in the error
// shape of the API the path belongs to, so that a KServe or OpenAI client can read them.
std::string ErrorBodyForPath(const std::string& path, int status, const std::string& message) {
  if (path == "/v2" || path.rfind("/v2/", 0) == 0) return kserve::ErrorBody(status, message);
  if (path.rfind("/v1/", 0) == 0) return openai::ErrorBody(status, message);
  return SimpleErrorBody(status, message);
}

// A request without Content-Length or Transfer-Encoding has an empty body (RFC 9112
// 6.3), but httplib 0.11 reads the body of such a POST until the connection closes: `curl
// -X POST .../v2/repository/index` would wait for the read timeout and get a 400. Saying
// so explicitly makes httplib read nothing. The request object is the server's own,
// handed to this hook as const only by signature.
httplib::Server::HandlerResponse DeclareEmptyBody(const httplib::Request& req, httplib::Response&) {
  if (!req.has_header("Content-Length") && !req.has_header("Transfer-Encoding")) {
    const_cast<httplib::Request&>(req).headers.emplace("Content-Length", "0");
  }
  return httplib::Server::HandlerResponse::Unhandled;
}

// Plain HTTP, or HTTPS when a certificate and key are given (OpenSSL through httplib).
std::unique_ptr<httplib::Server> MakeServer(const ServerOptions& options) {
  if (options.tls_cert.empty() != options.tls_key.empty()) {
    ThrowInvalidArgument("--tls-cert and --tls-key go together");
  }
  if (options.tls_cert.empty()) return std::make_unique<httplib::Server>();
  auto server = std::make_unique<httplib::SSLServer>(options.tls_cert.c_str(), options.tls_key.c_str());
  if (!server->is_valid()) {
    ThrowInvalidArgument("cannot serve HTTPS with --tls-cert " + options.tls_cert + " and --tls-key " + options.tls_key +
                         ": unreadable files, not PEM, or the key does not match the certificate");
  }
  return server;
}

}  // namespace

HttpServer::HttpServer(ServerOptions options, runtime::ModelRepository& repository, Logger& logger,
                       runtime::Metrics& metrics)
    : options_(std::move(options)),
      logger_(logger),
      metrics_(metrics),
      access_(options_.access),
      context_{repository, options_.limits, logger, access_, metrics},
      server_(MakeServer(options_)) {
  const int threads = options_.http_threads;
  server_->new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  server_->set_payload_max_length(options_.limits.max_body_bytes);
  server_->set_read_timeout(30, 0);
  server_->set_write_timeout(30, 0);
  server_->set_pre_routing_handler(DeclareEmptyBody);
  RegisterPredictRoutes(*server_, context_);
  RegisterKServeRoutes(*server_, context_);
  RegisterOpenAIRoutes(*server_, context_);
  RegisterMetricsRoutes(*server_, context_);

  // Errors httplib raises itself (unknown path, body over the limit, malformed request)
  // get a JSON body and a log line like every other response.
  server_->set_error_handler([this](const httplib::Request& req, httplib::Response& res) {
    // httplib calls this for every 4xx/5xx. A route's own answer (WrapRoute gave it an
    // X-Request-ID) stays as the route wrote it, e.g. the empty 400 of /v2/health/ready.
    if (!res.body.empty() || res.has_header("X-Request-ID")) return;
    std::string message;
    switch (res.status) {
      case 404: message = "no route for " + req.method + " " + req.path; break;
      case 405: message = "method " + req.method + " not allowed on " + req.path; break;
      case 413: message = "request body exceeds the limit of " + std::to_string(options_.limits.max_body_bytes) + " bytes"; break;
      default: message = "request failed with HTTP " + std::to_string(res.status); break;
    }
    res.set_content(ErrorBodyForPath(req.path, res.status, message), "application/json");
    metrics_.RequestUnrouted(res.status);
    logger_.Info("request", {{"request_id", NewRequestId()}, {"method", req.method}, {"route", "(none)"},
                             {"path", req.path}, {"status", res.status}, {"duration_ms", 0.0}, {"error", message}});
  });
}

HttpServer::~HttpServer() = default;

void HttpServer::Run() {
  if (!server_->bind_to_port(options_.host.c_str(), options_.port)) {
    throw Error(ErrorCode::kUnavailable,
                "cannot listen on " + options_.host + ":" + std::to_string(options_.port) + " (address in use?)");
  }
  logger_.Info("listening", {{"host", options_.host}, {"port", options_.port},
                             {"scheme", options_.tls_cert.empty() ? "http" : "https"}});
  server_->listen_after_bind();
}

void HttpServer::Stop() { server_->stop(); }

}  // namespace mms::api
