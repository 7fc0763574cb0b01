// `mmserve pull` against a fake hub on loopback: an httplib::Server that answers the hub's
// file-list API and serves the tiny CLIP checkpoint under /{repo}/resolve/{revision}/{file}
// (Range requests answered with 206), with its LFS file redirected to a second server on
// another port, as the hub sends LFS downloads to a storage host. Switches make it break a
// download off mid-file once, ignore Range, list a wrong SHA-256 or insist on a token.
#include <gtest/gtest.h>
#include <httplib.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "process.h"
#include "temp_repository.h"
#include "test_support.h"

namespace mms::testing {
namespace {

namespace fs = std::filesystem;

const char kRepo[] = "test-org/tiny-clip";
const char kCommit[] = "0123456789abcdef0123456789abcdef01234567";
const char kToken[] = "hf_pull_test_token";

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A safetensors file split in two by tensors, as a sharded checkpoint's two files and index.
std::map<std::string, std::string> ShardCheckpoint(const std::string& safetensors) {
  uint64_t header_len = 0;
  for (int i = 0; i < 8; ++i) header_len |= static_cast<uint64_t>(static_cast<unsigned char>(safetensors[i])) << (8 * i);
  const auto header = nlohmann::json::parse(safetensors.substr(8, header_len));
  const std::string data = safetensors.substr(8 + header_len);
  const std::string names[2] = {"model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"};
  nlohmann::json headers[2] = {nlohmann::json::object(), nlohmann::json::object()};
  std::string bodies[2];
  nlohmann::json weight_map = nlohmann::json::object();
  int i = 0;
  for (const auto& [tensor, info] : header.items()) {
    if (tensor == "__metadata__") continue;
    const int shard = i++ % 2;
    const uint64_t begin = info["data_offsets"][0], end = info["data_offsets"][1];
    nlohmann::json entry = info;
    entry["data_offsets"] = {bodies[shard].size(), bodies[shard].size() + (end - begin)};
    bodies[shard] += data.substr(begin, end - begin);
    headers[shard][tensor] = entry;
    weight_map[tensor] = names[shard];
  }
  std::map<std::string, std::string> files;
  for (int k = 0; k < 2; ++k) {
    std::string h = headers[k].dump();
    h.append((8 - h.size() % 8) % 8, ' ');
    std::string file(8, '\0');
    for (int b = 0; b < 8; ++b) file[b] = static_cast<char>((h.size() >> (8 * b)) & 0xff);
    files[names[k]] = file + h + bodies[k];
  }
  files["model.safetensors.index.json"] =
      nlohmann::json({{"metadata", {{"total_size", data.size()}}}, {"weight_map", weight_map}}).dump(2);
  return files;
}

std::string Sha256Hex(const std::string& bytes) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(bytes.data(), bytes.size(), digest, &len, EVP_sha256(), nullptr);
  static const char kHex[] = "0123456789abcdef";
  std::string hex;
  for (unsigned i = 0; i < len; ++i) {
    hex += kHex[digest[i] >> 4];
    hex += kHex[digest[i] & 15];
  }
  return hex;
}

// Sets an environment variable (or removes it) for the scope; the mmserve children inherit it.
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

class FakeHub {
 public:
  struct File {
    std::string bytes;
    bool lfs = false;
  };

