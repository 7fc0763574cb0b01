// The HTTP front end: owns the listening socket and every connection, registers every
// API's routes, and hands each request to the dispatcher (api/request_handler).
//
// Connections live on one event-driven I/O thread (Boost.Beast on Asio), so an idle or
// slow client costs a socket and a few kilobytes, never a thread. Each request has
// whole-request deadlines (headers, then body; not per read), the number of connections
// is capped with a clear refusal beyond it, and routes that may wait on a model run on a
// separate worker pool while health and metadata routes answer on the I/O thread: a
// liveness probe is answered while a thousand slow clients are connected and every worker
// waits on inference.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "api/access_control.h"
#include "api/image_source.h"
#include "api/input_limits.h"
#include "api/route_context.h"

namespace mms::api {

// TLS 1.2 suites offered by default: ECDHE key exchange (forward secrecy) with AEAD
// ciphers only. TLS 1.3's suites are all forward-secret and stay enabled as OpenSSL sets them.
inline constexpr const char* kDefaultTlsCiphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

struct ServerOptions {
  std::string host = "0.0.0.0";
  int port = 8080;
  int http_threads = 8;  // workers running requests that wait on models (compute threads are separate)
  InputLimits limits;
  AccessOptions access;
  std::string tls_cert, tls_key;  // PEM files; both set: serve HTTPS only
  std::string tls_ciphers = kDefaultTlsCiphers;  // OpenSSL cipher list for TLS 1.2
  size_t max_connections = 4096;  // open connections; more are answered 503 and closed
  size_t max_header_bytes = 16 * 1024;  // request line and headers
  // Deadlines for a whole step of a request, however the client spreads its bytes.
  std::chrono::milliseconds header_timeout{10000};      // first byte to end of headers (and TLS handshake)
  std::chrono::milliseconds body_timeout{60000};        // the whole body
  std::chrono::milliseconds keep_alive_timeout{30000};  // idle between requests on one connection
  std::chrono::milliseconds write_timeout{60000};       // the whole response
  ImageSourcePolicy image_sources;  // which image URLs in chat requests may be fetched
};

class HttpServer {
 public:
  // `metrics` collects what the routes count and serves it on GET /metrics; it outlives the server.
  HttpServer(ServerOptions options, runtime::ModelRepository& repository, Logger& logger, runtime::Metrics& metrics);
  ~HttpServer();

  // Binds and serves until Stop(); throws Error(kUnavailable) when the address cannot be bound.
  void Run();
  // Stops accepting, closes idle connections, lets requests in progress finish and be
  // answered, and makes Run() return once every connection is closed. Thread-safe.
  void Stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace mms::api
