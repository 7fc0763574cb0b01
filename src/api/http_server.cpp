#include "api/http_server.h"

#include <openssl/ssl.h>
#include <sys/resource.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <limits>
#include <optional>
#include <unordered_map>

#include "api/generation_routes.h"
#include "api/audio_routes.h"
#include "api/kserve_routes.h"
#include "api/metrics_routes.h"
#include "api/openai_routes.h"
#include "api/predict_routes.h"
#include "api/request_handler.h"
#include "api/response_stream.h"
#include "base/cancellation.h"

namespace mms::api {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using boost::system::error_code;

namespace {

constexpr auto kAwait = asio::use_awaitable;
// After a response that refused an unread body: how long and how much of the rest is read
// and dropped before closing, so that a client still sending reads the answer instead of
// a reset. Dropped bytes cost no memory, only the connection's slot for a moment.
constexpr auto kLingerTime = std::chrono::seconds(2);
constexpr size_t kLingerBytes = 64u << 20;

beast::tcp_stream& Lowest(beast::tcp_stream& s) { return s; }
beast::tcp_stream& Lowest(beast::ssl_stream<beast::tcp_stream>& s) { return s.next_layer(); }

// Status line and headers of a response, whole or streamed.
template <class Body>
void SetHead(http::response<Body>& out, const HttpResponse& r, bool keep_alive) {
  out.version(11);
  out.result(static_cast<unsigned>(r.status));
  out.set(http::field::server, "mmserve");
  for (const auto& [name, value] : r.headers) out.set(name, value);
  if (!r.content_type.empty()) out.set(http::field::content_type, r.content_type);
  out.keep_alive(keep_alive);
}

// The request's path, decoded, and query, from the request target.
void SplitTarget(std::string_view target, HttpRequest& req) {
  const size_t q = target.find('?');
  req.path = DecodePath(target.substr(0, q));
  if (q != std::string_view::npos) req.query = std::string(target.substr(q + 1));
}

std::unique_ptr<asio::ssl::context> MakeTlsContext(const ServerOptions& options) {
  if (options.tls_cert.empty() != options.tls_key.empty()) {
    ThrowInvalidArgument("--tls-cert and --tls-key go together");
  }
  if (options.tls_cert.empty()) return nullptr;
  auto tls = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_server);
  tls->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                   asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 | asio::ssl::context::no_tlsv1_1 |
                   asio::ssl::context::single_dh_use);
  error_code ec;
  tls->use_certificate_chain_file(options.tls_cert, ec);
  if (!ec) tls->use_private_key_file(options.tls_key, asio::ssl::context::pem, ec);
  if (!ec && SSL_CTX_check_private_key(tls->native_handle()) != 1) ec = asio::error::invalid_argument;
  if (ec) {
    ThrowInvalidArgument("cannot serve HTTPS with --tls-cert " + options.tls_cert + " and --tls-key " +
                         options.tls_key + ": unreadable files, not PEM, or the key does not match the certificate");
  }
  if (SSL_CTX_set_cipher_list(tls->native_handle(), options.tls_ciphers.c_str()) != 1) {
    ThrowInvalidArgument("--tls-ciphers \"" + options.tls_ciphers + "\" names no cipher suite OpenSSL knows");
  }
  return tls;
}

// Raises the soft limit on open files to the hard one: each connection is a descriptor.
size_t RaiseOpenFileLimit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return 1024;
  if (limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
    getrlimit(RLIMIT_NOFILE, &limit);
  }
  return limit.rlim_cur == RLIM_INFINITY ? SIZE_MAX : static_cast<size_t>(limit.rlim_cur);
}

}  // namespace

