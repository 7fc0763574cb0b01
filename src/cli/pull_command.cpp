// `mmserve pull`: a checkpoint from a Hugging Face hub (or a mirror of it) into a model
// repository, as the version folder DIR/NAME/VERSION/.
//
// The hub's address is never built in: it comes from --hf-endpoint or HF_ENDPOINT. The file
// list comes from the hub's API (GET {endpoint}/api/models/{repo}/revision/{rev}?blobs=true:
// `siblings` with `rfilename`, `size` and, for LFS files, `lfs.sha256`); files come from
// {endpoint}/{repo}/resolve/{commit}/{file}, redirects followed (the bearer token from HF_TOKEN
// goes to the endpoint's own origin only, never to the storage host a redirect points at).
// An LFS file's SHA-256 comes from the listing, else from the X-Linked-Etag header the hub
// sends with the file.
//
// Nothing half-done is ever visible to a server polling the repository: files are written as
// FILE.part (an existing .part is resumed with a Range request) inside a hidden folder
// NAME/.VERSION.partial, LFS files are checked against their SHA-256, and the folder is renamed
// to NAME/VERSION once every file is in place. When the model folder NAME does not exist yet,
// the whole model is staged as the hidden folder .NAME.partial and renamed into place, so that
// a server does not see a model with no version meanwhile. A failed pull keeps its .part files;
// running the same command again resumes them.
#include <fcntl.h>
#include <fnmatch.h>
#include <httplib.h>
#include <openssl/evp.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "base/error.h"
#include "cli/args.h"
#include "cli/commands.h"
#include "runtime/model_repository.h"

