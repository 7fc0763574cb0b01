#include "api/image_source.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <httplib.h>
#include <netdb.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <climits>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>

#include "api/openai_codec.h"
#include "base/error.h"

namespace mms::api {

namespace {

using Clock = std::chrono::steady_clock;

constexpr size_t kMaxRemoteUrlBytes = 8192;  // a request line longer than this is no image address
constexpr size_t kMaxListedAddresses = 4;

// A client's string in a message: printable ASCII as it is, other bytes as \xNN, quoted and
// cut at 100 bytes (a message echoes enough to recognise the value, not all of it).
std::string Shown(std::string_view s) {
  static const char kHex[] = "0123456789abcdef";
  std::string out = "\"";
  const size_t n = std::min<size_t>(s.size(), 100);
  for (size_t i = 0; i < n; ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
      out += static_cast<char>(c);
    } else {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  out += s.size() > n ? "...\"" : "\"";
  return out;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsHexDigit(char c) { return IsDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
int HexValue(char c) { return IsDigit(c) ? c - '0' : (std::tolower(static_cast<unsigned char>(c)) - 'a' + 10); }

// The URL's scheme, lowercase ("http", "data", ...), or "" when it has none.
std::string SchemeOf(std::string_view url) {
  const size_t colon = url.find(':');
  if (colon == std::string_view::npos || colon == 0) return "";
  const std::string_view scheme = url.substr(0, colon);
  if (!std::isalpha(static_cast<unsigned char>(scheme[0]))) return "";
  for (char c : scheme) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '+' && c != '-' && c != '.') return "";
  }
  return Lower(scheme);
}

[[noreturn]] void ThrowTooLarge(const std::string& where, const std::string& what) {
  throw Error(ErrorCode::kTooLarge, where + ": " + what);
}

// ---- addresses ------------------------------------------------------------------------------

struct IpAddress {
  bool v6 = false;
  uint32_t v4 = 0;                  // !v6: host byte order
  std::array<uint8_t, 16> bytes{};  // v6
};

std::optional<IpAddress> ParseIp(std::string_view text) {
  if (text.empty() || text.size() >= INET6_ADDRSTRLEN) return std::nullopt;
  const std::string s(text);
  IpAddress ip;
  in_addr a4{};
  if (inet_pton(AF_INET, s.c_str(), &a4) == 1) {  // dotted-quad decimal only, no leading zeros
    ip.v4 = ntohl(a4.s_addr);
    return ip;
  }
  in6_addr a6{};
  if (inet_pton(AF_INET6, s.c_str(), &a6) == 1) {
    ip.v6 = true;
    std::memcpy(ip.bytes.data(), &a6, 16);
    return ip;
  }
  return std::nullopt;
}

std::string FormatIp(const IpAddress& ip) {
  char buf[INET6_ADDRSTRLEN] = {};
  if (ip.v6) {
    inet_ntop(AF_INET6, ip.bytes.data(), buf, sizeof(buf));
  } else {
    const in_addr a4{htonl(ip.v4)};
    inet_ntop(AF_INET, &a4, buf, sizeof(buf));
  }
  return buf;
}

bool InV4(uint32_t a, uint32_t net, int bits) {
  const uint32_t mask = bits == 0 ? 0 : ~uint32_t{0} << (32 - bits);
  return (a & mask) == (net & mask);
}

constexpr uint32_t V4(int a, int b, int c, int d) {
  return (uint32_t(a) << 24) | (uint32_t(b) << 16) | (uint32_t(c) << 8) | uint32_t(d);
}

// IANA's IPv4 special-purpose address registry, the ranges not globally reachable.
std::string V4Reason(uint32_t a) {
  struct Range {
    uint32_t net;
    int bits;
    const char* reason;
  };
  static const Range kRanges[] = {
      {V4(0, 0, 0, 0), 8, "unspecified (\"this network\")"},
      {V4(10, 0, 0, 0), 8, "private"},
      {V4(100, 64, 0, 0), 10, "shared address space (CGNAT)"},
      {V4(127, 0, 0, 0), 8, "loopback"},
      {V4(169, 254, 0, 0), 16, "link-local, where cloud metadata services live"},
      {V4(172, 16, 0, 0), 12, "private"},
      {V4(192, 0, 0, 0), 24, "reserved (IETF protocol assignments)"},
      {V4(192, 0, 2, 0), 24, "documentation"},
      {V4(192, 88, 99, 0), 24, "reserved (6to4 relay anycast)"},
      {V4(192, 168, 0, 0), 16, "private"},
      {V4(198, 18, 0, 0), 15, "reserved (benchmarking)"},
      {V4(198, 51, 100, 0), 24, "documentation"},
      {V4(203, 0, 113, 0), 24, "documentation"},
      {V4(224, 0, 0, 0), 4, "multicast"},
      {V4(255, 255, 255, 255), 32, "broadcast"},
      {V4(240, 0, 0, 0), 4, "reserved"},
  };
  for (const Range& r : kRanges) {
    if (InV4(a, r.net, r.bits)) return r.reason;
  }
  return "";
}

uint32_t V4At(const std::array<uint8_t, 16>& b, size_t at) {
  return (uint32_t(b[at]) << 24) | (uint32_t(b[at + 1]) << 16) | (uint32_t(b[at + 2]) << 8) | uint32_t(b[at + 3]);
}

bool PrefixIs(const std::array<uint8_t, 16>& b, std::initializer_list<uint8_t> prefix) {
  size_t i = 0;
  for (uint8_t p : prefix) {
    if (b[i++] != p) return false;
  }
  return true;
}

// IANA's IPv6 special-purpose address registry; outside 2000::/3 nothing is global unicast.
std::string V6Reason(const std::array<uint8_t, 16>& b) {
  const bool zero96 = PrefixIs(b, {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0});
  if (zero96) {
    if (V4At(b, 12) == 0) return "unspecified";
    if (V4At(b, 12) == 1) return "loopback";
    return "reserved (IPv4-compatible IPv6)";
  }
  if (PrefixIs(b, {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff})) {  // ::ffff:a.b.c.d
    const std::string r = V4Reason(V4At(b, 12));
    return r.empty() ? "" : "IPv4-mapped " + r;
  }
  if (PrefixIs(b, {0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0})) {  // 64:ff9b::a.b.c.d, NAT64
    const std::string r = V4Reason(V4At(b, 12));
    return r.empty() ? "" : "NAT64 of " + r;
  }
  if (PrefixIs(b, {0, 0x64, 0xff, 0x9b, 0, 1})) return "private (local-use NAT64)";
  if (PrefixIs(b, {0x20, 0x02})) {  // 2002:aabb:ccdd::/48, 6to4
    const std::string r = V4Reason(V4At(b, 2));
    return r.empty() ? "" : "6to4 of " + r;
  }
  if (PrefixIs(b, {0x20, 0x01, 0x0d, 0xb8})) return "documentation";
  if (b[0] == 0x3f && (b[1] & 0xf0) == 0xf0) return "documentation";  // 3fff::/20
  if (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0 && (b[3] & 0xfe) == 0) {
    return "reserved (IETF protocol assignments, Teredo)";  // 2001::/23
  }
  if (b[0] == 0xff) return "multicast";
  if ((b[0] & 0xfe) == 0xfc) return "private (unique local)";
  if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) return "link-local";
  if (b[0] == 0xfe && (b[1] & 0xc0) == 0xc0) return "private (site-local)";
  if ((b[0] & 0xe0) != 0x20) return "reserved";  // not 2000::/3
  return "";
}

std::string Reason(const IpAddress& ip) { return ip.v6 ? V6Reason(ip.bytes) : V4Reason(ip.v4); }

// ---- http(s) URLs ---------------------------------------------------------------------------

struct RemoteUrl {
  bool https = false;
  std::string host;  // lowercase, without brackets or a trailing dot; IPv6 in canonical form
  bool ip_literal = false;
  bool ipv6 = false;
  int port = 0;
  std::string target;  // path and query as sent in the request line, fragment removed

