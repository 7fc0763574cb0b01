// The HTTP front end: owns the socket and the connection threads, registers every API's
// routes, and turns requests for unknown paths or over-size bodies into JSON errors.
#pragma once

#include <memory>
#include <string>

#include "api/access_control.h"
#include "api/input_limits.h"
#include "api/route_context.h"

namespace httplib {
class Server;
}

namespace mms::api {

struct ServerOptions {
  std::string host = "0.0.0.0";
  int port = 8080;
  int http_threads = 8;  // connections served at once (the compute threads are separate)
  InputLimits limits;
  AccessOptions access;
  std::string tls_cert, tls_key;  // PEM files; both set: serve HTTPS only
};

class HttpServer {
 public:
  // `metrics` collects what the routes count and serves it on GET /metrics; it outlives the server.
  HttpServer(ServerOptions options, runtime::ModelRepository& repository, Logger& logger, runtime::Metrics& metrics);
  ~HttpServer();

  // Binds and serves until Stop(); throws Error(kUnavailable) when the address cannot be bound.
  void Run();
  // Stops accepting, lets requests in progress finish, and makes Run() return. Thread-safe.
  void Stop();

 private:
  ServerOptions options_;
  Logger& logger_;
  runtime::Metrics& metrics_;
  AccessControl access_;
  RouteContext context_;
  std::unique_ptr<httplib::Server> server_;
};

}  // namespace mms::api