namespace mms::cli {

namespace {

namespace fs = std::filesystem;

constexpr int kMaxRedirects = 10;
constexpr const char* kStateFile = ".pull.json";  // in the partial folder: what it is a download of

void Progress(const std::string& line) { std::fprintf(stderr, "mmserve pull: %s\n", line.c_str()); }

std::string HumanBytes(uint64_t n) {
  char buf[32];
  if (n >= (1ull << 30)) {
    std::snprintf(buf, sizeof(buf), "%.2f GiB", n / double(1ull << 30));
  } else if (n >= (1ull << 20)) {
    std::snprintf(buf, sizeof(buf), "%.1f MiB", n / double(1ull << 20));
  } else {
    std::snprintf(buf, sizeof(buf), "%llu bytes", static_cast<unsigned long long>(n));
  }
  return buf;
}

// RFC 3986 percent-encoding; `keep_slash` for paths whose '/' separate segments.
std::string PercentEncode(const std::string& s, bool keep_slash) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~' || (keep_slash && c == '/')) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

struct Url {
  std::string origin;  // scheme://host[:port], as httplib::Client takes it
  std::string path;    // from the first '/', query included; "/" when empty
};

Url ParseUrl(const std::string& url) {
  const size_t sep = url.find("://");
  if (sep == std::string::npos) ThrowInvalidArgument("\"" + url + "\" is not an http:// or https:// URL");
  std::string scheme = url.substr(0, sep);
  std::transform(scheme.begin(), scheme.end(), scheme.begin(), [](unsigned char c) { return std::tolower(c); });
  if (scheme != "http" && scheme != "https") {
    ThrowInvalidArgument("\"" + url + "\" is not an http:// or https:// URL");
  }
  const size_t start = sep + 3;
  const size_t end = url.find_first_of("/?#", start);
  const std::string authority = url.substr(start, end == std::string::npos ? std::string::npos : end - start);
  if (authority.empty() || authority.find('@') != std::string::npos) {
    ThrowInvalidArgument("\"" + url + "\": expected scheme://host[:port][/path]");
  }
  Url u;
  u.origin = scheme + "://" + authority;
  u.path = end == std::string::npos ? "/" : url.substr(end);
  if (u.path[0] != '/') u.path = "/" + u.path;
  const size_t hash = u.path.find('#');
  if (hash != std::string::npos) u.path.resize(hash);
  return u;
}

// A redirect's Location against the URL that answered it.
std::string ResolveLocation(const Url& from, const std::string& location) {
  if (location.find("://") != std::string::npos) return location;
  if (location.rfind("//", 0) == 0) return from.origin.substr(0, from.origin.find("://") + 1) + location;
  if (!location.empty() && location[0] == '/') return from.origin + location;
  std::string base = from.path.substr(0, from.path.find('?'));
  base.resize(base.rfind('/') + 1);
  return from.origin + base + location;
}

// The hub answers a resolve of an LFS file (before redirecting it to storage) with
// X-Linked-Etag: "SHA256"; its plain ETag of other files is a git hash, not used here.
std::string LinkedSha256(const httplib::Headers& headers) {
  for (const auto& [k, v] : headers) {
    if (strcasecmp(k.c_str(), "X-Linked-Etag") != 0) continue;
    std::string tag = v.rfind("W/", 0) == 0 ? v.substr(2) : v;
    tag.erase(std::remove(tag.begin(), tag.end(), '"'), tag.end());
    std::transform(tag.begin(), tag.end(), tag.begin(), [](unsigned char c) { return std::tolower(c); });
    if (tag.size() == 64 && tag.find_first_not_of("0123456789abcdef") == std::string::npos) return tag;
  }
  return "";
}

bool IsRedirect(int status) {
  return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

// A failure worth trying again (the connection broke, the server was busy).
struct RetryableError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// The hub: one connection per origin, the token only for the endpoint's origin.
class Hub {
 public:
  Hub(const std::string& endpoint, std::string token) : token_(std::move(token)) {
    endpoint_ = ParseUrl(endpoint);
    if (endpoint_.path.find('?') != std::string::npos) ThrowInvalidArgument("--hf-endpoint must not have a query");
    while (!endpoint_.path.empty() && endpoint_.path.back() == '/') endpoint_.path.pop_back();
  }

  // endpoint + path ("/api/...", "/{repo}/resolve/...").
  std::string UrlFor(const std::string& path) const { return endpoint_.origin + endpoint_.path + path; }
  bool has_token() const { return !token_.empty(); }

  struct Answer {
    int status = 0;
    httplib::Headers headers;
    std::string body;  // when no receiver took it (and for error statuses, the first 64 KiB)
    std::string url;   // the URL that answered, after redirects
    std::string linked_sha256;  // an LFS file's SHA-256 from the X-Linked-Etag of any hop
  };
  using HeadersSeen = std::function<bool(const Answer&)>;  // false: stop (the call throws)
  using BodyReceiver = std::function<bool(const char*, size_t)>;

  // GET url, following redirects. For a 2xx answer `on_headers` (if any) sees the status and
  // headers first and `on_body` (if any) then takes the body; otherwise the body is returned
  // in Answer::body. Transport failures throw RetryableError.
  Answer Get(const std::string& url, const httplib::Headers& headers, const HeadersSeen& on_headers = nullptr,
             const BodyReceiver& on_body = nullptr) {
    std::string current = url, linked_sha256;
    for (int hop = 0; hop <= kMaxRedirects; ++hop) {
      const Url u = ParseUrl(current);
      httplib::Headers h = headers;
      h.emplace("User-Agent", "mmserve-pull");
      if (!token_.empty() && u.origin == endpoint_.origin) h.emplace("Authorization", "Bearer " + token_);
      Answer answer;
      answer.url = current;
      bool redirect = false, stopped = false;
      const auto result = ClientFor(u.origin).Get(
          u.path, h,
          [&](const httplib::Response& r) {
            answer.status = r.status;
            answer.headers = r.headers;
            if (const std::string sha = LinkedSha256(r.headers); !sha.empty()) linked_sha256 = sha;
            answer.linked_sha256 = linked_sha256;
            redirect = IsRedirect(r.status) && r.has_header("Location");
            if (redirect || r.status < 200 || r.status >= 300 || !on_headers) return true;
            if (!on_headers(answer)) stopped = true;
            return !stopped;
          },
          [&](const char* data, size_t n) {
            if (redirect) return true;
            if (answer.status >= 200 && answer.status < 300 && on_body) return on_body(data, n);
            if (answer.body.size() < (64u << 10)) answer.body.append(data, std::min<size_t>(n, (64u << 10) - answer.body.size()));
            return true;
          });
      if (stopped) return answer;
      if (result.error() != httplib::Error::Success) {
        const std::string message = "GET " + current + " failed (" + httplib::to_string(result.error()) + " error)";
        if (result.error() == httplib::Error::SSLServerVerification) {  // trying again will not help
          throw Error(ErrorCode::kUnavailable, message + ": the server's certificate is not trusted (SSL_CERT_FILE "
                                                         "or SSL_CERT_DIR name the CA certificates to trust)");
        }
        throw RetryableError(message);
      }
      if (!redirect) return answer;
      const auto it = answer.headers.find("Location");
      current = ResolveLocation(u, it->second);
    }
    throw Error(ErrorCode::kUnavailable, url + ": more than " + std::to_string(kMaxRedirects) + " redirects");
  }

 private:
  httplib::Client& ClientFor(const std::string& origin) {
    auto& c = clients_[origin];
    if (!c) {
      c = std::make_unique<httplib::Client>(origin);
      if (!c->is_valid()) ThrowInvalidArgument("cannot make an HTTP client for " + origin);
      c->set_follow_location(false);  // redirects are followed above, to decide where the token goes
      c->set_connection_timeout(30);
      c->set_read_timeout(120);
      c->set_keep_alive(true);
    }
    return *c;
  }

  Url endpoint_;
  std::string token_;
  std::map<std::string, std::unique_ptr<httplib::Client>> clients_;
};

// The hub's error text: its X-Error-Message header or the JSON body's "error".
std::string HubReason(const Hub::Answer& a) {
  for (const auto& [k, v] : a.headers) {
    if (strcasecmp(k.c_str(), "X-Error-Message") == 0) return v;
  }
  try {
    const auto j = nlohmann::json::parse(a.body);
    if (j.is_object() && j.contains("error") && j["error"].is_string()) return j["error"].get<std::string>();
  } catch (const std::exception&) {
  }
  std::string s = a.body.substr(0, 200);
  std::replace(s.begin(), s.end(), '\n', ' ');
  return s;
}

[[noreturn]] void ThrowHttpStatus(const Hub::Answer& a, const std::string& what, bool has_token) {
  std::string message = what + ": HTTP " + std::to_string(a.status) + " from " + a.url;
  const std::string reason = HubReason(a);
  if (!reason.empty()) message += " (" + reason + ")";
  if (a.status == 401 || a.status == 403) {
    message += has_token ? "; the token in HF_TOKEN has no access to it"
                         : "; a private or gated repository needs a token in HF_TOKEN";
    throw Error(a.status == 401 ? ErrorCode::kUnauthenticated : ErrorCode::kPermissionDenied, message);
  }
  if (a.status == 404) throw Error(ErrorCode::kNotFound, message);
  if (a.status == 408 || a.status == 429 || a.status >= 500) throw RetryableError(message);
  throw Error(ErrorCode::kUnavailable, message);
}

struct RemoteFile {
  std::string name;
  std::optional<uint64_t> size;
  std::string sha256;  // lowercase hex; empty when the file is not in LFS
};

struct Listing {
  std::string commit;  // the revision's commit hash when the hub gave one
  std::map<std::string, RemoteFile> files;
};

// A relative path inside the version folder: no absolute paths, no "." or ".." segments.
bool SafeRelativeName(const std::string& name) {
  if (name.empty() || name[0] == '/' || name.find('\\') != std::string::npos || name.find('\0') != std::string::npos) {
    return false;
  }
  size_t start = 0;
  while (start <= name.size()) {
    const size_t end = std::min(name.find('/', start), name.size());
    const std::string seg = name.substr(start, end - start);
    if (seg.empty() || seg == "." || seg == "..") return false;
    start = end + 1;
  }
  return true;
}

Listing ListFiles(Hub& hub, const std::string& repo_id, const std::string& revision) {
  const std::string url =
      hub.UrlFor("/api/models/" + repo_id + "/revision/" + PercentEncode(revision, false) + "?blobs=true");
  const Hub::Answer a = hub.Get(url, {{"Accept", "application/json"}});
  if (a.status != 200) ThrowHttpStatus(a, "listing " + repo_id + " at " + revision, hub.has_token());
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(a.body);
  } catch (const std::exception& e) {
    throw Error(ErrorCode::kUnavailable, url + " did not answer JSON: " + e.what());
  }
  if (!j.is_object() || !j.contains("siblings") || !j["siblings"].is_array()) {
    throw Error(ErrorCode::kUnavailable, url + " answered no \"siblings\" list");
  }
  Listing listing;
  if (j.contains("sha") && j["sha"].is_string()) {
    const std::string sha = j["sha"];
    if (!sha.empty() && sha.find_first_not_of("0123456789abcdef") == std::string::npos) listing.commit = sha;
  }
  for (const auto& s : j["siblings"]) {
    if (!s.is_object() || !s.contains("rfilename") || !s["rfilename"].is_string()) continue;
    RemoteFile f;
    f.name = s["rfilename"];
    if (!SafeRelativeName(f.name)) continue;  // never written outside the version folder
    if (s.contains("size") && s["size"].is_number_unsigned()) f.size = s["size"].get<uint64_t>();
    if (s.contains("lfs") && s["lfs"].is_object()) {
      const auto& lfs = s["lfs"];
      if (lfs.contains("size") && lfs["size"].is_number_unsigned()) f.size = lfs["size"].get<uint64_t>();
      if (lfs.contains("sha256") && lfs["sha256"].is_string()) {
        f.sha256 = lfs["sha256"];
        std::transform(f.sha256.begin(), f.sha256.end(), f.sha256.begin(), [](unsigned char c) { return std::tolower(c); });
        if (f.sha256.size() != 64 || f.sha256.find_first_not_of("0123456789abcdef") != std::string::npos) {
          throw Error(ErrorCode::kUnavailable, url + ": " + f.name + " has a malformed lfs.sha256 \"" + f.sha256 + "\"");
        }
      }
    }
    listing.files[f.name] = f;
  }
  return listing;
}

std::string Sha256File(const std::string& path) {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) != 1) ThrowInternal("SHA-256 is unavailable");
  std::unique_ptr<FILE, decltype(&std::fclose)> in(std::fopen(path.c_str(), "rb"), std::fclose);
  if (!in) ThrowInternal("cannot read " + path + ": " + std::strerror(errno));
  std::vector<char> buf(1 << 20);
  size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), in.get())) > 0) EVP_DigestUpdate(ctx.get(), buf.data(), n);
  if (std::ferror(in.get())) ThrowInternal("cannot read " + path + ": " + std::strerror(errno));
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_DigestFinal_ex(ctx.get(), digest, &len) != 1) ThrowInternal("SHA-256 failed");
  static const char kHex[] = "0123456789abcdef";
  std::string hex;
  for (unsigned i = 0; i < len; ++i) {
    hex += kHex[digest[i] >> 4];
    hex += kHex[digest[i] & 15];
  }
  return hex;
}