  int DefaultPort() const { return https ? 443 : 80; }
  std::string HostPort() const {  // the Host header's value
    std::string h = ipv6 ? "[" + host + "]" : host;
    if (port != DefaultPort()) h += ":" + std::to_string(port);
    return h;
  }
  std::string Origin() const { return std::string(https ? "https://" : "http://") + HostPort(); }
  std::string Url() const { return Origin() + target; }
};

// a.b.c.d, each part decimal 0-255 without leading zeros.
bool IsDottedQuad(std::string_view s) {
  int parts = 0;
  size_t i = 0;
  while (true) {
    size_t j = i;
    while (j < s.size() && IsDigit(s[j])) ++j;
    const size_t len = j - i;
    if (len == 0 || len > 3 || (len > 1 && s[i] == '0')) return false;
    if (std::stoi(std::string(s.substr(i, len))) > 255) return false;
    ++parts;
    if (j == s.size()) break;
    if (s[j] != '.' || parts == 4) return false;
    i = j + 1;
  }
  return parts == 4;
}

// A host name's last label that inet_aton and URL parsers read as a number: digits, or 0x and
// hex digits. Such a host is an IPv4 address and must be written as a dotted quad.
bool LooksNumeric(std::string_view label) {
  if (label.empty()) return false;
  if (label.size() >= 2 && label[0] == '0' && label[1] == 'x') {
    return std::all_of(label.begin() + 2, label.end(), IsHexDigit);
  }
  return std::all_of(label.begin(), label.end(), IsDigit);
}

// Validates a host name (already lowercase, no trailing dot); throws naming `what`.
void CheckHostName(const std::string& host, const std::string& what) {
  if (host.empty()) ThrowInvalidArgument(what + ": the URL has no host");
  if (host.size() > 253) ThrowInvalidArgument(what + ": the host name is longer than 253 characters");
  for (char c : host) {
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x80) {
      ThrowInvalidArgument(what + ": the host " + Shown(host) +
                           " is not ASCII; write an internationalized name in its xn-- (punycode) form");
    }
    if (!std::isalnum(u) && c != '-' && c != '.' && c != '_') {
      ThrowInvalidArgument(what + ": the host " + Shown(host) + " is not a valid host name");
    }
  }
  size_t start = 0;
  while (true) {
    const size_t dot = std::min(host.find('.', start), host.size());
    if (dot == start || dot - start > 63) {
      ThrowInvalidArgument(what + ": the host " + Shown(host) + " is not a valid host name");
    }
    if (dot == host.size()) break;
    start = dot + 1;
  }
}

bool TargetByteNeedsEscape(unsigned char c) {
  return c >= 0x80 || c == ' ' || c == '"' || c == '<' || c == '>' || c == '\\' || c == '^' || c == '`' ||
         c == '{' || c == '|' || c == '}';
}

// Parses an absolute http(s) URL strictly. `what` starts every message.
RemoteUrl ParseRemoteUrl(std::string_view url, const std::string& what) {
  if (url.size() > kMaxRemoteUrlBytes) {
    ThrowInvalidArgument(what + ": the URL is longer than " + std::to_string(kMaxRemoteUrlBytes) + " bytes");
  }
  for (char c : url) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) ThrowInvalidArgument(what + ": the URL contains a control character");
  }
  const std::string scheme = SchemeOf(url);
  RemoteUrl u;
  if (scheme == "https") {
    u.https = true;
  } else if (scheme != "http") {
    ThrowInvalidArgument(what + ": " + Shown(url) + " is not an http:// or https:// URL");
  }
  std::string_view rest = url.substr(scheme.size() + 1);
  if (rest.substr(0, 2) != "//") {
    ThrowInvalidArgument(what + ": " + Shown(url) + " is malformed; expected " + scheme + "://host[:port]/path");
  }
  rest.remove_prefix(2);
  const size_t authority_end = std::min(rest.find_first_of("/?#"), rest.size());
  const std::string_view authority = rest.substr(0, authority_end);
  if (authority.find('@') != std::string_view::npos) {
    ThrowInvalidArgument(what + ": image URLs must not carry a user name or password (user:password@host)");
  }
  std::string_view host = authority, port;
  bool has_port = false;
  if (!authority.empty() && authority[0] == '[') {
    const size_t close = authority.find(']');
    if (close == std::string_view::npos) ThrowInvalidArgument(what + ": " + Shown(url) + " has an unclosed '['");
    host = authority.substr(1, close - 1);
    const std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after[0] != ':') ThrowInvalidArgument(what + ": " + Shown(url) + " has a malformed host");
      port = after.substr(1);
      has_port = true;
    }
    if (host.empty() || !std::all_of(host.begin(), host.end(), [](char c) { return IsHexDigit(c) || c == ':' || c == '.'; })) {
      ThrowInvalidArgument(what + ": the host " + Shown(host) + " is not an IPv6 address (zone ids are not accepted)");
    }
    in6_addr a6{};
    if (inet_pton(AF_INET6, std::string(host).c_str(), &a6) != 1) {
      ThrowInvalidArgument(what + ": the host " + Shown(host) + " is not an IPv6 address");
    }
    char buf[INET6_ADDRSTRLEN] = {};
    inet_ntop(AF_INET6, &a6, buf, sizeof(buf));
    u.host = buf;
    u.ip_literal = u.ipv6 = true;
  } else {
    const size_t colon = authority.find(':');
    if (colon != std::string_view::npos) {
      host = authority.substr(0, colon);
      port = authority.substr(colon + 1);
      has_port = true;
    }
    u.host = Lower(host);
    if (!u.host.empty() && u.host.back() == '.') u.host.pop_back();
    CheckHostName(u.host, what);
    const size_t last_dot = u.host.rfind('.');
    const std::string_view last_label =
        last_dot == std::string::npos ? std::string_view(u.host) : std::string_view(u.host).substr(last_dot + 1);
    if (LooksNumeric(last_label)) {
      // 2130706433, 0x7f.1, 0177.0.0.1, 127.1: all 127.0.0.1 to inet_aton. Only a.b.c.d is taken.
      if (!IsDottedQuad(u.host)) {
        ThrowInvalidArgument(what + ": the host " + Shown(host) +
                             " is not an IPv4 address in dotted-quad form (a.b.c.d, decimal, no leading zeros)");
      }
      u.ip_literal = true;
    }
  }
  u.port = u.DefaultPort();
  if (has_port && !port.empty()) {
    if (port.size() > 5 || !std::all_of(port.begin(), port.end(), IsDigit) || std::stoi(std::string(port)) == 0 ||
        std::stoi(std::string(port)) > 65535) {
      ThrowInvalidArgument(what + ": " + Shown(url) + " has an invalid port");
    }
    u.port = std::stoi(std::string(port));
  }
  std::string_view target = rest.substr(authority_end);
  target = target.substr(0, target.find('#'));
  static const char kHex[] = "0123456789ABCDEF";
  if (target.empty() || target[0] == '?') u.target = "/";
  for (char c : target) {
    const auto b = static_cast<unsigned char>(c);
    if (TargetByteNeedsEscape(b)) {
      u.target += '%';
      u.target += kHex[b >> 4];
      u.target += kHex[b & 15];
    } else {
      u.target += c;
    }
  }
  return u;
}

