// HTTPS with --tls-cert/--tls-key: a self-signed certificate made by the openssl tool, a
// request over TLS verified against that certificate, plain HTTP refused, and bad files
// stopping the start with a message.
#include <gtest/gtest.h>
#include <httplib.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "process.h"
#include "test_support.h"

namespace mms::testing {
namespace {

namespace fs = std::filesystem;

class TlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("mms_tls_" + std::to_string(::getpid()));
    fs::create_directories(dir_);
    cert_ = (dir_ / "cert.pem").string();
    key_ = (dir_ / "key.pem").string();
    const std::string cmd = "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 "
                            "-addext subjectAltName=IP:127.0.0.1 -keyout " + key_ + " -out " + cert_ + " 2>/dev/null";
    if (std::system(cmd.c_str()) != 0) GTEST_SKIP() << "the openssl tool could not make a certificate";
  }
  void TearDown() override { fs::remove_all(dir_); }

  fs::path dir_;
  std::string cert_, key_;
};

TEST_F(TlsTest, ServesHttpsOnly) {
  ServerProcess server({"--threads", "1", "--tls-cert", cert_, "--tls-key", key_});
  httplib::SSLClient tls("127.0.0.1", server.port());
  tls.set_ca_cert_path(cert_.c_str());
  tls.enable_server_certificate_verification(true);
  auto res = tls.Get("/health");
  ASSERT_TRUE(res) << httplib::to_string(res.error()) << "\n" << server.Log();
  EXPECT_EQ(res->status, 200);
  auto embed = tls.Post("/v1/embeddings", R"({"model":"clip","input":"a photo of a cat"})", "application/json");
  ASSERT_TRUE(embed);
  EXPECT_EQ(embed->status, 200);

  httplib::Client plain("127.0.0.1", server.port());
  plain.set_read_timeout(5, 0);
  auto refused = plain.Get("/health");
  EXPECT_TRUE(!refused || refused->status != 200);
  EXPECT_NE(server.Log().find("\"scheme\":\"https\""), std::string::npos);
}

TEST_F(TlsTest, BadFilesStopTheStart) {
  auto r = RunMmserve({"serve", "--model-repository", SourcePath("model_repository"), "--tls-cert", cert_});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("--tls-cert and --tls-key go together"), std::string::npos) << r.err;
  std::ofstream(dir_ / "junk.pem") << "not a key";
  r = RunMmserve({"serve", "--model-repository", SourcePath("model_repository"), "--tls-cert", cert_, "--tls-key",
                  (dir_ / "junk.pem").string()});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("cannot serve HTTPS"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace mms::testing