  // With a certificate and key, both servers speak HTTPS. `sharded`: the checkpoint as
  // model.safetensors.index.json and two shards instead of model.safetensors.
  explicit FakeHub(const std::string& cert = "", const std::string& key = "", bool sharded = false)
      : tls_(!cert.empty()) {
    if (tls_) {
      hub_ = std::make_unique<httplib::SSLServer>(cert.c_str(), key.c_str());
      storage_ = std::make_unique<httplib::SSLServer>(cert.c_str(), key.c_str());
    } else {
      hub_ = std::make_unique<httplib::Server>();
      storage_ = std::make_unique<httplib::Server>();
    }
    for (const auto& entry : fs::directory_iterator(TinyClipDir())) {
      const std::string name = entry.path().filename().string();
      files_[name] = {Slurp(entry.path().string()), name == "model.safetensors"};
    }
    if (sharded) {
      for (const auto& [name, bytes] : ShardCheckpoint(files_["model.safetensors"].bytes)) {
        files_[name] = {bytes, name != "model.safetensors.index.json"};
      }
      files_.erase("model.safetensors");
    }
    // Files a CLIP checkpoint does not need: listed, never to be fetched by default.
    files_["README.md"] = {"# tiny clip\n", false};
    files_["pytorch_model.bin"] = {std::string(4096, 'p'), true};
    files_[".gitattributes"] = {"*.safetensors filter=lfs\n", false};

    hub_->Get(R"(/api/models/([^/]+/[^/]+)/revision/([^/]+))",
             [this](const httplib::Request& req, httplib::Response& res) { ServeListing(req, res); });
    hub_->Get(R"(/([^/]+/[^/]+)/resolve/([^/]+)/(.+))",
             [this](const httplib::Request& req, httplib::Response& res) { ServeResolve(req, res); });
    storage_->Get(R"(/lfs/(.+))", [this](const httplib::Request& req, httplib::Response& res) {
      Record("storage", req);
      ServeFile(req.matches[1], req, res);
    });
    hub_port_ = hub_->bind_to_any_port("127.0.0.1");
    storage_port_ = storage_->bind_to_any_port("127.0.0.1");
    threads_.emplace_back([this] { hub_->listen_after_bind(); });
    threads_.emplace_back([this] { storage_->listen_after_bind(); });
    while (!hub_->is_running() || !storage_->is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~FakeHub() {
    hub_->stop();
    storage_->stop();
    for (auto& t : threads_) t.join();
  }

  std::string scheme() const { return tls_ ? "https" : "http"; }
  std::string endpoint() const { return scheme() + "://127.0.0.1:" + std::to_string(hub_port_); }
  const File& file(const std::string& name) const { return files_.at(name); }

  // Switches.
  void FailOnce(const std::string& name, size_t after_bytes) {
    std::lock_guard<std::mutex> lock(mutex_);
    fail_file_ = name;
    fail_after_ = after_bytes;
  }
  void IgnoreRange(bool on) { ignore_range_ = on; }
  void ListSha256(const std::string& name, const std::string& sha) { listed_sha_[name] = sha; }
  // Off: the listing ignores ?blobs=true (no sizes, no lfs), as a plain mirror might.
  void ListBlobs(bool on) { list_blobs_ = on; }
  // The X-Linked-Etag the hub sends with an LFS file's redirect (default: its true SHA-256).
  void LinkedEtag(const std::string& name, const std::string& sha) { linked_etag_[name] = sha; }

  // What was asked for and served since the last Reset().
  struct Seen {
    std::string server;  // "hub" or "storage"
    std::string path;
    std::string authorization;
    std::string range;
  };
  void Reset() {
    std::lock_guard<std::mutex> lock(mutex_);
    served_.clear();
    seen_.clear();
  }
  uint64_t Served(const std::string& name) {
    std::lock_guard<std::mutex> lock(mutex_);
    return served_[name];
  }
  std::vector<Seen> SeenRequests() {
    std::lock_guard<std::mutex> lock(mutex_);
    return seen_;
  }

 private:
  void Record(const std::string& server, const httplib::Request& req) {
    std::lock_guard<std::mutex> lock(mutex_);
    seen_.push_back({server, req.path, req.get_header_value("Authorization"), req.get_header_value("Range")});
  }

  // A private repository: the hub answers 401 without the right bearer token.
  bool Authorized(const httplib::Request& req, httplib::Response& res) {
    if (req.get_header_value("Authorization") == std::string("Bearer ") + kToken) return true;
    res.status = 401;
    res.set_header("X-Error-Message", "Invalid credentials in Authorization header");
    res.set_content(R"({"error":"Invalid credentials in Authorization header"})", "application/json");
    return false;
  }

  void ServeListing(const httplib::Request& req, httplib::Response& res) {
    Record("hub", req);
    if (!Authorized(req, res)) return;
    if (req.matches[1] != kRepo || req.matches[2] != "main") {
      res.status = 404;
      res.set_content(R"({"error":"Repository not found"})", "application/json");
      return;
    }
    nlohmann::json siblings = nlohmann::json::array();
    for (const auto& [name, f] : files_) {
      nlohmann::json s = {{"rfilename", name}};
      if (req.has_param("blobs") && list_blobs_) {
        s["size"] = f.bytes.size();
        if (f.lfs) {
          const auto listed = listed_sha_.find(name);
          s["lfs"] = {{"sha256", listed != listed_sha_.end() ? listed->second : Sha256Hex(f.bytes)},
                      {"size", f.bytes.size()},
                      {"pointerSize", 134}};
        }
      }
      siblings.push_back(s);
    }
    res.set_content(nlohmann::json({{"id", kRepo}, {"sha", kCommit}, {"siblings", siblings}}).dump(),
                    "application/json");
  }

  void ServeResolve(const httplib::Request& req, httplib::Response& res) {
    Record("hub", req);
    if (!Authorized(req, res)) return;
    const std::string name = req.matches[3];
    const auto it = files_.find(name);
    if (req.matches[1] != kRepo || (req.matches[2] != "main" && req.matches[2] != kCommit) || it == files_.end()) {
      res.status = 404;
      res.set_header("X-Error-Message", "Entry not found");
      return;
    }
    if (it->second.lfs) {  // to the storage host, as the hub does for LFS files
      const auto etag = linked_etag_.find(name);
      res.set_header("X-Linked-Etag",
                     "\"" + (etag != linked_etag_.end() ? etag->second : Sha256Hex(it->second.bytes)) + "\"");
      res.set_header("X-Linked-Size", std::to_string(it->second.bytes.size()));
      res.set_redirect(scheme() + "://127.0.0.1:" + std::to_string(storage_port_) + "/lfs/" + name, 302);
      return;
    }
    ServeFile(name, req, res);
  }

  // The file from the offset httplib derives from a Range header (it answers 206 then),
  // in 64 KiB pieces, each counted; the failure switch ends the response after N bytes.
  void ServeFile(const std::string& name, const httplib::Request& req, httplib::Response& res) {
    const std::string* bytes = &files_.at(name).bytes;
    // A server that does not do ranges: httplib would apply the Range header, so it is
    // dropped before the response is written (the request object is httplib's own).
    if (ignore_range_) const_cast<httplib::Request&>(req).ranges.clear();
    res.set_content_provider(bytes->size(), "application/octet-stream",
                             [this, name, bytes](size_t offset, size_t length, httplib::DataSink& sink) {
                               size_t n = std::min<size_t>(length, 64 << 10);
                               bool fail = false;
                               {
                                 std::lock_guard<std::mutex> lock(mutex_);
                                 if (fail_file_ == name && offset + n > fail_after_) {
                                   n = fail_after_ > offset ? fail_after_ - offset : 0;
                                   fail = true;
                                   fail_file_.clear();
                                 }
                                 served_[name] += n;
                               }
                               if (n) sink.write(bytes->data() + offset, n);
                               return !fail;  // false: httplib closes the connection
                             });
  }

  std::map<std::string, File> files_;
  std::map<std::string, std::string> listed_sha_, linked_etag_;
  std::atomic<bool> list_blobs_{true};
  bool tls_;
  std::unique_ptr<httplib::Server> hub_, storage_;
  int hub_port_ = 0, storage_port_ = 0;
  std::vector<std::thread> threads_;
  std::mutex mutex_;
  std::string fail_file_;
  size_t fail_after_ = 0;
  std::atomic<bool> ignore_range_{false};
  std::map<std::string, uint64_t> served_;
  std::vector<Seen> seen_;
};

const std::vector<std::string> kCheckpointFiles = {"config.json",       "merges.txt",
                                                   "model.safetensors", "preprocessor_config.json",
                                                   "special_tokens_map.json", "tokenizer_config.json",
                                                   "vocab.json"};

class PullTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/mms_pull_XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    repository_ = tmpl;
  }
  void TearDown() override { fs::remove_all(repository_); }