// A redirect's Location against the URL that answered it (RFC 3986 section 5.2, without the
// removal of dot segments, which the server does).
std::string ResolveLocation(const RemoteUrl& base, const std::string& location) {
  if (!SchemeOf(location).empty()) return location;
  if (location.rfind("//", 0) == 0) return (base.https ? "https:" : "http:") + location;
  if (!location.empty() && location[0] == '/') return base.Origin() + location;
  const std::string path = base.target.substr(0, base.target.find('?'));
  if (location.empty() || location[0] == '#') return base.Url() + location;
  if (location[0] == '?') return base.Origin() + path + location;
  return base.Origin() + path.substr(0, path.rfind('/') + 1) + location;
}

bool IsRedirect(int status) {
  return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

std::string Millis(std::chrono::milliseconds ms) { return std::to_string(ms.count()) + " ms"; }

// Calls client.stop() once the deadline passes (and again every few milliseconds until the
// request has ended: a stop that lands while the socket is still being connected has nothing
// to shut down yet). httplib's own timeouts are per read and per connect; this bounds the
// whole exchange, a server dripping one byte at a time included.
class Watchdog {
 public:
  Watchdog(httplib::ClientImpl& client, Clock::time_point deadline)
      : thread_([this, &client, deadline] {
          std::unique_lock<std::mutex> lock(mutex_);
          if (done_cv_.wait_until(lock, deadline, [this] { return done_; })) return;
          fired_ = true;
          while (!done_) {
            lock.unlock();
            client.stop();
            lock.lock();
            done_cv_.wait_for(lock, std::chrono::milliseconds(10), [this] { return done_; });
          }
        }) {}
  Watchdog(const Watchdog&) = delete;
  Watchdog& operator=(const Watchdog&) = delete;
  ~Watchdog() { Finish(); }

  // Ends the watch; true when the deadline had passed and the request was stopped.
  bool Finish() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      done_ = true;
    }
    done_cv_.notify_all();
    if (thread_.joinable()) thread_.join();
    return fired_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable done_cv_;
  bool done_ = false;
  bool fired_ = false;
  std::thread thread_;
};

