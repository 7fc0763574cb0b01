// Image URLs of chat requests: data URLs, http(s) fetches under the allowlist and the address
// checks, and file:// URLs under the image folder. Names resolve through the tests' own
// resolver, and the only connections made are to servers these tests start on 127.0.0.1:
// every case with another address is refused before connecting.
#include "api/image_source.h"

#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "base/base64.h"
#include "base/error.h"

namespace mms::api {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;

const std::string kWhere = "messages[1].content[2]";
// Stand-in image bytes: the image source only carries them; the decoder judges them later.
const std::string kImage = std::string("\x89PNG\r\n\x1a\n", 8) + "not really a png";

// Runs fn, which must throw mms::Error of `code` whose message starts with kWhere and holds
// every fragment; returns the message.
template <typename Fn>
std::string ExpectRefusal(Fn&& fn, ErrorCode code, const std::vector<std::string>& fragments = {}) {
  try {
    fn();
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_EQ(e.code(), code) << message;
    EXPECT_EQ(message.rfind(kWhere, 0), 0u) << message;
    for (const std::string& f : fragments) EXPECT_NE(message.find(f), std::string::npos) << "no \"" << f << "\" in: " << message;
    return message;
  } catch (const std::exception& e) {
    ADD_FAILURE() << "not an mms::Error: " << e.what();
    return "";
  }
  ADD_FAILURE() << "accepted";
  return "";
}

// Resolves names from a table and records what it was asked; unknown names do not resolve.
struct FakeResolver {
  std::map<std::string, std::vector<std::string>> table;
  std::shared_ptr<std::vector<std::string>> asked = std::make_shared<std::vector<std::string>>();

