#include "runtime/weights_fingerprint.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <memory>

#include "base/error.h"

namespace mms::runtime {

namespace fs = std::filesystem;

namespace {

bool IsCheckpointFile(const fs::path& path) {
  const std::string ext = path.extension().string();
  return ext == ".safetensors" || ext == ".json" || ext == ".txt" || ext == ".model";
}

class Sha256 {
 public:
  Sha256() : ctx_(EVP_MD_CTX_new(), EVP_MD_CTX_free) {
    if (!ctx_ || EVP_DigestInit_ex(ctx_.get(), EVP_sha256(), nullptr) != 1) ThrowInternal("SHA-256 is unavailable");
  }
  void Update(const void* data, size_t n) { EVP_DigestUpdate(ctx_.get(), data, n); }
  // A length before each field, so that no two field lists hash the same bytes.
  void Field(const std::string& bytes) {
    Number(bytes.size());
    Update(bytes.data(), bytes.size());
  }
  void Number(uint64_t n) {
    uint8_t le[8];
    for (int i = 0; i < 8; ++i) le[i] = static_cast<uint8_t>(n >> (8 * i));
    Update(le, sizeof le);
  }
  std::string Hex() {
    uint8_t d[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    if (EVP_DigestFinal_ex(ctx_.get(), d, &n) != 1) ThrowInternal("SHA-256 failed");
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out;
    for (unsigned int i = 0; i < n; ++i) {
      out += kHex[d[i] >> 4];
      out += kHex[d[i] & 15];
    }
    return out;
  }

 private:
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx_;
};

}  // namespace

std::vector<std::string> CheckpointFiles(const std::string& dir) {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    if (entry.is_regular_file() && IsCheckpointFile(entry.path())) names.push_back(entry.path().filename().string());
  }
  if (ec) ThrowInvalidModel("cannot list the checkpoint folder " + dir + ": " + ec.message());
  std::sort(names.begin(), names.end());
  return names;
}

std::string FingerprintCheckpoint(const std::string& dir) {
  Sha256 hash;
  hash.Field("mmserve-checkpoint-fingerprint-v1");
  std::vector<char> buffer(1 << 20);
  for (const std::string& name : CheckpointFiles(dir)) {
    const std::string path = dir + "/" + name;
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) ThrowInvalidModel("cannot open " + path + " to fingerprint it: " + std::strerror(errno));
    struct stat st {};
    ::fstat(fd, &st);
    hash.Field(name);
    hash.Number(static_cast<uint64_t>(st.st_size));
    uint64_t total = 0;
    for (;;) {
      const ssize_t n = ::read(fd, buffer.data(), buffer.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        const int err = errno;
        ::close(fd);
        ThrowInvalidModel("cannot read " + path + " at byte " + std::to_string(total) + " to fingerprint it: " +
                          std::strerror(err));
      }
      if (n == 0) break;
      hash.Update(buffer.data(), static_cast<size_t>(n));
      total += static_cast<uint64_t>(n);
    }
    ::close(fd);
    hash.Number(total);  // what was really read, should the file have changed size meanwhile
  }
  return hash.Hex();
}

std::vector<CheckpointFileState> CheckpointState(const std::string& dir) {
  std::vector<CheckpointFileState> out;
  for (const std::string& name : CheckpointFiles(dir)) {
    struct stat st {};
    CheckpointFileState s;
    s.name = name;
    if (::stat((dir + "/" + name).c_str(), &st) == 0) {
      s.size = static_cast<uint64_t>(st.st_size);
      s.inode = static_cast<uint64_t>(st.st_ino);
      s.mtime_ns = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
    }
    out.push_back(s);
  }
  return out;
}

}  // namespace mms::runtime