  CommandResult Pull(std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"pull", kRepo, "--model-repository", repository_, "--hf-endpoint", hub_.endpoint()};
    args.insert(args.end(), extra.begin(), extra.end());
    return RunMmserve(args);
  }

  void ExpectCheckpoint(const std::string& folder) {
    for (const auto& name : kCheckpointFiles) {
      EXPECT_EQ(Slurp(folder + "/" + name), hub_.file(name).bytes) << name;
    }
    std::vector<std::string> on_disk;
    for (const auto& e : fs::directory_iterator(folder)) on_disk.push_back(e.path().filename().string());
    std::sort(on_disk.begin(), on_disk.end());
    EXPECT_EQ(on_disk, kCheckpointFiles) << "no .part, state or unwanted files";
  }

  std::string partial_model_dir() const { return repository_ + "/.tiny-clip.partial"; }

  FakeHub hub_;
  std::string repository_;
  ScopedEnv token_{"HF_TOKEN", kToken};
  ScopedEnv endpoint_env_{"HF_ENDPOINT", nullptr};
};

TEST_F(PullTest, PullsTheCheckpointAndItLoads) {
  const ScopedEnv endpoint("HF_ENDPOINT", hub_.endpoint().c_str());  // the address from the environment
  const auto r = RunMmserve({"pull", kRepo, "--model-repository", repository_});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto out = nlohmann::json::parse(r.out);
  const std::string folder = repository_ + "/tiny-clip/1";
  EXPECT_EQ(out["folder"], folder);
  EXPECT_EQ(out["model"], "tiny-clip");
  EXPECT_EQ(out["version"], 1);
  EXPECT_EQ(out["commit"], kCommit);
  auto files = out["files"].get<std::vector<std::string>>();
  std::sort(files.begin(), files.end());
  EXPECT_EQ(files, kCheckpointFiles);
  ExpectCheckpoint(folder);
  EXPECT_FALSE(fs::exists(partial_model_dir()));
  EXPECT_FALSE(fs::exists(repository_ + "/tiny-clip/.1.partial"));

  // The token went to the hub only: never to the storage host the LFS file is redirected to.
  bool storage_seen = false;
  for (const auto& s : hub_.SeenRequests()) {
    EXPECT_EQ(s.path.find("README.md"), std::string::npos) << s.path;
    EXPECT_EQ(s.path.find("pytorch_model.bin"), std::string::npos) << s.path;
    if (s.server == "hub") {
      EXPECT_EQ(s.authorization, std::string("Bearer ") + kToken) << s.path;
    } else {
      storage_seen = true;
      EXPECT_EQ(s.authorization, "") << s.path;
    }
    if (s.path.find("/resolve/") != std::string::npos) {
      EXPECT_NE(s.path.find(std::string("/resolve/") + kCommit + "/"), std::string::npos) << "files by commit";
    }
  }
  EXPECT_TRUE(storage_seen);

  const auto embed = RunMmserve({"embed", "--model", folder, "--text", "x"});
  ASSERT_EQ(embed.exit_code, 0) << embed.err;
  EXPECT_EQ(nlohmann::json::parse(embed.out)["text_embeds"].size(), 1u);

  // Without --version: the next version. With an existing --version: nothing to do, and no
  // request to the hub (an init container restarted with the model already in place).
  const auto again = Pull({"--name", "tiny-clip"});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(nlohmann::json::parse(again.out)["version"], 2);
  ExpectCheckpoint(repository_ + "/tiny-clip/2");
  hub_.Reset();
  const auto existing = Pull({"--version", "1"});
  ASSERT_EQ(existing.exit_code, 0) << existing.err;
  EXPECT_EQ(nlohmann::json::parse(existing.out)["status"], "exists");
  EXPECT_TRUE(hub_.SeenRequests().empty());
}