  HostResolver get() const {
    return [table = table, asked = asked](const std::string& host) {
      asked->push_back(host);
      const auto it = table.find(host);
      return it == table.end() ? std::vector<std::string>{} : it->second;
    };
  }
};

// For cases that must be refused before any name is resolved.
HostResolver NeverResolve() {
  return [](const std::string& host) {
    ADD_FAILURE() << "resolved " << host;
    return std::vector<std::string>{};
  };
}

ImageSourcePolicy RemotePolicy(std::vector<std::string> hosts) {
  ImageSourcePolicy p;
  p.allowed_hosts = std::move(hosts);
  return p;
}

// ---- data: URLs ---------------------------------------------------------------------------

TEST(ImageSourceDataTest, ReturnsTheDecodedBytes) {
  const ImageSource source({}, NeverResolve());
  EXPECT_EQ(source.Fetch("data:image/png;base64," + Base64Encode(kImage), kWhere), kImage);
  EXPECT_EQ(source.Fetch("DATA:image/jpeg;base64," + Base64Encode(kImage), kWhere), kImage);
}

TEST(ImageSourceDataTest, OverTheCapIsTooLarge) {
  ImageSourcePolicy policy;
  policy.max_bytes = 100;
  const ImageSource source(policy, NeverResolve());
  EXPECT_EQ(source.Fetch("data:image/png;base64," + Base64Encode(std::string(100, 'x')), kWhere).size(), 100u);
  ExpectRefusal([&] { source.Fetch("data:image/png;base64," + Base64Encode(std::string(101, 'x')), kWhere); },
                ErrorCode::kTooLarge, {"101 bytes", "limit is 100"});
  // Far over: refused by its length, before decoding.
  ExpectRefusal([&] { source.Fetch("data:image/png;base64," + std::string(100000, 'A'), kWhere); },
                ErrorCode::kTooLarge, {"limit of 100 bytes"});
}

TEST(ImageSourceDataTest, MalformedDataUrlsAreRefused) {
  const ImageSource source({}, NeverResolve());
  ExpectRefusal([&] { source.Fetch("data:image/png;base64,not base64!", kWhere); }, ErrorCode::kInvalidArgument,
                {"base64"});
  ExpectRefusal([&] { source.Fetch("data:text/html;base64,PGI+", kWhere); }, ErrorCode::kInvalidArgument,
                {"image/"});
  ExpectRefusal([&] { source.Fetch("data:image/png,rawbytes", kWhere); }, ErrorCode::kInvalidArgument,
                {"base64"});
}

// ---- what is not a URL of an accepted kind -------------------------------------------------

TEST(ImageSourceSchemeTest, PlainPathsAndOtherSchemesListTheAcceptedForms) {
  const ImageSource off({}, NeverResolve());
  for (const std::string& url : std::vector<std::string>{"/etc/passwd", "cat.png", "", "ftp://a.test/cat.png", "gopher://a.test/",
                                "C:\\images\\cat.png", "javascript:alert(1)", "iVBORw0KGgo="}) {
    const std::string m = ExpectRefusal([&] { off.Fetch(url, kWhere); }, ErrorCode::kInvalidArgument, {"data:image/png;base64"});
    EXPECT_EQ(m.find("http"), std::string::npos) << m;  // not offered when off
  }
  ImageSourcePolicy on = RemotePolicy({"a.test"});
  on.local_folder = fs::temp_directory_path().string();
  const ImageSource all(on, NeverResolve());
  ExpectRefusal([&] { all.Fetch("/etc/passwd", kWhere); }, ErrorCode::kInvalidArgument,
                {"no URL scheme", "data URL", "http:// or https://", "file://"});
  ExpectRefusal([&] { all.Fetch("ftp://a.test/x", kWhere); }, ErrorCode::kInvalidArgument, {"\"ftp\""});
}

// ---- http(s): refusals before any connection -----------------------------------------------

TEST(ImageSourceRemoteTest, OffWithoutAnAllowlist) {
  const ImageSource source({}, NeverResolve());
  for (const char* url : {"http://a.test/cat.png", "HTTPS://a.test/cat.png"}) {
    ExpectRefusal([&] { source.Fetch(url, kWhere); }, ErrorCode::kInvalidArgument,
                  {"not fetched", "--image-url-allowed-hosts", "data:image/png;base64"});
  }
}

TEST(ImageSourceRemoteTest, HostsOutsideTheAllowlistAreRefused) {
  const ImageSource source(RemotePolicy({"images.test", "*.cdn.test"}), NeverResolve());
  for (const char* url : {"http://evil.test/cat.png", "https://images.test.evil.test/", "http://cdn.test/x.png",
                          "http://evilcdn.test/x.png", "http://images.test.evil/", "http://203.0.113.7/x.png"}) {
    ExpectRefusal([&] { source.Fetch(url, kWhere); }, ErrorCode::kInvalidArgument,
                  {"is not one the server may fetch images from"});
  }
  ExpectRefusal([&] { source.Fetch("http://evil.test/", kWhere); }, ErrorCode::kInvalidArgument, {"\"evil.test\""});
}

TEST(ImageSourceRemoteTest, AllowlistMatchesExactNamesAndSuffixesCaseInsensitively) {
  // Allowed names get as far as the address check (their addresses here are private).
  FakeResolver r;
  for (const char* host : {"images.test", "a.cdn.test", "b.a.cdn.test"}) r.table[host] = {"10.0.0.1"};
  const ImageSource source(RemotePolicy({"Images.Test", "*.CDN.test"}), r.get());
  for (const char* url : {"http://images.test/x.png", "http://IMAGES.test./x.png", "https://a.cdn.test/x.png",
                          "http://b.a.cdn.test:8080/x.png"}) {
    ExpectRefusal([&] { source.Fetch(url, kWhere); }, ErrorCode::kInvalidArgument, {"10.0.0.1 (private)"});
  }
  EXPECT_EQ(r.asked->size(), 4u);
}

TEST(ImageSourceRemoteTest, NonPublicAddressesAreRefused) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"169.254.169.254", "link-local"},   // cloud metadata
      {"127.0.0.1", "loopback"},           {"127.8.9.10", "loopback"},
      {"::1", "loopback"},                 {"0.0.0.0", "unspecified"},
      {"::", "unspecified"},               {"10.1.2.3", "private"},
      {"172.16.0.1", "private"},           {"172.31.255.255", "private"},
      {"192.168.1.1", "private"},          {"100.64.0.1", "CGNAT"},
      {"100.127.255.254", "CGNAT"},        {"fc00::1", "unique local"},
      {"fd12:3456::1", "unique local"},    {"fe80::1", "link-local"},
      {"::ffff:127.0.0.1", "IPv4-mapped loopback"},
      {"::ffff:169.254.169.254", "IPv4-mapped link-local"},
      {"::ffff:10.0.0.1", "IPv4-mapped private"},
      {"64:ff9b::a9fe:a9fe", "NAT64 of link-local"},
      {"2002:7f00:1::", "6to4 of loopback"},
      {"224.0.0.1", "multicast"},          {"ff02::1", "multicast"},
      {"255.255.255.255", "broadcast"},    {"240.0.0.1", "reserved"},
      {"192.0.0.8", "reserved"},           {"198.18.0.1", "benchmarking"},
      {"192.0.2.1", "documentation"},      {"2001:db8::1", "documentation"},
  };
  for (const auto& [address, reason] : cases) {
    FakeResolver r;
    r.table["evil.test"] = {address};
    const ImageSource source(RemotePolicy({"evil.test"}), r.get());
    ExpectRefusal([&] { source.Fetch("http://evil.test/cat.png", kWhere); }, ErrorCode::kInvalidArgument,
                  {"\"evil.test\"", address + " (", reason});
    EXPECT_EQ(NonPublicAddressReason(address).find(reason) != std::string::npos, true) << address;
  }
}

TEST(ImageSourceRemoteTest, OneNonPublicAddressAmongPublicOnesRefusesTheName) {
  FakeResolver r;
  r.table["mixed.test"] = {"203.0.113.7", "10.1.2.3", "2001:db8::7"};
  const ImageSource source(RemotePolicy({"mixed.test"}), r.get());
  ExpectRefusal([&] { source.Fetch("https://mixed.test/cat.png", kWhere); }, ErrorCode::kInvalidArgument,
                {"10.1.2.3 (private)"});
}