void FsyncPath(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

// "bytes START-END/TOTAL" -> START (nullopt when malformed).
std::optional<uint64_t> ContentRangeStart(const std::string& v) {
  unsigned long long start = 0;
  if (std::sscanf(v.c_str(), "bytes %llu-", &start) != 1) return std::nullopt;
  return static_cast<uint64_t>(start);
}

std::string HeaderValue(const httplib::Headers& headers, const char* name) {
  for (const auto& [k, v] : headers) {
    if (strcasecmp(k.c_str(), name) == 0) return v;
  }
  return "";
}

class Downloader {
 public:
  Downloader(Hub& hub, std::string repo_id, std::string url_revision, int retries)
      : hub_(hub), repo_id_(std::move(repo_id)), url_revision_(std::move(url_revision)), retries_(retries) {}

  // Downloads f into dir/f.name (through dir/f.name.part); returns the bytes received.
  uint64_t Fetch(const RemoteFile& f, const std::string& dir) {
    const std::string final_path = dir + "/" + f.name, part = final_path + ".part";
    std::error_code ec;
    if (fs::is_regular_file(final_path, ec) && (!f.size || fs::file_size(final_path, ec) == *f.size)) {
      Progress(f.name + ": already downloaded");
      return 0;
    }
    fs::create_directories(fs::path(final_path).parent_path());
    uint64_t received = 0;
    // The listing's SHA-256, else the one the download's X-Linked-Etag gives (a mirror whose
    // listing has no LFS details).
    std::string sha256 = f.sha256;
    for (int attempt = 0;; ++attempt) {
      try {
        received += Transfer(f, part, &sha256);
        break;
      } catch (const RetryableError& e) {
        const uint64_t kept = fs::exists(part, ec) ? fs::file_size(part, ec) : 0;
        if (attempt >= retries_) {
          throw Error(ErrorCode::kUnavailable,
                      "downloading " + f.name + " failed: " + e.what() + " (" + std::to_string(kept) +
                          " bytes kept in " + part + "; run the same command again to resume)");
        }
        const int wait_s = std::min(30, 1 << std::min(attempt, 5));
        Progress(f.name + ": " + e.what() + "; retrying in " + std::to_string(wait_s) + " s (" +
                 std::to_string(attempt + 1) + " of " + std::to_string(retries_) + ")");
        std::this_thread::sleep_for(std::chrono::seconds(wait_s));
      }
    }
    const uint64_t size = fs::file_size(part);
    if (f.size && size != *f.size) {
      fs::remove(part, ec);
      throw Error(ErrorCode::kUnavailable, f.name + ": downloaded " + std::to_string(size) +
                                               " bytes, the hub lists " + std::to_string(*f.size) +
                                               " (deleted the download; run again to retry)");
    }
    if (!sha256.empty()) {
      const std::string actual = Sha256File(part);
      if (actual != sha256) {
        fs::remove(part, ec);
        throw Error(ErrorCode::kInvalidModel, "checksum mismatch for " + f.name + ": expected sha256 " + sha256 +
                                                  ", got " + actual + " (deleted the download; run again to retry)");
      }
    }
    FsyncPath(part);
    fs::rename(part, final_path);
    Progress(f.name + ": done, " + HumanBytes(size) + (sha256.empty() ? "" : ", sha256 verified"));
    return received;
  }

 private:
  // One request for the rest of `part`. Throws RetryableError when it broke off.
  uint64_t Transfer(const RemoteFile& f, const std::string& part, std::string* sha256) {
    std::error_code ec;
    const bool have_part = fs::exists(part, ec);
    uint64_t offset = have_part ? fs::file_size(part, ec) : 0;
    if (f.size && offset > *f.size) offset = 0;               // longer than the file: not ours
    if (f.size && have_part && offset == *f.size) return 0;  // complete already (it is checked next)
    for (int restart = 0; restart < 2; ++restart) {
      std::unique_ptr<FILE, decltype(&std::fclose)> out(std::fopen(part.c_str(), offset ? "ab" : "wb"), std::fclose);
      if (!out) ThrowInternal("cannot write " + part + ": " + std::strerror(errno));
      httplib::Headers headers = {{"Accept-Encoding", "identity"}};
      if (offset > 0) {
        headers.emplace("Range", "bytes=" + std::to_string(offset) + "-");
        Progress(f.name + ": resuming at " + HumanBytes(offset) + (f.size ? " of " + HumanBytes(*f.size) : ""));
      } else {
        Progress(f.name + ": fetching" + (f.size ? " " + HumanBytes(*f.size) : ""));
      }
      uint64_t received = 0, total = f.size.value_or(0), next_report = 0;
      bool write_failed = false, range_mismatch = false;
      const std::string url = hub_.UrlFor("/" + repo_id_ + "/resolve/" + PercentEncode(url_revision_, false) + "/" +
                                          PercentEncode(f.name, true));
      const Hub::Answer a = hub_.Get(
          url, headers,
          [&](const Hub::Answer& r) {
            if (sha256->empty()) *sha256 = r.linked_sha256;
            if (r.status == 206) {
              const auto start = ContentRangeStart(HeaderValue(r.headers, "Content-Range"));
              if (!start || *start != offset) {
                range_mismatch = true;
                return false;
              }
            } else if (r.status == 200) {
              if (offset > 0) {
                Progress(f.name + ": the server ignored the Range request; downloading from the start");
                if (std::fflush(out.get()) != 0 || ::ftruncate(fileno(out.get()), 0) != 0) {
                  write_failed = true;
                  return false;
                }
                offset = 0;
              }
            } else {
              return true;  // other 2xx: reported below
            }
            if (!total) {
              const std::string length = HeaderValue(r.headers, "Content-Length");
              if (!length.empty()) total = offset + std::strtoull(length.c_str(), nullptr, 10);
            }
            next_report = offset + std::max<uint64_t>(total / 10, 16u << 20);
            return true;
          },
          [&](const char* data, size_t n) {
            if (std::fwrite(data, 1, n, out.get()) != n) {
              write_failed = true;
              return false;
            }
            received += n;
            if (total >= (16u << 20) && offset + received >= next_report && offset + received < total) {
              Progress(f.name + ": " + HumanBytes(offset + received) + " of " + HumanBytes(total) + " (" +
                       std::to_string((offset + received) * 100 / total) + "%)");
              next_report += std::max<uint64_t>(total / 10, 16u << 20);
            }
            return true;
          });
      const bool flushed = std::fflush(out.get()) == 0 && ::fsync(fileno(out.get())) == 0;
      if (write_failed || !flushed) ThrowInternal("cannot write " + part + ": " + std::strerror(errno));
      out.reset();
      // A range the server would not give (416: the .part is longer than the file, so not a
      // prefix of it), or a 206 for another range than asked for: start over.
      if (range_mismatch || (a.status == 416 && offset > 0)) {
        Progress(f.name + (range_mismatch ? ": the server answered another byte range than asked for"
                                          : ": the server refused the resume (HTTP 416)") +
                 "; downloading from the start");
        fs::remove(part, ec);
        offset = 0;
        continue;
      }
      if (a.status != 200 && a.status != 206) ThrowHttpStatus(a, "downloading " + f.name, hub_.has_token());
      if (total && offset + received < total) {
        throw RetryableError("the connection closed after " + std::to_string(offset + received) + " of " +
                             std::to_string(total) + " bytes");
      }
      return received;
    }
    throw RetryableError("the server refused to resume " + f.name);
  }

  Hub& hub_;
  std::string repo_id_, url_revision_;
  int retries_;
};

bool ValidRepoId(const std::string& id) {
  const size_t slash = id.find('/');
  if (slash != id.rfind('/')) return false;
  auto valid_part = [](const std::string& p) {
    if (p.empty() || p.size() > 96 || p == "." || p == ".." || p[0] == '-' || p[0] == '.') return false;
    return std::all_of(p.begin(), p.end(), [](unsigned char c) { return std::isalnum(c) || c == '-' || c == '_' || c == '.'; });
  };
  return slash == std::string::npos ? valid_part(id) : valid_part(id.substr(0, slash)) && valid_part(id.substr(slash + 1));
}

// Which files make the checkpoint: --include patterns, else what mmserve loads a CLIP from.
std::vector<RemoteFile> SelectFiles(const Listing& listing, const std::vector<std::string>& includes,
                                    const std::string& repo_id) {
  std::vector<RemoteFile> selected;
  if (!includes.empty()) {
    for (const auto& [name, f] : listing.files) {
      for (const auto& pattern : includes) {
        if (::fnmatch(pattern.c_str(), name.c_str(), 0) == 0) {
          selected.push_back(f);
          break;
        }
      }
    }
    if (selected.empty()) {
      ThrowInvalidArgument("no file of " + repo_id + " matches --include " + includes.front() +
                           (includes.size() > 1 ? " (or the other patterns)" : ""));
    }
    return selected;
  }
  std::vector<std::string> missing;
  auto take = [&](const std::string& name, bool required) {
    const auto it = listing.files.find(name);
    if (it != listing.files.end()) {
      selected.push_back(it->second);
    } else if (required) {
      missing.push_back(name);
    }
  };
  for (const char* name : {"config.json", "preprocessor_config.json", "vocab.json", "merges.txt"}) take(name, true);
  for (const char* name : {"tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"}) take(name, false);
  if (listing.files.count("model.safetensors")) {
    take("model.safetensors", true);
  } else if (listing.files.count("model.safetensors.index.json")) {
    take("model.safetensors.index.json", true);  // its shards are added once it is read
  } else {
    missing.push_back("model.safetensors (or model.safetensors.index.json)");
  }
  if (!missing.empty()) {
    std::string list;
    for (const auto& m : missing) list += (list.empty() ? "" : ", ") + m;
    throw Error(ErrorCode::kInvalidModel, repo_id + " has no " + list +
                                              " (mmserve loads Hugging Face CLIP checkpoints in safetensors; "
                                              "--include PATTERN picks files by name instead)");
  }
  return selected;
}

// The shards a downloaded model.safetensors.index.json names.
std::vector<RemoteFile> ShardsOf(const std::string& index_path, const Listing& listing) {
  nlohmann::json index;
  try {
    std::unique_ptr<FILE, decltype(&std::fclose)> in(std::fopen(index_path.c_str(), "rb"), std::fclose);
    if (!in) ThrowInvalidModel("cannot read " + index_path);
    std::string text;
    char buf[65536];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof(buf), in.get())) > 0) text.append(buf, n);
    index = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    ThrowInvalidModel(index_path + " is not JSON: " + e.what());
  }
  if (!index.contains("weight_map") || !index["weight_map"].is_object()) {
    ThrowInvalidModel(index_path + " has no \"weight_map\" object");
  }
  std::vector<std::string> names;
  for (const auto& [tensor, file] : index["weight_map"].items()) {
    if (!file.is_string()) ThrowInvalidModel(index_path + ": weight_map[\"" + tensor + "\"] is not a file name");
    if (std::find(names.begin(), names.end(), file.get<std::string>()) == names.end()) names.push_back(file);
  }
  std::sort(names.begin(), names.end());
  std::vector<RemoteFile> shards;
  for (const auto& name : names) {
    const auto it = listing.files.find(name);
    if (it == listing.files.end()) {
      ThrowInvalidModel("model.safetensors.index.json names shard " + name + ", which the repository does not have");
    }
    shards.push_back(it->second);
  }
  return shards;
}