TEST_F(PullTest, ResumesAPartialDownloadOnTheNextRun) {
  const size_t size = hub_.file("model.safetensors").bytes.size();
  hub_.FailOnce("model.safetensors", 5 << 20);
  const auto first = Pull({"--retries", "0"});
  ASSERT_NE(first.exit_code, 0);
  EXPECT_NE(first.err.find("model.safetensors"), std::string::npos) << first.err;
  EXPECT_NE(first.err.find("run the same command again to resume"), std::string::npos) << first.err;
  EXPECT_FALSE(fs::exists(repository_ + "/tiny-clip")) << "no model folder before the pull is complete";
  const std::string part = partial_model_dir() + "/.1.partial/model.safetensors.part";
  ASSERT_TRUE(fs::exists(part));
  const uint64_t kept = fs::file_size(part);
  EXPECT_EQ(kept, 5u << 20);

  hub_.Reset();
  const auto second = Pull();
  ASSERT_EQ(second.exit_code, 0) << second.err;
  EXPECT_EQ(hub_.Served("model.safetensors"), size - kept) << "only the rest is downloaded";
  EXPECT_EQ(hub_.Served("config.json"), 0u) << "finished files are not downloaded again";
  bool ranged = false;
  for (const auto& s : hub_.SeenRequests()) ranged |= s.range == "bytes=" + std::to_string(kept) + "-";
  EXPECT_TRUE(ranged);
  EXPECT_EQ(nlohmann::json::parse(second.out)["downloaded_bytes"], size - kept);
  ExpectCheckpoint(repository_ + "/tiny-clip/1");
  EXPECT_FALSE(fs::exists(partial_model_dir()));
}

