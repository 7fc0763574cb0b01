// One HTTP request and its response as the routes see them: plain values, with no trace
// of the library that moves the bytes (src/api/http_transport.cpp). Routes can therefore
// be called from unit tests and fuzz harnesses without a socket.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mms {
class CancellationToken;
}

namespace mms::api {

class ResponseStream;

// Header names compare without regard to case (RFC 9110 5.1).
bool HeaderNameEquals(std::string_view a, std::string_view b);

struct HttpRequest {
  std::string method;  // "GET", "POST", ... ("HEAD" is routed as GET)
  std::string target;  // as sent: path and query
  std::string path;    // percent-decoded path, without the query
  std::string query;   // after '?', undecoded
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::string remote_addr;  // the peer's IP address
  std::vector<std::string> path_params;  // the route pattern's capture groups, in order; "" when unmatched
  // Cancelled when the client disconnects while the route runs (plain HTTP; over TLS a
  // disconnect is seen only when a streamed write fails). Never null on a real connection;
  // routes that wait long register with it to stop their work.
  std::shared_ptr<CancellationToken> client_gone;

  // The first header of that name, if any.
  std::optional<std::string_view> Header(std::string_view name) const;
  std::string HeaderOr(std::string_view name, std::string_view fallback = {}) const;
  bool HasHeader(std::string_view name) const { return Header(name).has_value(); }
  // The i-th capture of the route pattern ("" when the group did not take part).
  const std::string& PathParam(size_t i) const;
};

struct HttpResponse {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;  // Content-Type is set by SetContent
  std::string body;
  std::string content_type;  // empty: no Content-Type header (an empty body)
  // When set, the body is this stream (chunked transfer encoding), not `body`.
  std::shared_ptr<ResponseStream> stream;

  void SetContent(std::string content, std::string type) {
    body = std::move(content);
    content_type = std::move(type);
  }
  void SetHeader(std::string name, std::string value);
  std::optional<std::string_view> Header(std::string_view name) const;
};

// Percent-decodes a URL path ("%2F" stays decoded as '/'; '+' is literal in paths).
// Malformed escapes are kept as they are.
std::string DecodePath(std::string_view path);

}  // namespace mms::api