TEST(ImageSourceRemoteTest, IpAddressHostsGetTheSameChecks) {
  const ImageSource source(RemotePolicy({"*"}), NeverResolve());
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"http://127.0.0.1/x.png", "loopback"},
      {"http://169.254.169.254/latest/meta-data/", "link-local"},
      {"http://[::1]:8080/x.png", "loopback"},
      {"http://[::ffff:127.0.0.1]/x.png", "IPv4-mapped loopback"},
      {"http://[::FFFF:7f00:1]/x.png", "IPv4-mapped loopback"},
      {"http://[fe80::1]/x.png", "link-local"},
      {"http://10.0.0.1./x.png", "private"},
      {"http://0.0.0.0:80/", "unspecified"},
  };
  for (const auto& c : cases) {
    ExpectRefusal([&] { source.Fetch(c.first, kWhere); }, ErrorCode::kInvalidArgument, {c.second});
  }
}

TEST(ImageSourceRemoteTest, NumericHostsOtherThanDottedQuadsAreRefused) {
  // Each of these is 127.0.0.1 (or another address) to inet_aton and to browsers' URL parsers.
  const ImageSource source(RemotePolicy({"*"}), NeverResolve());
  for (const char* url : {"http://2130706433/", "http://0x7f000001/", "http://0x7F.0.0.1/", "http://0177.0.0.1/",
                          "http://127.1/", "http://127.0.0.01/", "http://1.2.3.4.5/", "http://256.1.1.1/",
                          "http://a.b.0x10/", "http://evil.test.127/"}) {
    ExpectRefusal([&] { source.Fetch(url, kWhere); }, ErrorCode::kInvalidArgument, {"dotted-quad"});
  }
}

TEST(ImageSourceRemoteTest, CredentialsInUrlsAreRefused) {
  const ImageSource source(RemotePolicy({"*"}), NeverResolve());
  for (const char* url : {"http://user:pass@a.test/x.png", "https://user@a.test/x.png", "http://a.test@evil.test/",
                          "http://a.test:80@evil.test/"}) {
    ExpectRefusal([&] { source.Fetch(url, kWhere); }, ErrorCode::kInvalidArgument, {"user name or password"});
  }
}

TEST(ImageSourceRemoteTest, MalformedUrlsAreRefused) {
  const ImageSource source(RemotePolicy({"*"}), NeverResolve());
  for (const std::string& url : std::vector<std::string>
       {"http://", "http:///x.png", "http:a.test/x.png", "http://a.test:99999/", "http://a.test:0/", "http://a.test:8x/",
        "http://[::1/", "http://[::1]x/", "http://[fe80::1%25eth0]/", "http://[1.2.3.4]/", "http://a b.test/",
        "http://a..test/", "http://.a.test/", "http://a.test\\@evil.test/", "http://\xc3\xa9.test/",
        "http://a.test/x\r\nX-Injected: 1", std::string("http://a.test/x\0y", 17), "http://a%2etest/",
        "http://" + std::string(300, 'a') + ".test/", "http://a.test/" + std::string(9000, 'x')}) {
    ExpectRefusal([&] { source.Fetch(url, kWhere); }, ErrorCode::kInvalidArgument);
  }
}

TEST(ImageSourceRemoteTest, NamesThatDoNotResolveAreRefused) {
  FakeResolver r;
  r.table["junk.test"] = {"not-an-address"};
  const ImageSource source(RemotePolicy({"*.test"}), r.get());
  ExpectRefusal([&] { source.Fetch("http://nowhere.test/x.png", kWhere); }, ErrorCode::kInvalidArgument,
                {"does not resolve"});
  ExpectRefusal([&] { source.Fetch("http://junk.test/x.png", kWhere); }, ErrorCode::kInvalidArgument,
                {"not an IP address"});
}

TEST(ImageSourceRemoteTest, MalformedPolicyIsRefusedAtConstruction) {
  for (const char* entry : {"", "a b.test", "2130706433", "*.1.2.3.4", "a.test:8080", "*.", "http://a.test"}) {
    EXPECT_THROW(ImageSource(RemotePolicy({entry}), NeverResolve()), Error) << entry;
  }
  EXPECT_NO_THROW(ImageSource(RemotePolicy({"*", "*.a.test", "b.test", "192.0.2.1", "[2001:DB8::1]"}), NeverResolve()));
  ImageSourcePolicy p;
  p.local_folder = "/nonexistent/mms-image-folder";
  EXPECT_THROW(ImageSource(p, NeverResolve()), Error);
}

TEST(ImageSourceAddressTest, ClassifiesAddresses) {
  for (const char* address : {"8.8.8.8", "1.1.1.1", "93.184.216.34", "100.128.0.1", "172.32.0.1", "192.169.0.1",
                              "2606:4700:4700::1111", "2a00:1450:4001::1", "::ffff:8.8.8.8", "64:ff9b::808:808",
                              "2002:808:808::1"}) {
    EXPECT_EQ(NonPublicAddressReason(address), "") << address;
  }
  for (const char* text : {"example.com", "127.1", "0177.0.0.1", "2130706433", "", "1.2.3.4 ", "::1%lo"}) {
    EXPECT_EQ(NonPublicAddressReason(text), "not an IP address") << text;
  }
  EXPECT_NE(NonPublicAddressReason("::127.0.0.1"), "");  // IPv4-compatible
  EXPECT_NE(NonPublicAddressReason("100::1"), "");       // discard-only
  EXPECT_NE(NonPublicAddressReason("2001::1"), "");      // Teredo
  EXPECT_NE(NonPublicAddressReason("fec0::1"), "");      // site-local
  EXPECT_NE(NonPublicAddressReason("4000::1"), "");      // outside 2000::/3
}