struct HopResult {
  bool redirect = false;
  std::string location;  // when redirect
  std::string body;      // otherwise
};

std::string DescribeTransportError(httplib::Error error, const RemoteUrl& url, const std::string& address) {
  const std::string at = url.HostPort() + " (" + address + ")";
  switch (error) {
    case httplib::Error::Connection:
    case httplib::Error::ConnectionTimeout:
      return "could not connect to " + at;
    case httplib::Error::SSLConnection:
      return "the TLS handshake with " + at + " failed";
    case httplib::Error::SSLServerVerification:
      return "the certificate of " + url.host + " could not be verified (not valid for that name, or not signed "
             "by a trusted certificate authority)";
    case httplib::Error::SSLLoadingCerts:
      return "the server could not load its trusted certificate authorities";
    case httplib::Error::Read:
      return "the connection to " + at + " failed while reading the response";
    case httplib::Error::Write:
      return "the connection to " + at + " failed while sending the request";
    default:
      return "the request to " + at + " failed (" + httplib::to_string(error) + ")";
  }
}

// One GET of `url` from `address`, no redirect followed.
HopResult GetOnce(const RemoteUrl& url, const std::string& address, Clock::time_point deadline, size_t max_bytes,
                  std::chrono::milliseconds timeout, const std::string& what) {
  std::unique_ptr<httplib::ClientImpl> client;
  if (url.https) {
    auto ssl = std::make_unique<httplib::SSLClient>(url.host, url.port);
    ssl->enable_server_certificate_verification(true);
    client = std::move(ssl);
  } else {
    client = std::make_unique<httplib::ClientImpl>(url.host, url.port);
  }
  // The address checked, never a second resolution of the name (DNS rebinding).
  client->set_hostname_addr_map({{url.host, address}});
  client->set_follow_location(false);
  client->set_keep_alive(false);
  client->set_url_encode(false);  // the target is already encoded
  client->set_compress(false);
  client->set_decompress(false);  // Accept-Encoding: identity; a compressed body is no image anyway
  // httplib's per-connect and per-read timeouts a little past the deadline: the watchdog below
  // ends the exchange at the deadline itself (and so tells a timeout from a failed read).
  const auto remaining =
      std::max(std::chrono::duration_cast<std::chrono::microseconds>(deadline - Clock::now()),
               std::chrono::microseconds(0)) +
      std::chrono::milliseconds(50);
  client->set_connection_timeout(remaining);
  client->set_read_timeout(remaining);
  client->set_write_timeout(remaining);
  const httplib::Headers headers = {{"Host", url.HostPort()},
                                    {"User-Agent", "mmserve"},
                                    {"Accept", "image/*"},
                                    {"Accept-Encoding", "identity"}};

  HopResult hop;
  int status = 0;
  bool too_large = false, bad_status = false;
  std::optional<uint64_t> declared_length;
  httplib::Error error = httplib::Error::Success;
  bool fired = false;
  {
    Watchdog watchdog(*client, deadline);
    try {
      const auto result = client->Get(
          url.target, headers,
          [&](const httplib::Response& r) {
            status = r.status;
            if (IsRedirect(status) && r.has_header("Location")) {
              hop.redirect = true;
              hop.location = r.get_header_value("Location");
              return false;  // the redirect's body is not read
            }
            if (status < 200 || status >= 300) {
              bad_status = true;
              return false;
            }
            const std::string length = r.get_header_value("Content-Length");
            if (!length.empty() && length.size() <= 19 && std::all_of(length.begin(), length.end(), IsDigit)) {
              declared_length = std::stoull(length);
              if (*declared_length > max_bytes) {
                too_large = true;
                return false;
              }
              hop.body.reserve(static_cast<size_t>(*declared_length));
            }
            return true;
          },
          [&](const char* data, size_t n) {
            if (n > max_bytes - hop.body.size()) {
              too_large = true;
              return false;
            }
            hop.body.append(data, n);
            return true;
          });
      error = result.error();
    } catch (const std::exception&) {
      error = httplib::Error::Unknown;  // httplib on a response it could not parse
    }
    fired = watchdog.Finish();
  }
  const std::string from = " from " + Shown(url.Url());
  if (too_large) {
    ThrowTooLarge(what, "the image" + from + " is larger than the limit of " + std::to_string(max_bytes) + " bytes" +
                            (declared_length ? " (Content-Length: " + std::to_string(*declared_length) + ")" : ""));
  }
  if (hop.redirect) return hop;
  if (bad_status) {
    ThrowInvalidArgument(what + ": fetching the image" + from + " failed: HTTP status " + std::to_string(status) +
                         (IsRedirect(status) ? " without a Location" : ""));
  }
  if (fired || (error != httplib::Error::Success && Clock::now() >= deadline)) {
    ThrowInvalidArgument(what + ": fetching the image" + from + " timed out (the limit is " + Millis(timeout) +
                         " for the whole fetch)");
  }
  if (error != httplib::Error::Success) {
    ThrowInvalidArgument(what + ": fetching the image" + from + " failed: " +
                         DescribeTransportError(error, url, address));
  }
  return hop;
}