// While a worker route runs or a response streams, one read stays pending on a plain-HTTP
// connection: a client that closes its end makes it fail, and the request's client_gone
// token is cancelled, so that a generation stops within one step instead of running for
// nobody. (Over TLS a concurrent read cannot be cancelled cleanly; there a disconnect is
// seen when a streamed write fails.) Bytes the read receives (a pipelined request) stay in
// the connection's buffer.
struct DisconnectWatch {
  explicit DisconnectWatch(asio::io_context& io) : done(io) { done.expires_at(asio::steady_timer::time_point::max()); }
  asio::steady_timer done;  // cancelled when the read ends
  bool running = false;
  bool finished = false;
};

struct HttpServer::Impl {
  Impl(ServerOptions o, runtime::ModelRepository& repository, Logger& log, runtime::Metrics& m)
      : options(std::move(o)),
        logger(log),
        metrics(m),
        access(options.access),
        image_source(options.image_sources),
        context{repository, options.limits, log, access, m, image_source},
        dispatcher(context, router),
        workers(static_cast<size_t>(std::max(1, options.http_threads))),
        tls(MakeTlsContext(options)) {
    RegisterPredictRoutes(router, context);
    RegisterKServeRoutes(router, context);
    RegisterOpenAIRoutes(router, context);
    RegisterGenerationRoutes(router, context);
    RegisterAudioRoutes(router, context);
    RegisterMetricsRoutes(router, context);
  }

  ServerOptions options;
  Logger& logger;
  runtime::Metrics& metrics;
  AccessControl access;
  ImageSource image_source;
  RouteContext context;
  Router router;
  RequestDispatcher dispatcher;
  asio::io_context io{1};
  asio::thread_pool workers;
  std::unique_ptr<asio::ssl::context> tls;
  tcp::acceptor acceptor{io};
  size_t max_connections = 0;

  // Touched only on the I/O thread.
  size_t open_connections = 0;
  bool stopping = false;
  uint64_t next_connection_id = 0;
  std::unordered_map<uint64_t, beast::tcp_stream*> idle;  // waiting for a request: closed by Stop
  std::chrono::steady_clock::time_point last_refusal_log{};

  asio::awaitable<void> Accept();
  asio::awaitable<void> Refuse(tcp::socket socket);
  asio::awaitable<void> Connection(tcp::socket socket);
  template <class Stream>
  asio::awaitable<void> Serve(Stream& stream, const std::string& remote);
  template <class Stream>
  asio::awaitable<void> Write(Stream& stream, Exchange& ex, bool keep_alive, bool head_only);
  template <class Stream>
  asio::awaitable<void> Close(Stream& stream, bool drain);
  void StartWatch(beast::tcp_stream& stream, beast::flat_buffer& buffer, std::shared_ptr<CancellationToken> gone,
                  std::shared_ptr<DisconnectWatch> watch);
  template <class Stream>
  asio::awaitable<void> EndWatch(Stream& stream, DisconnectWatch& watch);
  template <class Stream>
  asio::awaitable<bool> WriteStream(Stream& stream, Exchange& ex, bool keep_alive);
  void ConnectionClosed();
};

asio::awaitable<void> HttpServer::Impl::Accept() {
  for (;;) {
    error_code ec;
    tcp::socket socket = co_await acceptor.async_accept(asio::redirect_error(kAwait, ec));
    if (stopping) co_return;
    if (ec) {
      if (ec == asio::error::operation_aborted) co_return;
      // Out of descriptors or a transient network error: wait a moment instead of spinning.
      logger.Warning("accept failed", {{"error", ec.message()}});
      asio::steady_timer pause(io, std::chrono::milliseconds(100));
      co_await pause.async_wait(asio::redirect_error(kAwait, ec));
      continue;
    }
    if (open_connections >= max_connections) {
      asio::co_spawn(io, Refuse(std::move(socket)), asio::detached);
      continue;
    }
    ++open_connections;
    asio::co_spawn(io, Connection(std::move(socket)), [this](std::exception_ptr) { ConnectionClosed(); });
  }
}

void HttpServer::Impl::ConnectionClosed() {
  --open_connections;
  if (stopping && open_connections == 0) io.stop();
}