// ---- http: against servers on 127.0.0.1 ----------------------------------------------------

// A server that answers each connection with whatever `handler` writes to the socket (to
// misbehave in ways httplib's server will not: lie about lengths, drip, stall).
class RawServer {
 public:
  using Handler = std::function<void(int fd, const std::atomic<bool>& stopping)>;

  explicit RawServer(Handler handler) : handler_(std::move(handler)) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 || ::listen(listen_fd_, 16) != 0 ||
        ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      ADD_FAILURE() << "cannot listen on 127.0.0.1";
    }
    port_ = ntohs(addr.sin_port);
    accept_thread_ = std::thread([this] {
      while (!stopping_) {
        pollfd p{listen_fd_, POLLIN, 0};
        if (::poll(&p, 1, 20) <= 0) continue;
        const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (fd < 0) continue;
        std::lock_guard<std::mutex> lock(mutex_);
        connections_.emplace_back([this, fd] {
          handler_(fd, stopping_);
          ::close(fd);
        });
      }
    });
  }
  ~RawServer() {
    stopping_ = true;
    accept_thread_.join();
    for (auto& t : connections_) t.join();
    ::close(listen_fd_);
  }
  int port() const { return port_; }

  // Reads the request head; false when the client went away first.
  static bool ReadRequest(int fd) {
    std::string head;
    char c;
    while (head.size() < 65536 && ::recv(fd, &c, 1, 0) == 1) {
      head += c;
      if (head.size() >= 4 && head.compare(head.size() - 4, 4, "\r\n\r\n") == 0) return true;
    }
    return false;
  }
  static bool Send(int fd, const std::string& bytes) {
    return ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(bytes.size());
  }
  // Sleeps in small steps until the test ends or the client hangs up.
  static void WaitForHangUp(int fd, const std::atomic<bool>& stopping) {
    while (!stopping) {
      pollfd p{fd, POLLIN | POLLRDHUP, 0};
      if (::poll(&p, 1, 10) > 0) {
        char c;
        if (::recv(fd, &c, 1, MSG_DONTWAIT) <= 0) return;
      }
    }
  }

 private:
  Handler handler_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::mutex mutex_;
  std::vector<std::thread> connections_;
  std::thread accept_thread_;
};

class ImageSourceHttpTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_.Get("/cat.png", [this](const httplib::Request& req, httplib::Response& res) {
      std::lock_guard<std::mutex> lock(mutex_);
      hosts_seen_.push_back(req.get_header_value("Host"));
      host_headers_ = req.get_header_value_count("Host");
      res.set_content(kImage, "image/png");
    });
    server_.Get("/with space.png", [](const httplib::Request&, httplib::Response& res) {
      res.set_content(kImage, "image/png");
    });
    server_.Get("/big.png", [](const httplib::Request&, httplib::Response& res) {
      res.set_content(std::string(5000, 'x'), "image/png");
    });
    server_.Get("/chunked.png", [](const httplib::Request&, httplib::Response& res) {
      res.set_chunked_content_provider("image/png", [](size_t offset, httplib::DataSink& sink) {
        if (offset >= 1 << 20) {
          sink.done();
          return true;
        }
        const std::string chunk(500, 'x');
        return sink.write(chunk.data(), chunk.size());
      });
    });
    server_.Get("/missing.png", [](const httplib::Request&, httplib::Response& res) {
      res.status = 404;
      res.set_content("secret body text", "text/plain");
    });
    server_.Get("/error.png", [](const httplib::Request&, httplib::Response& res) {
      res.status = 500;
      res.set_content("stack trace here", "text/plain");
    });
    server_.Get("/to-cat", [](const httplib::Request&, httplib::Response& res) { res.set_redirect("/cat.png", 302); });
    server_.Get("/dir/to-sibling", [](const httplib::Request&, httplib::Response& res) {
      res.set_redirect("sibling.png", 301);
    });
    server_.Get("/dir/sibling.png", [](const httplib::Request&, httplib::Response& res) {
      res.set_content(kImage, "image/png");
    });
    server_.Get("/to-second", [this](const httplib::Request&, httplib::Response& res) {
      res.set_redirect("http://second.test:" + std::to_string(port_) + "/cat.png", 307);
    });
    server_.Get("/to-other", [this](const httplib::Request&, httplib::Response& res) {
      res.set_redirect("http://other.test:" + std::to_string(port_) + "/cat.png", 302);
    });
    server_.Get("/to-file", [](const httplib::Request&, httplib::Response& res) {
      res.set_redirect("file:///etc/passwd", 302);
    });
    server_.Get("/to-data", [](const httplib::Request&, httplib::Response& res) {
      res.set_redirect("data:image/png;base64,iVBORw0KGgo=", 302);
    });
    server_.Get("/loop", [this](const httplib::Request&, httplib::Response& res) {
      ++loop_hits_;
      res.set_redirect("/loop", 302);
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    ASSERT_GT(port_, 0);
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::sleep_for(milliseconds(1));
    resolver_.table = {{"localhost", {"127.0.0.1"}},
                       {"pinned.test", {"127.0.0.1"}},
                       {"second.test", {"127.0.0.1"}},
                       {"other.test", {"127.0.0.1"}}};
  }
  void TearDown() override {
    server_.stop();
    thread_.join();
  }

  ImageSourcePolicy LocalPolicy(std::vector<std::string> hosts = {"localhost", "pinned.test"}) const {
    ImageSourcePolicy p = RemotePolicy(std::move(hosts));
    p.allow_private_addresses = true;
    p.max_bytes = 1000;
    p.timeout = milliseconds(2000);
    return p;
  }
  std::string Url(const std::string& host, const std::string& path) const {
    return "http://" + host + ":" + std::to_string(port_) + path;
  }

  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;
  FakeResolver resolver_;
  std::mutex mutex_;
  std::vector<std::string> hosts_seen_;
  size_t host_headers_ = 0;
  std::atomic<int> loop_hits_{0};
};