// ---- file:// --------------------------------------------------------------------------------

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }

 private:
  int fd_;
};

bool Inside(const std::string& path, const std::string& folder) {
  if (folder == "/") return path.size() > 1 && path[0] == '/';
  return path.size() > folder.size() + 1 && path.compare(0, folder.size(), folder) == 0 && path[folder.size()] == '/';
}

std::string PercentDecode(std::string_view s, const std::string& what) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out += s[i];
      continue;
    }
    if (i + 2 >= s.size() || !IsHexDigit(s[i + 1]) || !IsHexDigit(s[i + 2])) {
      ThrowInvalidArgument(what + ": the file URL has a malformed %-escape");
    }
    out += static_cast<char>(HexValue(s[i + 1]) * 16 + HexValue(s[i + 2]));
    i += 2;
  }
  return out;
}

}  // namespace

std::string NonPublicAddressReason(std::string_view address) {
  const auto ip = ParseIp(address);
  if (!ip) return "not an IP address";
  return Reason(*ip);
}

HostResolver SystemResolver() {
  return [](const std::string& host) {
    std::vector<std::string> out;
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_ADDRCONFIG;
    addrinfo* list = nullptr;
    if (::getaddrinfo(host.c_str(), nullptr, &hints, &list) != 0) return out;
    for (const addrinfo* a = list; a; a = a->ai_next) {
      char buf[INET6_ADDRSTRLEN] = {};
      if (a->ai_family == AF_INET) {
        inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(a->ai_addr)->sin_addr, buf, sizeof(buf));
      } else if (a->ai_family == AF_INET6) {
        inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(a->ai_addr)->sin6_addr, buf, sizeof(buf));
      } else {
        continue;
      }
      if (std::find(out.begin(), out.end(), buf) == out.end()) out.emplace_back(buf);
    }
    ::freeaddrinfo(list);
    return out;
  };
}