TEST_F(PullTest, RetriesABrokenDownloadWithinOneRun) {
  const size_t size = hub_.file("model.safetensors").bytes.size();
  hub_.FailOnce("model.safetensors", 3 << 20);
  const auto r = Pull({"--retries", "1"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("retrying"), std::string::npos) << r.err;
  EXPECT_EQ(hub_.Served("model.safetensors"), size) << "the retry resumed where the connection broke";
  ExpectCheckpoint(repository_ + "/tiny-clip/1");
}

TEST_F(PullTest, StartsOverWhenTheServerIgnoresRange) {
  const size_t size = hub_.file("model.safetensors").bytes.size();
  hub_.FailOnce("model.safetensors", 2 << 20);
  ASSERT_NE(Pull({"--retries", "0"}).exit_code, 0);
  hub_.Reset();
  hub_.IgnoreRange(true);
  const auto r = Pull();
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("ignored the Range request"), std::string::npos) << r.err;
  EXPECT_EQ(hub_.Served("model.safetensors"), size);
  ExpectCheckpoint(repository_ + "/tiny-clip/1");
}

TEST_F(PullTest, ChecksumMismatchFailsNamingTheFileAndBothDigests) {
  const std::string wrong(64, 'a');
  const std::string actual = Sha256Hex(hub_.file("model.safetensors").bytes);
  hub_.ListSha256("model.safetensors", wrong);
  // Into an existing model folder this time (a new version beside version 1).
  fs::create_directories(repository_ + "/tiny-clip");
  fs::create_directory_symlink(TinyClipDir(), repository_ + "/tiny-clip/1");
  const auto r = Pull();
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("model.safetensors"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(wrong), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(actual), std::string::npos) << r.err;
  EXPECT_TRUE(r.out.empty()) << r.out;
  EXPECT_FALSE(fs::exists(repository_ + "/tiny-clip/2")) << "no version folder";
  EXPECT_FALSE(fs::exists(repository_ + "/tiny-clip/.2.partial/model.safetensors.part")) << "the bad download is deleted";
  EXPECT_FALSE(fs::exists(repository_ + "/tiny-clip/.2.partial/model.safetensors"));
}

TEST_F(PullTest, WithoutLfsDetailsInTheListingTheLinkedEtagIsChecked) {
  hub_.ListBlobs(false);
  const std::string wrong(64, 'b');
  const std::string actual = Sha256Hex(hub_.file("model.safetensors").bytes);
  hub_.LinkedEtag("model.safetensors", wrong);
  const auto bad = Pull();
  EXPECT_EQ(bad.exit_code, 1) << bad.err;
  EXPECT_NE(bad.err.find("checksum mismatch for model.safetensors: expected sha256 " + wrong + ", got " + actual),
            std::string::npos) << bad.err;
  EXPECT_FALSE(fs::exists(repository_ + "/tiny-clip"));

  hub_.LinkedEtag("model.safetensors", actual);
  const auto good = Pull();
  ASSERT_EQ(good.exit_code, 0) << good.err;
  EXPECT_NE(good.err.find("model.safetensors: done, 13.6 MiB, sha256 verified"), std::string::npos) << good.err;
  ExpectCheckpoint(repository_ + "/tiny-clip/1");
}

TEST_F(PullTest, APrivateRepositoryNeedsTheToken) {
  const ScopedEnv no_token("HF_TOKEN", nullptr);
  const auto r = Pull();
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("401"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("HF_TOKEN"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("Invalid credentials"), std::string::npos) << r.err;
  for (const auto& s : hub_.SeenRequests()) EXPECT_EQ(s.authorization, "");
  EXPECT_FALSE(fs::exists(repository_ + "/tiny-clip"));
}

TEST_F(PullTest, NeedsTheHubAddress) {
  const auto r = RunMmserve({"pull", kRepo, "--model-repository", repository_});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--hf-endpoint"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("HF_ENDPOINT"), std::string::npos) << r.err;
  const auto missing = Pull({"--revision", "v9"});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.err.find("404"), std::string::npos) << missing.err;
}

