// Every serve flag can come from an MMSERVE_* environment variable (what containers and
// Kubernetes ConfigMaps use); the command line wins over the environment.
#include <gtest/gtest.h>
#include <httplib.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "base/file_util.h"
#include "process.h"
#include "test_support.h"

namespace mms::testing {
namespace {

namespace fs = std::filesystem;

// Sets a variable for the life of the object (servers started meanwhile inherit it).
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const std::string& value) : name_(name) { ::setenv(name, value.c_str(), 1); }
  ~ScopedEnv() { ::unsetenv(name_); }

 private:
  const char* name_;
};

TEST(EnvConfigTest, FlagsFromEnvironmentAndCommandLineWins) {
  const fs::path keys = fs::temp_directory_path() / ("mms_env_keys_" + std::to_string(::getpid()));
  std::ofstream(keys) << "env-key-0123456789abcdef client\n";
  ScopedEnv api_keys("MMSERVE_API_KEYS_FILE", keys.string());
  ScopedEnv max_texts("MMSERVE_MAX_TEXTS", "1");
  ServerProcess server({"--threads", "1", "--max-texts", "3"});
  httplib::Client c("127.0.0.1", server.port());
  EXPECT_EQ(c.Get("/v1/models")->status, 401);
  const httplib::Headers h = {{"X-API-Key", "env-key-0123456789abcdef"}};
  EXPECT_EQ(c.Get("/v1/models", h)->status, 200);
  // --max-texts 3 on the command line beats MMSERVE_MAX_TEXTS=1.
  auto res = c.Post("/v1/embeddings", h, R"({"model":"clip","input":["a","b"]})", "application/json");
  EXPECT_EQ(res->status, 200) << res->body;
  fs::remove(keys);
}

TEST(EnvConfigTest, ConfigFileFillsWhatFlagsAndEnvironmentLeaveOut) {
  const fs::path dir = fs::temp_directory_path() / ("mms_config_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::ofstream(dir / "keys") << "file-key-0123456789abcdef client\n";
  // 100 pixels at most: a decompression-bomb limit every test image exceeds.
  std::ofstream(dir / "config.json") << R"({"api-keys-file": ")" << (dir / "keys").string()
                                     << R"(", "max-image-pixels": 100, "max-texts": 1, "protect-health": false})";
  ServerProcess server({"--threads", "1", "--config", (dir / "config.json").string(), "--max-texts", "5"});
  httplib::Client c("127.0.0.1", server.port());
  EXPECT_EQ(c.Get("/v1/models")->status, 401);
  const httplib::Headers h = {{"X-API-Key", "file-key-0123456789abcdef"}};
  httplib::MultipartFormDataItems form = {
      {"image", ReadFileBytes(SourcePath("tests/data/clip-reference/images/coffee.png")), "a.png", "image/png"},
      {"texts", R"(["a","b","c"])", "", ""}};  // 3 texts: allowed by --max-texts 5, not by the file's 1
  auto res = c.Post("/predict", h, form);
  EXPECT_EQ(res->status, 413) << res->body;
  EXPECT_NE(res->body.find("pixels"), std::string::npos) << res->body;

  std::ofstream(dir / "bad.json") << R"({"no-such-flag": 1})";
  auto r = RunMmserve({"serve", "--model-repository", SourcePath("model_repository"), "--config", (dir / "bad.json").string()});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("\"no-such-flag\" is not a flag"), std::string::npos) << r.err;
  fs::remove_all(dir);
}

TEST(EnvConfigTest, BadSwitchValueStopsTheStart) {
  ScopedEnv protect("MMSERVE_PROTECT_HEALTH", "maybe");
  auto r = RunMmserve({"serve", "--model-repository", SourcePath("model_repository")});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("MMSERVE_PROTECT_HEALTH"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace mms::testing