ImageSource::ImageSource(ImageSourcePolicy policy, HostResolver resolver)
    : policy_(std::move(policy)), resolver_(std::move(resolver)) {
  if (!resolver_) resolver_ = SystemResolver();
  for (std::string& entry : policy_.allowed_hosts) {
    const std::string given = entry;
    entry = Lower(entry);
    if (entry.size() > 2 && entry.front() == '[' && entry.back() == ']') entry = entry.substr(1, entry.size() - 2);
    if (entry == "*") continue;
    if (entry.size() > 1 && entry.back() == '.') entry.pop_back();
    if (entry.find(':') != std::string::npos) {  // IPv6: compared in canonical form
      const auto ip = ParseIp(entry);
      if (!ip || !ip->v6) {
        ThrowInvalidArgument("image URL allowed host " + Shown(given) +
                             " is not a host name or an IP address (without a port)");
      }
      entry = FormatIp(*ip);
      continue;
    }
    const std::string name = entry.rfind("*.", 0) == 0 ? entry.substr(2) : entry;
    try {
      CheckHostName(name, "image URL allowed host " + Shown(given));
    } catch (const Error&) {
      ThrowInvalidArgument("image URL allowed host " + Shown(given) +
                           " is not a host name, an IP address, \"*.domain\" or \"*\"");
    }
    const size_t dot = name.rfind('.');
    if (LooksNumeric(dot == std::string::npos ? name : name.substr(dot + 1)) &&
        (name.size() != entry.size() || !IsDottedQuad(name))) {
      ThrowInvalidArgument("image URL allowed host " + Shown(given) + " is not a dotted-quad IPv4 address");
    }
  }
  if (!policy_.local_folder.empty()) {
    char* real = ::realpath(policy_.local_folder.c_str(), nullptr);
    if (!real) {
      ThrowInvalidArgument("the image folder " + policy_.local_folder + " cannot be used: " + std::strerror(errno));
    }
    real_folder_ = real;
    std::free(real);
    struct stat st {};
    if (::stat(real_folder_.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
      ThrowInvalidArgument("the image folder " + policy_.local_folder + " is not a folder");
    }
    folder_ = std::filesystem::absolute(policy_.local_folder).lexically_normal().string();
    while (folder_.size() > 1 && folder_.back() == '/') folder_.pop_back();
  }
}

std::string ImageSource::Fetch(std::string_view url, const std::string& where) const {
  const std::string scheme = SchemeOf(url);
  if (scheme == "data") return FetchData(url, where);
  if (scheme == "http" || scheme == "https") return FetchRemote(url, where);
  if (scheme == "file") return FetchFile(url, where);
  std::string accepted = "a data URL (data:image/png;base64,...)";
  if (!policy_.allowed_hosts.empty()) accepted += ", an http:// or https:// URL";
  if (!policy_.local_folder.empty()) accepted += ", a file:// URL of the server's image folder";
  const std::string got = scheme.empty() ? "no URL scheme" : "the scheme " + Shown(scheme);
  ThrowInvalidArgument(where + ": the image URL has " + got + "; expected " + accepted);
}

std::string ImageSource::FetchData(std::string_view url, const std::string& where) const {
  // Refuse a payload whose base64 cannot fit the cap before decoding it: 4 characters per 3
  // bytes, plus the line breaks of MIME-style output (2 per 76 characters).
  const size_t comma = url.find(',');
  if (comma != std::string_view::npos) {
    const size_t max = policy_.max_bytes;
    const size_t encoded = max / 3 * 4 + 4;
    if (max <= SIZE_MAX / 4 && url.size() - comma - 1 > encoded + encoded / 38 + 8) {
      ThrowTooLarge(where, "the data URL's image is larger than the limit of " + std::to_string(max) + " bytes");
    }
  }
  std::string bytes = openai::DecodeImageReference(url, /*allow_bare_base64=*/false, where);
  if (bytes.size() > policy_.max_bytes) {
    ThrowTooLarge(where, "the image is " + std::to_string(bytes.size()) + " bytes; the limit is " +
                             std::to_string(policy_.max_bytes));
  }
  return bytes;
}

bool ImageSource::HostAllowed(const std::string& host) const {
  for (const std::string& entry : policy_.allowed_hosts) {
    if (entry == "*" || entry == host) return true;
    if (entry.rfind("*.", 0) == 0) {
      const std::string_view suffix = std::string_view(entry).substr(1);  // ".example.com"
      if (host.size() > suffix.size() && host.compare(host.size() - suffix.size(), suffix.size(), suffix) == 0) {
        return true;
      }
    }
  }
  return false;
}

std::string ImageSource::FetchRemote(std::string_view url, const std::string& where) const {
  if (policy_.allowed_hosts.empty()) {
    ThrowInvalidArgument(where +
                         ": remote image URLs (http://, https://) are not fetched by this server; send the image "
                         "inline as a data URL (data:image/png;base64,...), or have the server started with "
                         "--image-url-allowed-hosts naming the hosts it may fetch images from");
  }
  const Clock::time_point deadline = Clock::now() + policy_.timeout;
  RemoteUrl current = ParseRemoteUrl(url, where);
  std::string what = where;
  for (int redirects = 0;; ++redirects) {
    if (!HostAllowed(current.host)) {
      ThrowInvalidArgument(what + ": the host " + Shown(current.host) +
                           " is not one the server may fetch images from (--image-url-allowed-hosts)");
    }
    // Every address the name has must be public: a name with one private address among public
    // ones would reach it as soon as the resolver's order changed.
    std::vector<std::string> addresses;
    if (current.ip_literal) {
      addresses.push_back(current.host);
    } else {
      addresses = resolver_(current.host);
      if (addresses.empty()) ThrowInvalidArgument(what + ": the host " + Shown(current.host) + " does not resolve");
    }
    std::string refused, pinned;
    size_t listed = 0;
    for (const std::string& text : addresses) {
      const auto ip = ParseIp(text);
      if (!ip) ThrowInvalidArgument(what + ": the host " + Shown(current.host) + " resolved to " + Shown(text) +
                                                  ", which is not an IP address");
      const std::string reason = Reason(*ip);
      if (!reason.empty() && !policy_.allow_private_addresses) {
        if (listed++ < kMaxListedAddresses) refused += (refused.empty() ? "" : ", ") + FormatIp(*ip) + " (" + reason + ")";
        continue;
      }
      if (pinned.empty()) {
        // ::ffff:a.b.c.d is connected to as a.b.c.d.
        const bool mapped = ip->v6 && PrefixIs(ip->bytes, {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff});
        pinned = mapped ? FormatIp(IpAddress{false, V4At(ip->bytes, 12), {}}) : FormatIp(*ip);
      }
    }
    if (!refused.empty()) {
      ThrowInvalidArgument(what + ": the host " + Shown(current.host) + " has an address the server does not fetch from: " +
                           refused + (listed > kMaxListedAddresses ? ", ..." : ""));
    }
    if (Clock::now() >= deadline) {
      ThrowInvalidArgument(what + ": fetching the image from " + Shown(current.Url()) + " timed out (the limit is " +
                           Millis(policy_.timeout) + " for the whole fetch)");
    }
    HopResult hop = GetOnce(current, pinned, deadline, policy_.max_bytes, policy_.timeout, what);
    if (!hop.redirect) return std::move(hop.body);
    if (redirects >= policy_.max_redirects) {
      ThrowInvalidArgument(where + ": " + Shown(url) + " redirects more than " + std::to_string(policy_.max_redirects) +
                           " times");
    }
    const std::string next_url = ResolveLocation(current, hop.location);
    what = where + " (redirected from " + Shown(current.Url()) + " to " + Shown(next_url) + ")";
    RemoteUrl next = ParseRemoteUrl(next_url, what);
    if (current.https && !next.https) ThrowInvalidArgument(what + ": a redirect from https to http is not followed");
    current = std::move(next);
  }
}

std::string ImageSource::FetchFile(std::string_view url, const std::string& where) const {
  if (policy_.local_folder.empty()) {
    ThrowInvalidArgument(where + ": file:// image URLs are not read by this server; send the image inline as a data "
                                 "URL (data:image/png;base64,...)");
  }
  std::string_view rest = url.substr(5);  // after "file:"
  if (rest.substr(0, 2) != "//") {
    ThrowInvalidArgument(where + ": " + Shown(url) + " is malformed; expected file:///path/to/image");
  }
  rest.remove_prefix(2);
  const size_t slash = rest.find('/');
  if (slash == std::string_view::npos) {
    ThrowInvalidArgument(where + ": " + Shown(url) + " is malformed; expected file:///path/to/image");
  }
  if (slash != 0 && Lower(rest.substr(0, slash)) != "localhost") {
    ThrowInvalidArgument(where + ": file URLs name no host (file:///path/to/image)");
  }
  const std::string_view encoded = rest.substr(slash, rest.find_first_of("?#") - slash);
  for (char c : encoded) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) ThrowInvalidArgument(where + ": the file URL contains a control character");
  }
  const std::string path = PercentDecode(encoded, where);
  if (path.find('\0') != std::string::npos) ThrowInvalidArgument(where + ": the file URL's path contains a NUL byte");
  if (path.size() >= PATH_MAX) ThrowInvalidArgument(where + ": the file URL's path is too long");
  for (size_t start = 0; start < path.size();) {
    const size_t end = std::min(path.find('/', start), path.size());
    const std::string_view segment = std::string_view(path).substr(start, end - start);
    if (segment == "." || segment == "..") {
      ThrowInvalidArgument(where + ": the file URL's path must not contain '.' or '..' segments");
    }
    start = end + 1;
  }
  const std::string shown = Shown(path);
  // Before the file system is asked anything, so that clients learn nothing about files elsewhere.
  if (!Inside(path, folder_) && !Inside(path, real_folder_)) {
    ThrowInvalidArgument(where + ": " + shown + " is outside the server's image folder");
  }
  char* resolved = ::realpath(path.c_str(), nullptr);
  if (!resolved) {
    const int e = errno;
    ThrowInvalidArgument(where + ": " + shown +
                         (e == ENOENT || e == ENOTDIR ? std::string(" does not exist") : ": " + std::string(std::strerror(e))));
  }
  const std::string real = resolved;
  std::free(resolved);
  if (!Inside(real, real_folder_)) {
    ThrowInvalidArgument(where + ": " + shown + " leads (through a symbolic link) outside the server's image folder");
  }
  // O_NOFOLLOW and the check of what was opened: a link swapped in after realpath is no way out.
  const Fd fd(::open(real.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY));
  if (fd.get() < 0) ThrowInvalidArgument(where + ": " + shown + " cannot be opened: " + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
    ThrowInvalidArgument(where + ": " + shown + " is not a regular file");
  }
  char opened[PATH_MAX + 1] = {};
  const std::string proc = "/proc/self/fd/" + std::to_string(fd.get());
  const ssize_t n = ::readlink(proc.c_str(), opened, PATH_MAX);
  if (n > 0 && !Inside(std::string(opened, static_cast<size_t>(n)), real_folder_)) {
    ThrowInvalidArgument(where + ": " + shown + " leads (through a symbolic link) outside the server's image folder");
  }
  if (static_cast<uint64_t>(st.st_size) > policy_.max_bytes) {
    ThrowTooLarge(where, "the image " + shown + " is " + std::to_string(st.st_size) + " bytes; the limit is " +
                             std::to_string(policy_.max_bytes));
  }
  std::string bytes(static_cast<size_t>(st.st_size), '\0');
  size_t done = 0;
  while (true) {
    if (done == bytes.size()) {
      if (bytes.size() > policy_.max_bytes) break;
      const size_t over = policy_.max_bytes == SIZE_MAX ? SIZE_MAX : policy_.max_bytes + 1;
      bytes.resize(std::min(bytes.size() + std::min<size_t>(65536, over - bytes.size()), over));  // it grew
      if (done == bytes.size()) break;
    }
    const ssize_t got = ::read(fd.get(), bytes.data() + done, bytes.size() - done);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) ThrowInvalidArgument(where + ": " + shown + " cannot be read: " + std::strerror(errno));
    if (got == 0) break;
    done += static_cast<size_t>(got);
  }
  bytes.resize(done);
  if (bytes.size() > policy_.max_bytes) {
    ThrowTooLarge(where, "the image " + shown + " is larger than the limit of " + std::to_string(policy_.max_bytes) +
                             " bytes");
  }
  return bytes;
}

}  // namespace mms::api