// An exclusive lock on DIR/.NAME.pull.lock for the whole pull, so that two pulls of one
// model (two pods' init containers on a shared volume) do not write the same files.
class PullLock {
 public:
  explicit PullLock(const std::string& path) {
    fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd_ < 0) ThrowInternal("cannot open " + path + ": " + std::strerror(errno));
    if (::flock(fd_, LOCK_EX | LOCK_NB) == 0) return;
    Progress("waiting for another mmserve pull of this model to finish (" + path + ")");
    while (::flock(fd_, LOCK_EX) != 0) {
      if (errno != EINTR) ThrowInternal("cannot lock " + path + ": " + std::strerror(errno));
    }
  }
  ~PullLock() { ::close(fd_); }
  PullLock(const PullLock&) = delete;
  PullLock& operator=(const PullLock&) = delete;

 private:
  int fd_ = -1;
};

nlohmann::json ReadState(const std::string& partial) {
  try {
    std::unique_ptr<FILE, decltype(&std::fclose)> in(std::fopen((partial + "/" + kStateFile).c_str(), "rb"), std::fclose);
    if (!in) return nlohmann::json::object();
    std::string text;
    char buf[4096];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof(buf), in.get())) > 0) text.append(buf, n);
    auto j = nlohmann::json::parse(text);
    return j.is_object() ? j : nlohmann::json::object();
  } catch (const std::exception&) {
    return nlohmann::json::object();
  }
}