// Over the connection cap: a short 503 and close, so that a client learns why instead of
// waiting in the accept queue. On HTTPS there is no cheap way to answer: just close.
asio::awaitable<void> HttpServer::Impl::Refuse(tcp::socket socket) {
  metrics.CountRejection(ErrorCode::kUnavailable);
  const auto now = std::chrono::steady_clock::now();
  if (now - last_refusal_log > std::chrono::seconds(10)) {
    last_refusal_log = now;
    logger.Warning("connection limit reached; refusing new connections",
                   {{"max_connections", static_cast<int64_t>(max_connections)}});
  }
  if (tls) co_return;
  beast::tcp_stream stream(std::move(socket));
  static const std::string kBody = SimpleErrorBody(503, "too many connections; retry later");
  static const std::string kResponse = "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
                                       "Retry-After: 1\r\nConnection: close\r\nContent-Length: " +
                                       std::to_string(kBody.size()) + "\r\n\r\n" + kBody;
  stream.expires_after(std::chrono::seconds(2));
  error_code ec;
  co_await asio::async_write(stream, asio::buffer(kResponse), asio::redirect_error(kAwait, ec));
  stream.socket().shutdown(tcp::socket::shutdown_both, ec);
}

asio::awaitable<void> HttpServer::Impl::Connection(tcp::socket socket) {
  error_code ec;
  const auto endpoint = socket.remote_endpoint(ec);
  const std::string remote = ec ? std::string("unknown") : endpoint.address().to_string();
  socket.set_option(tcp::no_delay(true), ec);
  beast::tcp_stream tcp_stream(std::move(socket));
  if (!tls) {
    co_await Serve(tcp_stream, remote);
    co_return;
  }
  beast::ssl_stream<beast::tcp_stream> stream(std::move(tcp_stream), *tls);
  Lowest(stream).expires_after(options.header_timeout);
  co_await stream.async_handshake(asio::ssl::stream_base::server, asio::redirect_error(kAwait, ec));
  if (ec) co_return;  // a failed or too slow handshake: nothing to answer
  co_await Serve(stream, remote);
}