TEST_F(ImageSourceHttpTest, FetchesTheImage) {
  const ImageSource source(LocalPolicy(), resolver_.get());
  EXPECT_EQ(source.Fetch(Url("localhost", "/cat.png"), kWhere), kImage);
  EXPECT_EQ(source.Fetch(Url("localhost", "/cat.png?size=small#fragment"), kWhere), kImage);
  EXPECT_EQ(source.Fetch(Url("localhost", "/with space.png"), kWhere), kImage);
  EXPECT_EQ(source.Fetch(Url("localhost", "/with%20space.png"), kWhere), kImage);
}

// The name is resolved once, by the resolver, and the connection goes to that address: the
// name pinned.test exists nowhere else (.test is reserved), and the server still sees it as
// the Host.
TEST_F(ImageSourceHttpTest, ConnectsToTheCheckedAddressWithTheOriginalHost) {
  const ImageSource source(LocalPolicy(), resolver_.get());
  EXPECT_EQ(source.Fetch(Url("pinned.test", "/cat.png"), kWhere), kImage);
  EXPECT_EQ(*resolver_.asked, std::vector<std::string>{"pinned.test"});
  std::lock_guard<std::mutex> lock(mutex_);
  ASSERT_EQ(hosts_seen_.size(), 1u);
  EXPECT_EQ(hosts_seen_[0], "pinned.test:" + std::to_string(port_));
  EXPECT_EQ(host_headers_, 1u);
}

TEST_F(ImageSourceHttpTest, PrivateAddressesNeedThePolicysConsent) {
  ImageSourcePolicy policy = LocalPolicy();
  policy.allow_private_addresses = false;
  const ImageSource source(policy, resolver_.get());
  ExpectRefusal([&] { source.Fetch(Url("localhost", "/cat.png"), kWhere); }, ErrorCode::kInvalidArgument,
                {"127.0.0.1 (loopback)"});
  std::lock_guard<std::mutex> lock(mutex_);
  EXPECT_TRUE(hosts_seen_.empty());
}

TEST_F(ImageSourceHttpTest, BodiesOverTheCapAreTooLarge) {
  const ImageSource source(LocalPolicy(), resolver_.get());
  ExpectRefusal([&] { source.Fetch(Url("localhost", "/big.png"), kWhere); }, ErrorCode::kTooLarge,
                {"limit of 1000 bytes", "Content-Length: 5000"});
  // No Content-Length (chunked): the body is cut off at the cap.
  ExpectRefusal([&] { source.Fetch(Url("localhost", "/chunked.png"), kWhere); }, ErrorCode::kTooLarge,
                {"limit of 1000 bytes"});
}

TEST_F(ImageSourceHttpTest, ErrorStatusesAreRefusedWithoutTheirBodies) {
  const ImageSource source(LocalPolicy(), resolver_.get());
  std::string m = ExpectRefusal([&] { source.Fetch(Url("localhost", "/missing.png"), kWhere); },
                                ErrorCode::kInvalidArgument, {"HTTP status 404"});
  EXPECT_EQ(m.find("secret"), std::string::npos) << m;
  m = ExpectRefusal([&] { source.Fetch(Url("localhost", "/error.png"), kWhere); }, ErrorCode::kInvalidArgument,
                    {"HTTP status 500"});
  EXPECT_EQ(m.find("stack trace"), std::string::npos) << m;
}

TEST_F(ImageSourceHttpTest, FollowsRedirectsCheckingEveryHop) {
  const ImageSource source(LocalPolicy({"localhost", "second.test"}), resolver_.get());
  EXPECT_EQ(source.Fetch(Url("localhost", "/to-cat"), kWhere), kImage);
  EXPECT_EQ(source.Fetch(Url("localhost", "/dir/to-sibling"), kWhere), kImage);
  EXPECT_EQ(source.Fetch(Url("localhost", "/to-second"), kWhere), kImage);
  EXPECT_NE(std::find(resolver_.asked->begin(), resolver_.asked->end(), "second.test"), resolver_.asked->end());
  std::lock_guard<std::mutex> lock(mutex_);
  EXPECT_EQ(hosts_seen_.back(), "second.test:" + std::to_string(port_));
}

