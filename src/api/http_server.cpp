#include "api/http_server.h"

#include <httplib.h>

#include "api/kserve_routes.h"
#include "api/openai_routes.h"
#include "api/predict_routes.h"
#include "api/request_handler.h"

namespace mms::api {

HttpServer::HttpServer(ServerOptions options, runtime::ModelRepository& repository, Logger& logger)
    : options_(std::move(options)),
      logger_(logger),
      context_{repository, options_.limits, logger},
      server_(std::make_unique<httplib::Server>()) {
  const int threads = options_.http_threads;
  server_->new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  server_->set_payload_max_length(options_.limits.max_body_bytes);
  server_->set_read_timeout(30, 0);
  server_->set_write_timeout(30, 0);
  RegisterPredictRoutes(*server_, context_);
  RegisterKServeRoutes(*server_, context_);
  RegisterOpenAIRoutes(*server_, context_);

  // Errors httplib raises itself (unknown path, body over the limit, malformed request)
  // get a JSON body and a log line like every other response.
  server_->set_error_handler([this](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return;
    std::string message;
    switch (res.status) {
      case 404: message = "no route for " + req.method + " " + req.path; break;
      case 405: message = "method " + req.method + " not allowed on " + req.path; break;
      case 413: message = "request body exceeds the limit of " + std::to_string(options_.limits.max_body_bytes) + " bytes"; break;
      default: message = "request failed with HTTP " + std::to_string(res.status); break;
    }
    res.set_content(SimpleErrorBody(res.status, message), "application/json");
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
  logger_.Info("listening", {{"host", options_.host}, {"port", options_.port}});
  server_->listen_after_bind();
}

void HttpServer::Stop() { server_->stop(); }

}  // namespace mms::api