template <class Stream>
asio::awaitable<void> HttpServer::Impl::Serve(Stream& stream, const std::string& remote) {
  beast::flat_buffer buffer;
  const uint64_t id = next_connection_id++;
  bool first = true;
  for (;;) {
    error_code ec;
    // Waiting for a request: idle, so Stop may close the connection. The header deadline
    // starts with the request's first byte; before it, the idle deadline applies.
    if (stopping) break;
    if (buffer.size() == 0) {
      idle[id] = &Lowest(stream);
      Lowest(stream).expires_after(first ? options.header_timeout : options.keep_alive_timeout);
      const size_t n = co_await stream.async_read_some(buffer.prepare(4096), asio::redirect_error(kAwait, ec));
      idle.erase(id);
      if (ec) break;  // closed, idle too long, or closed by Stop
      buffer.commit(n);
    }
    http::request_parser<http::empty_body> head;
    head.header_limit(static_cast<std::uint32_t>(options.max_header_bytes));
    // The route's limit is applied once the route is known. (Not boost::none: Boost 1.74
    // compares a Content-Length against an empty limit as if it were exceeded.)
    head.body_limit(std::numeric_limits<std::uint64_t>::max());
    Lowest(stream).expires_after(options.header_timeout);
    co_await http::async_read_header(stream, buffer, head, asio::redirect_error(kAwait, ec));

    Exchange ex;
    ex.request.remote_addr = remote;
    if (ec) {
      // A deadline closes the socket (beast's tcp_stream does): nothing can be answered.
      if (ec == beast::error::timeout || ec == http::error::end_of_stream || ec == asio::error::eof ||
          ec == asio::error::operation_aborted || ec == asio::error::connection_reset) {
        break;
      }
      ex.request.method = "-";
      if (ec == http::error::header_limit) {
        dispatcher.Fail(ex, 431, "request headers exceed " + std::to_string(options.max_header_bytes) + " bytes");
      } else {
        dispatcher.Fail(ex, 400, "malformed HTTP request: " + ec.message());
      }
      dispatcher.Finish(ex);
      co_await Write(stream, ex, false, false);
      co_await Close(stream, true);
      co_return;
    }

    const auto& header = head.get();
    ex.request.method = std::string(header.method_string());
    ex.request.target = std::string(header.target());
    SplitTarget(ex.request.target, ex.request);
    for (const auto& field : header) ex.request.headers.emplace_back(field.name_string(), field.value());
    const bool head_only = header.method() == http::verb::head;
    const bool wants_keep_alive = header.keep_alive();  // `header` is gone once the body parser takes it
    std::optional<uint64_t> declared;
    if (const auto length = head.content_length()) declared = *length;

    bool complete = dispatcher.BeginRequest(ex, declared);  // false: answered, body unread
    bool body_unread = !complete && !head.is_done();
    if (complete && !head.is_done()) {
      if (const auto expect = ex.request.Header("Expect"); expect && HeaderNameEquals(*expect, "100-continue")) {
        static const std::string kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
        Lowest(stream).expires_after(options.write_timeout);
        co_await asio::async_write(stream, asio::buffer(kContinue), asio::redirect_error(kAwait, ec));
        if (ec) {
          dispatcher.Finish(ex);
          co_return;
        }
      }
      http::request_parser<http::string_body> full(std::move(head));
      const size_t limit = dispatcher.BodyLimit(ex);
      full.body_limit(limit);
      Lowest(stream).expires_after(options.body_timeout);
      co_await http::async_read(stream, buffer, full, asio::redirect_error(kAwait, ec));
      if (ec == http::error::body_limit) {
        dispatcher.Fail(ex, Error(ErrorCode::kTooLarge, "request body exceeds the limit of " +
                                                            std::to_string(limit) + " bytes"));
        complete = false;
        body_unread = true;
      } else if (ec) {
        // Too slow (the deadline closed the socket) or cut off: nobody to answer.
        ex.response.status = ec == beast::error::timeout ? 408 : 400;
        ex.error_message = ec == beast::error::timeout ? "request body not received within the deadline"
                                                       : "request body cut off: " + ec.message();
        dispatcher.Finish(ex);
        co_return;
      } else {
        ex.request.body = std::move(full.get().body());
      }
    }
    ex.request.client_gone = std::make_shared<CancellationToken>();
    auto watch = std::make_shared<DisconnectWatch>(io);
    if (complete) {
      if (dispatcher.RunsInline(ex)) {
        dispatcher.Handle(ex);
      } else {
        if constexpr (std::is_same_v<Stream, beast::tcp_stream>) {
          if (buffer.size() == 0) StartWatch(stream, buffer, ex.request.client_gone, watch);
        }
        co_await asio::co_spawn(workers, [this, &ex]() -> asio::awaitable<void> {
          dispatcher.Handle(ex);
          co_return;
        }, kAwait);
      }
    }
    const bool keep_alive = complete && wants_keep_alive && !stopping;
    if (ex.response.stream && !head_only) {
      const bool written = co_await WriteStream(stream, ex, keep_alive);
      co_await EndWatch(stream, *watch);
      dispatcher.Finish(ex);
      if (!written || !keep_alive) {
        co_await Close(stream, false);
        co_return;
      }
      first = false;
      continue;
    }
    co_await EndWatch(stream, *watch);
    if (ex.request.client_gone->cancelled()) {
      // Nobody to answer: the client closed while its request ran.
      ex.error_message = "client disconnected before the answer";
      dispatcher.Finish(ex);
      co_return;
    }
    dispatcher.Finish(ex);  // logged before the answer leaves: a client that has it finds the line
    co_await Write(stream, ex, keep_alive, head_only);
    if (!keep_alive) {
      co_await Close(stream, body_unread);
      co_return;
    }
    first = false;
  }
}