TEST_F(ImageSourceHttpTest, RedirectsToHostsOutsideTheAllowlistAreRefused) {
  const ImageSource source(LocalPolicy(), resolver_.get());
  ExpectRefusal([&] { source.Fetch(Url("localhost", "/to-other"), kWhere); }, ErrorCode::kInvalidArgument,
                {"redirected", "\"other.test\"", "is not one the server may fetch images from"});
  std::lock_guard<std::mutex> lock(mutex_);
  EXPECT_TRUE(hosts_seen_.empty());
}

TEST_F(ImageSourceHttpTest, RedirectsToOtherSchemesAreRefused) {
  ImageSourcePolicy policy = LocalPolicy();
  policy.local_folder = "/";
  const ImageSource source(policy, resolver_.get());
  ExpectRefusal([&] { source.Fetch(Url("localhost", "/to-file"), kWhere); }, ErrorCode::kInvalidArgument,
                {"is not an http:// or https:// URL"});
  ExpectRefusal([&] { source.Fetch(Url("localhost", "/to-data"), kWhere); }, ErrorCode::kInvalidArgument,
                {"is not an http:// or https:// URL"});
}

TEST_F(ImageSourceHttpTest, RedirectLoopsStopAtTheLimit) {
  const ImageSource source(LocalPolicy(), resolver_.get());
  ExpectRefusal([&] { source.Fetch(Url("localhost", "/loop"), kWhere); }, ErrorCode::kInvalidArgument,
                {"redirects more than 3 times"});
  EXPECT_EQ(loop_hits_.load(), 4);
  ImageSourcePolicy none = LocalPolicy();
  none.max_redirects = 0;
  ExpectRefusal([&] { ImageSource(none, resolver_.get()).Fetch(Url("localhost", "/to-cat"), kWhere); },
                ErrorCode::kInvalidArgument, {"redirects more than 0 times"});
}

TEST(ImageSourceRawHttpTest, ContentLengthBoundsWhatIsRead) {
  // Fewer bytes declared than sent: only the declared ones are taken.
  RawServer lying_short([](int fd, const std::atomic<bool>&) {
    if (RawServer::ReadRequest(fd)) {
      RawServer::Send(fd, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\nConnection: close\r\n\r\n" + std::string(100000, 'x'));
    }
  });
  // No length, no chunking: read until the cap.
  RawServer no_length([](int fd, const std::atomic<bool>&) {
    if (RawServer::ReadRequest(fd)) {
      RawServer::Send(fd, "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n" + std::string(100000, 'x'));
    }
  });
  // More declared than sent: the connection closes early.
  RawServer lying_long([](int fd, const std::atomic<bool>&) {
    if (RawServer::ReadRequest(fd)) RawServer::Send(fd, "HTTP/1.1 200 OK\r\nContent-Length: 500\r\n\r\nshort");
  });
  ImageSourcePolicy policy = RemotePolicy({"127.0.0.1"});
  policy.allow_private_addresses = true;
  policy.max_bytes = 1000;
  const ImageSource source(policy, NeverResolve());
  const auto url = [](const RawServer& s) { return "http://127.0.0.1:" + std::to_string(s.port()) + "/x.png"; };
  EXPECT_EQ(source.Fetch(url(lying_short), kWhere), std::string(10, 'x'));
  ExpectRefusal([&] { source.Fetch(url(no_length), kWhere); }, ErrorCode::kTooLarge, {"limit of 1000 bytes"});
  ExpectRefusal([&] { source.Fetch(url(lying_long), kWhere); }, ErrorCode::kInvalidArgument, {"failed"});
}

TEST(ImageSourceRawHttpTest, TheTimeoutCoversTheWholeFetch) {
  // Accepts and never answers.
  RawServer silent([](int fd, const std::atomic<bool>& stopping) {
    RawServer::ReadRequest(fd);
    RawServer::WaitForHangUp(fd, stopping);
  });
  // Answers one byte every 20 ms: no single read waits long, the whole takes forever.
  RawServer dripping([](int fd, const std::atomic<bool>& stopping) {
    if (!RawServer::ReadRequest(fd)) return;
    if (!RawServer::Send(fd, "HTTP/1.1 200 OK\r\nContent-Length: 900\r\n\r\n")) return;
    for (int i = 0; i < 900 && !stopping; ++i) {
      if (!RawServer::Send(fd, "x")) return;
      std::this_thread::sleep_for(milliseconds(20));
    }
  });
  // The same with the header lines.
  RawServer slow_head([](int fd, const std::atomic<bool>& stopping) {
    if (!RawServer::ReadRequest(fd)) return;
    const std::string head = "HTTP/1.1 200 OK\r\n" + std::string(200, 'X') + ": y\r\nContent-Length: 1\r\n\r\nx";
    for (char c : head) {
      if (stopping || !RawServer::Send(fd, std::string(1, c))) return;
      std::this_thread::sleep_for(milliseconds(20));
    }
  });
  ImageSourcePolicy policy = RemotePolicy({"127.0.0.1"});
  policy.allow_private_addresses = true;
  policy.timeout = milliseconds(300);
  const ImageSource source(policy, NeverResolve());
  for (const RawServer* server : {&silent, &dripping, &slow_head}) {
    const auto start = std::chrono::steady_clock::now();
    ExpectRefusal([&] { source.Fetch("http://127.0.0.1:" + std::to_string(server->port()) + "/x.png", kWhere); },
                  ErrorCode::kInvalidArgument, {"timed out", "300 ms"});
    const auto took = std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() - start);
    EXPECT_GE(took.count(), 250);
    EXPECT_LT(took.count(), 1500);
  }
}

