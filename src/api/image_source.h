// Where the images of OpenAI chat requests come from: a content part
// {"type":"image_url","image_url":{"url": URL}} names its image by a URL, and this unit turns
// that URL into the encoded image file's bytes (JPEG, PNG, ...; the decoder judges them later).
//
// Three kinds of URL, each off unless the operator turns it on, because a server that fetches
// what clients name can be made to reach what only it can reach (SSRF):
// - data:image/...;base64,... — always accepted (the image inline in the request);
// - http:// and https:// — only to the allowlisted host names, and only when every address the
//   name resolves to is a public one (no loopback, private, link-local / cloud metadata, CGNAT,
//   ULA, multicast or reserved address, in any spelling). The connection goes to the address
//   that was checked (never resolved again, so DNS rebinding cannot swap it), with the URL's
//   host name in the Host header and, for https, as the SNI name the certificate is verified
//   against (system CA store; SSL_CERT_FILE / SSL_CERT_DIR override it). Redirects are
//   followed here, each hop checked like the first; the body is read up to the byte cap
//   within one deadline for the whole fetch;
// - file:// — only for files inside the configured local folder, symlinks resolved.
// Every refusal is Error(kInvalidArgument) (or kTooLarge for an image over the byte cap) whose
// message starts with the `where` given, and never carries a response body.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace mms::api {

struct ImageSourcePolicy {
  // http(s) URLs only to these host names: exact ("images.example.com", or an IP address as
  // a.b.c.d or IPv6 without brackets), case-insensitive, or a suffix form "*.example.com" (any
  // name below example.com, not example.com itself); "*" alone allows any host name, leaving
  // the address checks as the only guard. Empty: http(s) URLs are refused.
  std::vector<std::string> allowed_hosts;
  // Loopback, private, link-local, CGNAT, ULA and other non-public addresses allowed too
  // (tests, trusted networks).
  bool allow_private_addresses = false;
  // file:// URLs only for files under this folder (symlinks may point elsewhere inside it,
  // never out of it). Empty: file:// URLs are refused. Nothing local is reachable otherwise.
  std::string local_folder;
  size_t max_bytes = 10u << 20;  // cap on one image's bytes, from any source
  // The whole http(s) fetch: resolving, connecting, TLS, every redirect and the body. (The
  // resolver itself is not interrupted: a fetch whose resolving took past the deadline is
  // refused as timed out once the resolver returns.)
  std::chrono::milliseconds timeout{10000};
  int max_redirects = 3;
};

// The IP addresses (textual: "192.0.2.1", "2001:db8::1") a host name resolves to; empty when
// it does not resolve. Injectable so that tests decide what a name resolves to.
using HostResolver = std::function<std::vector<std::string>(const std::string& host)>;
// getaddrinfo (the system's resolver: /etc/hosts, DNS).
HostResolver SystemResolver();

// Why nobody should fetch from `address` (an IPv4 or IPv6 address in text form): "loopback",
// "private", "link-local", "shared address space (CGNAT)", "multicast", "documentation", ... ;
// empty for a public unicast address, "not an IP address" when it does not parse. Every range
// that IANA's special-purpose registries mark as not globally reachable is non-public. IPv4-mapped, NAT64 and
// 6to4 IPv6 addresses are judged by the IPv4 address inside.
std::string NonPublicAddressReason(std::string_view address);

class ImageSource {
 public:
  // Throws Error(kInvalidArgument) for a malformed allowed_hosts entry or a local_folder that
  // is not a folder.
  explicit ImageSource(ImageSourcePolicy policy, HostResolver resolver = SystemResolver());

  // The encoded image file's bytes. `where` names the part in every error
  // ("messages[1].content[2]"). Thread-safe.
  std::string Fetch(std::string_view url, const std::string& where) const;

  const ImageSourcePolicy& policy() const { return policy_; }

 private:
  std::string FetchData(std::string_view url, const std::string& where) const;
  std::string FetchRemote(std::string_view url, const std::string& where) const;
  std::string FetchFile(std::string_view url, const std::string& where) const;
  bool HostAllowed(const std::string& host) const;

  ImageSourcePolicy policy_;
  HostResolver resolver_;
  std::string real_folder_;  // realpath(local_folder), when set
  std::string folder_;       // local_folder as given, without trailing '/'
};

}  // namespace mms::api