void WriteState(const std::string& partial, const nlohmann::json& state) {
  const std::string path = partial + "/" + kStateFile;
  std::unique_ptr<FILE, decltype(&std::fclose)> out(std::fopen(path.c_str(), "wb"), std::fclose);
  const std::string text = state.dump();
  if (!out || std::fwrite(text.data(), 1, text.size(), out.get()) != text.size()) {
    ThrowInternal("cannot write " + path + ": " + std::strerror(errno));
  }
}

// The command line: REPO_ID is the one argument that is not a flag or a flag's value.
std::string TakeRepoId(int argc, char** argv, std::vector<char*>* rest) {
  std::string repo_id;
  rest->assign(argv, argv + 2);
  for (int i = 2; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg.rfind("--", 0) == 0) {
      rest->push_back(argv[i]);
      if (arg.find('=') == std::string::npos && i + 1 < argc) rest->push_back(argv[++i]);  // every pull flag takes a value
      continue;
    }
    if (!repo_id.empty()) ThrowInvalidArgument("unexpected argument \"" + arg + "\" (one REPO_ID per pull)");
    repo_id = arg;
  }
  if (repo_id.empty()) {
    ThrowInvalidArgument("usage: mmserve pull REPO_ID --model-repository DIR [--hf-endpoint URL] (REPO_ID: owner/name)");
  }
  return repo_id;
}

}  // namespace