TEST(ImageSourceRawHttpTest, ConnectionRefusedIsAClientError) {
  // A port nobody listens on: bound, never listened.
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  ImageSourcePolicy policy = RemotePolicy({"localhost"});
  policy.allow_private_addresses = true;
  FakeResolver r;
  r.table["localhost"] = {"127.0.0.1"};
  const ImageSource source(policy, r.get());
  ExpectRefusal([&] { source.Fetch("http://localhost:" + std::to_string(ntohs(addr.sin_port)) + "/x.png", kWhere); },
                ErrorCode::kInvalidArgument, {"could not connect", "127.0.0.1"});
  ::close(fd);
}

// ---- https ---------------------------------------------------------------------------------

class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    value ? ::setenv(name, value, 1) : ::unsetenv(name);
  }
  ~ScopedEnv() { old_ ? ::setenv(name_, old_->c_str(), 1) : ::unsetenv(name_); }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

// A temporary folder, removed with everything in it.
class TempFolder {
 public:
  TempFolder() {
    std::string t = (fs::temp_directory_path() / "mms_image_source_XXXXXX").string();
    if (!::mkdtemp(t.data())) ADD_FAILURE() << "mkdtemp failed";
    path_ = fs::canonical(t).string();
  }
  ~TempFolder() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }
  std::string Write(const std::string& relative, const std::string& bytes) const {
    const fs::path p = fs::path(path_) / relative;
    fs::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << bytes;
    return p.string();
  }

 private:
  std::string path_;
};

// An https server on 127.0.0.1 whose self-signed certificate names pinned.test; clients trust
// it only when SSL_CERT_FILE names it.
class ImageSourceHttpsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    cert_ = folder_.path() + "/cert.pem";
    const std::string key = folder_.path() + "/key.pem";
    const std::string cmd = "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=pinned.test "
                            "-addext subjectAltName=DNS:pinned.test -keyout " + key + " -out " + cert_ + " 2>/dev/null";
    if (std::system(cmd.c_str()) != 0) GTEST_SKIP() << "the openssl tool could not make a certificate";
    server_ = std::make_unique<httplib::SSLServer>(cert_.c_str(), key.c_str());
    server_->Get("/cat.png", [](const httplib::Request&, httplib::Response& res) { res.set_content(kImage, "image/png"); });
    server_->Get("/down", [this](const httplib::Request&, httplib::Response& res) {
      res.set_redirect("http://pinned.test:" + std::to_string(port_) + "/cat.png", 302);
    });
    port_ = server_->bind_to_any_port("127.0.0.1");
    ASSERT_GT(port_, 0);
    thread_ = std::thread([this] { server_->listen_after_bind(); });
    while (!server_->is_running()) std::this_thread::sleep_for(milliseconds(1));
    resolver_.table = {{"pinned.test", {"127.0.0.1"}}, {"other.test", {"127.0.0.1"}}};
  }
  void TearDown() override {
    if (server_) {
      server_->stop();
      thread_.join();
    }
  }
  ImageSource Source() const {
    ImageSourcePolicy p = RemotePolicy({"pinned.test", "other.test"});
    p.allow_private_addresses = true;
    p.timeout = milliseconds(5000);
    return ImageSource(p, resolver_.get());
  }
  std::string Url(const std::string& host, const std::string& path) const {
    return "https://" + host + ":" + std::to_string(port_) + path;
  }

  TempFolder folder_;
  std::string cert_;
  std::unique_ptr<httplib::SSLServer> server_;
  std::thread thread_;
  int port_ = 0;
  FakeResolver resolver_;
};

TEST_F(ImageSourceHttpsTest, VerifiesTheCertificateAgainstTheHostName) {
  {
    const ScopedEnv ca("SSL_CERT_FILE", cert_.c_str());
    EXPECT_EQ(Source().Fetch(Url("pinned.test", "/cat.png"), kWhere), kImage);
    // The same server and certificate, reached under a name the certificate does not carry.
    ExpectRefusal([&] { Source().Fetch(Url("other.test", "/cat.png"), kWhere); }, ErrorCode::kInvalidArgument,
                  {"certificate of other.test could not be verified"});
    ExpectRefusal([&] { Source().Fetch(Url("pinned.test", "/down"), kWhere); }, ErrorCode::kInvalidArgument,
                  {"from https to http"});
  }
  const ScopedEnv no_ca("SSL_CERT_FILE", nullptr);
  ExpectRefusal([&] { Source().Fetch(Url("pinned.test", "/cat.png"), kWhere); }, ErrorCode::kInvalidArgument,
                {"certificate of pinned.test could not be verified"});
}

// ---- file:// -------------------------------------------------------------------------------

class ImageSourceFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    images_ = folder_.path() + "/images";
    folder_.Write("images/cat.png", kImage);
    folder_.Write("images/a b.png", kImage);
    folder_.Write("images/sub/dog.png", kImage + "dog");
    folder_.Write("images/big.png", std::string(2000, 'x'));
    folder_.Write("secret.txt", "TOPSECRET");
    fs::create_directory_symlink(folder_.path(), images_ + "/up");          // a folder link out
    fs::create_symlink("../secret.txt", images_ + "/escape.png");             // a file link out
    fs::create_symlink(folder_.path() + "/secret.txt", images_ + "/abs.png");  // the same, absolute
    fs::create_symlink("sub/dog.png", images_ + "/inner.png");                // a link that stays inside
    ASSERT_EQ(::mkfifo((images_ + "/fifo.png").c_str(), 0600), 0);
  }
  ImageSource Source(const std::string& folder = "") const {
    ImageSourcePolicy p;
    p.local_folder = folder.empty() ? images_ : folder;
    p.max_bytes = 1000;
    return ImageSource(p, NeverResolve());
  }
  std::string Url(const std::string& relative) const { return "file://" + images_ + "/" + relative; }

  TempFolder folder_;
  std::string images_;
};

TEST_F(ImageSourceFileTest, ReadsFilesInsideTheFolder) {
  const ImageSource source = Source();
  EXPECT_EQ(source.Fetch(Url("cat.png"), kWhere), kImage);
  EXPECT_EQ(source.Fetch("file://localhost" + images_ + "/cat.png", kWhere), kImage);
  EXPECT_EQ(source.Fetch("FILE://" + images_ + "/cat.png", kWhere), kImage);
  EXPECT_EQ(source.Fetch(Url("a%20b.png"), kWhere), kImage);
  EXPECT_EQ(source.Fetch(Url("sub/dog.png"), kWhere), kImage + "dog");
  EXPECT_EQ(source.Fetch(Url("inner.png"), kWhere), kImage + "dog");
  // The folder given with a trailing slash, or through a link to it.
  EXPECT_EQ(Source(images_ + "/").Fetch(Url("cat.png"), kWhere), kImage);
  fs::create_directory_symlink(images_, folder_.path() + "/alias");
  EXPECT_EQ(Source(folder_.path() + "/alias").Fetch(Url("cat.png"), kWhere), kImage);
  EXPECT_EQ(Source(folder_.path() + "/alias").Fetch("file://" + folder_.path() + "/alias/cat.png", kWhere), kImage);
}

TEST_F(ImageSourceFileTest, LinksOutOfTheFolderAreRefused) {
  const ImageSource source = Source();
  for (const char* name : {"escape.png", "abs.png", "up/secret.txt", "up/images/escape.png"}) {
    const std::string m = ExpectRefusal([&] { source.Fetch(Url(name), kWhere); }, ErrorCode::kInvalidArgument,
                                        {"outside the server's image folder"});
    EXPECT_EQ(m.find("TOPSECRET"), std::string::npos) << m;
  }
}

TEST_F(ImageSourceFileTest, PathsOutsideTheFolderAreRefusedUnread) {
  const ImageSource source = Source();
  for (const std::string& url : std::vector<std::string>{"file:///etc/passwd", "file://" + folder_.path() + "/secret.txt",
                                "file://" + images_ + "-other/cat.png", "file://" + images_,
                                "file://" + images_ + "/", "file:///nonexistent/x.png"}) {
    ExpectRefusal([&] { source.Fetch(url, kWhere); }, ErrorCode::kInvalidArgument, {"outside the server's image folder"});
  }
  for (const std::string& url : std::vector<std::string>{Url("../secret.txt"), Url("%2e%2e/secret.txt"), Url("sub/../cat.png"), Url("./cat.png")}) {
    ExpectRefusal([&] { source.Fetch(url, kWhere); }, ErrorCode::kInvalidArgument, {"'..'"});
  }
}

TEST_F(ImageSourceFileTest, OnlyRegularFilesWithinTheCap) {
  const ImageSource source = Source();
  ExpectRefusal([&] { source.Fetch(Url("nothing.png"), kWhere); }, ErrorCode::kInvalidArgument, {"does not exist"});
  ExpectRefusal([&] { source.Fetch(Url("sub"), kWhere); }, ErrorCode::kInvalidArgument, {"not a regular file"});
  ExpectRefusal([&] { source.Fetch(Url("fifo.png"), kWhere); }, ErrorCode::kInvalidArgument, {"not a regular file"});
  ExpectRefusal([&] { source.Fetch(Url("big.png"), kWhere); }, ErrorCode::kTooLarge, {"2000 bytes", "limit is 1000"});
}

TEST_F(ImageSourceFileTest, MalformedOrUnconfiguredFileUrlsAreRefused) {
  const ImageSource source = Source();
  for (const std::string& url : std::vector<std::string>{"file://evil.test" + images_ + "/cat.png", "file:" + images_ + "/cat.png",
                                "file://", Url("cat%2.png"), Url("cat%00.png"), Url("cat\n.png")}) {
    ExpectRefusal([&] { source.Fetch(url, kWhere); }, ErrorCode::kInvalidArgument);
  }
  const ImageSource off({}, NeverResolve());
  ExpectRefusal([&] { off.Fetch(Url("cat.png"), kWhere); }, ErrorCode::kInvalidArgument, {"file:// image URLs are not read"});
}

}  // namespace
}  // namespace mms::api