TEST_F(PullTest, IncludePatternsChooseTheFiles) {
  const auto r = Pull({"--include", "*.json", "--include", "README.md", "--name", "configs", "--version", "7"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::vector<std::string> on_disk;
  for (const auto& e : fs::directory_iterator(repository_ + "/configs/7")) on_disk.push_back(e.path().filename().string());
  std::sort(on_disk.begin(), on_disk.end());
  EXPECT_EQ(on_disk, (std::vector<std::string>{"README.md", "config.json", "preprocessor_config.json",
                                               "special_tokens_map.json", "tokenizer_config.json", "vocab.json"}));
  EXPECT_EQ(hub_.Served("model.safetensors"), 0u);
}

// Over HTTPS, the hub's certificate is verified (here against the test's own, named by
// SSL_CERT_FILE, which OpenSSL's default verify paths honour); without it the pull fails.
TEST(PullTlsTest, VerifiesTheHubsCertificate) {
  const fs::path dir = fs::temp_directory_path() / ("mms_pull_tls_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const std::string cert = (dir / "cert.pem").string(), key = (dir / "key.pem").string();
  const std::string cmd = "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 "
                          "-addext subjectAltName=IP:127.0.0.1 -keyout " + key + " -out " + cert + " 2>/dev/null";
  if (std::system(cmd.c_str()) != 0) GTEST_SKIP() << "the openssl tool could not make a certificate";
  FakeHub hub(cert, key);
  const ScopedEnv token("HF_TOKEN", kToken);
  const std::string repository = (dir / "repo").string();
  const std::vector<std::string> pull = {"pull", kRepo, "--model-repository", repository, "--hf-endpoint",
                                         hub.endpoint(), "--retries", "0"};
  {
    const ScopedEnv no_ca("SSL_CERT_FILE", nullptr);
    const auto refused = RunMmserve(pull);
    EXPECT_NE(refused.exit_code, 0);
    EXPECT_NE(refused.err.find("SSLServerVerification"), std::string::npos) << refused.err;
    EXPECT_FALSE(fs::exists(repository + "/tiny-clip"));
  }
  {
    const ScopedEnv ca("SSL_CERT_FILE", cert.c_str());
    const auto r = RunMmserve(pull);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(Slurp(repository + "/tiny-clip/1/model.safetensors"), hub.file("model.safetensors").bytes);
  }
  fs::remove_all(dir);
}

TEST(PullShardedTest, FetchesTheShardsTheIndexNames) {
  FakeHub hub("", "", true);
  const ScopedEnv token("HF_TOKEN", kToken);
  char tmpl[] = "/tmp/mms_pull_XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  const std::string repository = tmpl;
  const auto r = RunMmserve({"pull", kRepo, "--model-repository", repository, "--hf-endpoint", hub.endpoint()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string folder = repository + "/tiny-clip/1";
  for (const char* name : {"model.safetensors.index.json", "model-00001-of-00002.safetensors",
                           "model-00002-of-00002.safetensors"}) {
    EXPECT_EQ(Slurp(folder + "/" + name), hub.file(name).bytes) << name;
  }
  EXPECT_FALSE(fs::exists(folder + "/model.safetensors"));
  const auto sharded = RunMmserve({"embed", "--model", folder, "--text", "a photo of a cat"});
  ASSERT_EQ(sharded.exit_code, 0) << sharded.err;
  const auto whole = RunMmserve({"embed", "--model", TinyClipDir(), "--text", "a photo of a cat"});
  ASSERT_EQ(whole.exit_code, 0) << whole.err;
  EXPECT_EQ(nlohmann::json::parse(sharded.out), nlohmann::json::parse(whole.out)) << "the same weights";
  fs::remove_all(repository);
}

// A server polling the repository sees the new model only once it is complete: a failed
// pull leaves nothing it takes for a model (its health stays 200), the finished one loads.
TEST_F(PullTest, APollingServerSeesOnlyTheFinishedModel) {
  TempRepository repo;
  repo.AddModel("clip", {1});
  ServerProcess server({"--model-control-mode", "poll", "--repository-poll-secs", "1"}, repo.root());
  httplib::Client client("127.0.0.1", server.port());

  hub_.FailOnce("model.safetensors", 4 << 20);
  const std::vector<std::string> pull = {"pull", kRepo, "--model-repository", repo.root(), "--hf-endpoint",
                                         hub_.endpoint(), "--retries", "0"};
  ASSERT_NE(RunMmserve(pull).exit_code, 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));  // two polls
  auto health = client.Get("/health");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200) << health->body << "\n" << server.Log();
  EXPECT_EQ(client.Get("/v2/models/tiny-clip/ready")->status, 404);

  const auto r = RunMmserve(pull);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  int ready = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline) {
    auto res = client.Get("/v2/models/tiny-clip/ready");
    if (res && (ready = res->status) == 200) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(ready, 200) << server.Log();
  EXPECT_EQ(client.Get("/health")->status, 200);
}

}  // namespace
}  // namespace mms::testing