int PullCommand(int argc, char** argv) {
  std::vector<char*> rest;
  const std::string repo_id = TakeRepoId(argc, argv, &rest);
  const Args args(static_cast<int>(rest.size()), rest.data(), 2,
                  {"model-repository", "name", "version", "revision", "hf-endpoint", "include", "retries"});
  if (!ValidRepoId(repo_id)) {
    ThrowInvalidArgument("\"" + repo_id + "\" is not a repository id (owner/name: letters, digits, '-', '_', '.')");
  }
  const std::string repository = args.Required("model-repository");
  const std::string name = args.Get("name", repo_id.substr(repo_id.find('/') + 1));
  if (name.empty() || name[0] == '.' || name.find('/') != std::string::npos) {
    ThrowInvalidArgument("--name \"" + name + "\" is not a model folder name (no '/', not starting with '.')");
  }
  const std::string revision = args.Get("revision", "main");
  if (revision.empty()) ThrowInvalidArgument("--revision must not be empty");
  const int retries = args.GetInt("retries", 3);
  if (retries < 0) ThrowInvalidArgument("--retries must not be negative");
  std::string endpoint = args.Get("hf-endpoint");
  if (endpoint.empty()) {
    const char* env = std::getenv("HF_ENDPOINT");
    if (env) endpoint = env;
  }
  if (endpoint.empty()) {
    ThrowInvalidArgument("no hub address: pass --hf-endpoint URL or set HF_ENDPOINT to the address of the Hugging "
                         "Face hub or of a mirror of it (mmserve has no built-in default)");
  }
  const char* token_env = std::getenv("HF_TOKEN");
  Hub hub(endpoint, token_env ? token_env : "");
  std::optional<int64_t> wanted_version;
  if (args.Has("version")) {
    wanted_version = args.GetInt("version", 0);
    if (*wanted_version < 1) ThrowInvalidArgument("--version must be a positive integer");
  }

  fs::create_directories(repository);
  const PullLock lock(repository + "/." + name + ".pull.lock");
  const std::string model_dir = repository + "/" + name;
  const std::vector<int64_t> versions = runtime::ListVersions(model_dir);
  // A new model is staged whole as a hidden folder, so that no server sees it without a version.
  const bool new_model = !fs::is_directory(model_dir);
  const std::string stage_dir = new_model ? repository + "/." + name + ".partial" : model_dir;

  if (wanted_version && fs::is_directory(model_dir + "/" + std::to_string(*wanted_version))) {
    const std::string folder = model_dir + "/" + std::to_string(*wanted_version);
    Progress(folder + " already exists; nothing to download (remove it, or pick another --version, to pull again)");
    std::printf("%s\n", nlohmann::json({{"repo_id", repo_id}, {"model", name}, {"version", *wanted_version},
                                        {"folder", folder}, {"status", "exists"}})
                            .dump()
                            .c_str());
    return 0;
  }

  Progress("listing " + repo_id + " at " + revision + " from " + endpoint);
  Listing listing;
  for (int attempt = 0;; ++attempt) {
    try {
      listing = ListFiles(hub, repo_id, revision);
      break;
    } catch (const RetryableError& e) {
      if (attempt >= retries) throw Error(ErrorCode::kUnavailable, std::string("listing ") + repo_id + ": " + e.what());
      const int wait_s = std::min(30, 1 << std::min(attempt, 5));
      Progress(std::string(e.what()) + "; retrying in " + std::to_string(wait_s) + " s");
      std::this_thread::sleep_for(std::chrono::seconds(wait_s));
    }
  }
  std::vector<RemoteFile> files = SelectFiles(listing, args.All("include"), repo_id);

  // The version: --version, else a partial download of this same pull to resume, else the next one.
  int64_t version = wanted_version.value_or(versions.empty() ? 1 : versions.back() + 1);
  if (!wanted_version) {
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(stage_dir, ec)) {
      const std::string n = entry.path().filename().string();  // ".N.partial"
      if (n.size() < 10 || n[0] != '.' || n.substr(n.size() - 8) != ".partial") continue;
      const std::string digits = n.substr(1, n.size() - 9);
      if (digits.empty() || digits.size() > 18 || digits.find_first_not_of("0123456789") != std::string::npos) continue;
      const int64_t v = std::stoll(digits);
      const auto state = ReadState(entry.path().string());
      if (v > version && state.value("repo_id", "") == repo_id && state.value("revision", "") == revision) version = v;
    }
  }
  const std::string partial = stage_dir + "/." + std::to_string(version) + ".partial";
  const std::string folder = model_dir + "/" + std::to_string(version);

  const nlohmann::json state = {{"repo_id", repo_id}, {"revision", revision}, {"commit", listing.commit}};
  if (fs::is_directory(partial)) {
    const auto old = ReadState(partial);
    if (old.value("repo_id", "") != repo_id || old.value("commit", "") != listing.commit) {
      Progress(partial + " holds a download of " + old.value("repo_id", std::string("something else")) + " at " +
               old.value("commit", std::string("another commit")) + "; starting over");
      fs::remove_all(partial);
    } else {
      Progress("resuming the download in " + partial);
    }
  }
  fs::create_directories(partial);
  WriteState(partial, state);

  // The commit hash, when the hub gave one, so that every file comes from the same commit
  // even if the branch moves meanwhile.
  Downloader downloader(hub, repo_id, listing.commit.empty() ? revision : listing.commit, retries);
  uint64_t downloaded = 0;
  std::vector<std::string> names;
  for (size_t i = 0; i < files.size(); ++i) {
    downloaded += downloader.Fetch(files[i], partial);
    names.push_back(files[i].name);
    if (files[i].name == "model.safetensors.index.json" && args.All("include").empty()) {
      for (auto& shard : ShardsOf(partial + "/" + files[i].name, listing)) files.push_back(shard);
    }
  }

  // Everything is in place: publish the version in one rename.
  fs::remove(partial + "/" + kStateFile);
  FsyncPath(partial);
  if (new_model) {
    const std::string staged_version = stage_dir + "/" + std::to_string(version);
    fs::remove_all(staged_version);
    fs::rename(partial, staged_version);
    FsyncPath(stage_dir);
    std::error_code ec;
    fs::rename(stage_dir, model_dir, ec);
    if (ec) {  // the model folder appeared meanwhile: move just the version into it
      fs::rename(staged_version, folder);
      fs::remove(stage_dir, ec);
    }
  } else {
    fs::rename(partial, folder);
  }
  FsyncPath(model_dir);
  FsyncPath(repository);
  Progress("pulled " + repo_id + " into " + folder);
  std::printf("%s\n", nlohmann::json({{"repo_id", repo_id},
                                      {"revision", revision},
                                      {"commit", listing.commit},
                                      {"model", name},
                                      {"version", version},
                                      {"folder", folder},
                                      {"files", names},
                                      {"downloaded_bytes", downloaded},
                                      {"status", "pulled"}})
                          .dump()
                          .c_str());
  return 0;
}

}  // namespace mms::cli