void HttpServer::Impl::StartWatch(beast::tcp_stream& stream, beast::flat_buffer& buffer,
                                  std::shared_ptr<CancellationToken> gone, std::shared_ptr<DisconnectWatch> watch) {
  watch->running = true;
  stream.expires_never();
  stream.async_read_some(buffer.prepare(4096), [&buffer, gone, watch](error_code ec, size_t n) {
    if (!ec) {
      buffer.commit(n);  // the start of a pipelined request: kept for the next parse
    } else if (ec != asio::error::operation_aborted) {
      gone->Cancel();  // closed or reset by the client
    }
    watch->finished = true;
    watch->done.cancel();
  });
}

// Stops the watch's read, if any, and waits until it has let go of the stream and buffer.
template <class Stream>
asio::awaitable<void> HttpServer::Impl::EndWatch(Stream& stream, DisconnectWatch& watch) {
  if (!watch.running) co_return;
  error_code ec;
  if (!watch.finished) Lowest(stream).socket().cancel(ec);
  while (!watch.finished) co_await watch.done.async_wait(asio::redirect_error(kAwait, ec));
  watch.running = false;
}

template <class Stream>
asio::awaitable<bool> HttpServer::Impl::WriteStream(Stream& stream, Exchange& ex, bool keep_alive) {
  std::shared_ptr<ResponseStream> body = ex.response.stream;
  http::response<http::empty_body> out;
  SetHead(out, ex.response, keep_alive);
  out.chunked(true);
  error_code ec;
  Lowest(stream).expires_after(options.write_timeout);
  http::response_serializer<http::empty_body> serializer(out);
  co_await http::async_write_header(stream, serializer, asio::redirect_error(kAwait, ec));

  // Woken by the producer (any thread) through a post to this connection's I/O thread.
  auto wake = std::make_shared<asio::steady_timer>(io, asio::steady_timer::time_point::max());
  body->SetWakeup([wake, this] { asio::post(io, [wake] { wake->cancel(); }); });
  // A disconnect seen by the watch must wake the wait too.
  ex.request.client_gone->OnCancel([wake, this] { asio::post(io, [wake] { wake->cancel(); }); });
  std::string pending;
  bool ok = !ec;
  while (ok) {
    pending.clear();
    const bool closed = body->Take(pending);
    if (!pending.empty()) {
      Lowest(stream).expires_after(options.write_timeout);
      co_await asio::async_write(stream, http::make_chunk(asio::buffer(pending)), asio::redirect_error(kAwait, ec));
      if (ec) break;
      continue;  // more may have come while writing
    }
    if (closed) {
      Lowest(stream).expires_after(options.write_timeout);
      co_await asio::async_write(stream, http::make_chunk_last(), asio::redirect_error(kAwait, ec));
      if (ec) ok = false;
      break;
    }
    if (ex.request.client_gone->cancelled()) {
      ok = false;
      break;
    }
    wake->expires_at(asio::steady_timer::time_point::max());
    co_await wake->async_wait(asio::redirect_error(kAwait, ec));
    ec = {};
  }
  body->SetWakeup({});
  if (!ok || ec) {
    ex.request.client_gone->Cancel();  // the producer stops its work
    ex.error_message = "client disconnected during the streamed answer";
    ok = false;
  }
  for (const auto& [name, value] : body->log_fields()) ex.info.log_fields[name] = value;
  co_return ok;
}

template <class Stream>
asio::awaitable<void> HttpServer::Impl::Write(Stream& stream, Exchange& ex, bool keep_alive, bool head_only) {
  HttpResponse& r = ex.response;
  http::response<http::string_body> out;
  SetHead(out, r, keep_alive);
  const size_t length = r.body.size();
  if (!head_only) out.body() = std::move(r.body);
  out.prepare_payload();
  if (head_only) out.content_length(length);  // what GET would send, without the bytes
  error_code ec;
  Lowest(stream).expires_after(options.write_timeout);
  if (head_only) {
    http::response_serializer<http::string_body> serializer(out);
    co_await http::async_write_header(stream, serializer, asio::redirect_error(kAwait, ec));
  } else {
    co_await http::async_write(stream, out, asio::redirect_error(kAwait, ec));
  }
}

template <class Stream>
asio::awaitable<void> HttpServer::Impl::Close(Stream& stream, bool drain) {
  error_code ec;
  if constexpr (std::is_same_v<Stream, beast::tcp_stream>) {
    stream.socket().shutdown(tcp::socket::shutdown_send, ec);
    if (drain) {
      // Read and drop what the client still sends (the body that was refused), briefly.
      std::vector<char> sink(64 * 1024);
      size_t dropped = 0;
      stream.expires_after(kLingerTime);
      while (dropped < kLingerBytes) {
        const size_t n = co_await stream.async_read_some(asio::buffer(sink), asio::redirect_error(kAwait, ec));
        if (ec) break;
        dropped += n;
      }
    }
  } else {
    Lowest(stream).expires_after(kLingerTime);
    co_await stream.async_shutdown(asio::redirect_error(kAwait, ec));
  }
  Lowest(stream).close();
}

HttpServer::HttpServer(ServerOptions options, runtime::ModelRepository& repository, Logger& logger,
                       runtime::Metrics& metrics)
    : impl_(std::make_unique<Impl>(std::move(options), repository, logger, metrics)) {}

HttpServer::~HttpServer() {
  impl_->workers.join();
}

void HttpServer::Run() {
  Impl& s = *impl_;
  const size_t open_files = RaiseOpenFileLimit();
  // Keep descriptors for model files, Redis and the log beside the connections.
  constexpr size_t kReservedFiles = 128;
  s.max_connections = std::min(s.options.max_connections, open_files > kReservedFiles ? open_files - kReservedFiles : 1);
  if (s.max_connections < s.options.max_connections) {
    s.logger.Warning("--max-connections lowered to fit the open-file limit",
                     {{"max_connections", static_cast<int64_t>(s.max_connections)},
                      {"open_file_limit", static_cast<int64_t>(open_files)}});
  }
  error_code ec;
  asio::ip::address address = asio::ip::make_address(s.options.host, ec);
  if (ec) {
    tcp::resolver resolver(s.io);
    const auto results = resolver.resolve(s.options.host, std::to_string(s.options.port), ec);
    if (!ec && !results.empty()) address = results.begin()->endpoint().address();
  }
  const tcp::endpoint endpoint(address, static_cast<unsigned short>(s.options.port));
  if (!ec) s.acceptor.open(endpoint.protocol(), ec);
  if (!ec) s.acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) s.acceptor.bind(endpoint, ec);
  if (!ec) s.acceptor.listen(1024, ec);
  if (ec) {
    throw Error(ErrorCode::kUnavailable, "cannot listen on " + s.options.host + ":" + std::to_string(s.options.port) +
                                             " (" + ec.message() + ")");
  }
  s.logger.Info("listening", {{"host", s.options.host}, {"port", s.acceptor.local_endpoint().port()},
                              {"scheme", s.tls ? "https" : "http"},
                              {"max_connections", static_cast<int64_t>(s.max_connections)}});
  asio::co_spawn(s.io, s.Accept(), asio::detached);
  s.io.run();
  s.workers.join();
}

void HttpServer::Stop() {
  Impl* s = impl_.get();
  asio::post(s->io, [s] {
    if (s->stopping) return;
    s->stopping = true;
    error_code ec;
    s->acceptor.close(ec);
    for (auto& [id, stream] : s->idle) stream->close();
    if (s->open_connections == 0) s->io.stop();
  });
}

}  // namespace mms::api
