#include "test_support.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>

namespace mms::testing {

std::string SourcePath(const std::string& relative) { return std::string(MMS_SOURCE_DIR) + "/" + relative; }

std::string TinyClipDir() { return SourcePath("model_repository/clip/1"); }

const nlohmann::json& ClipGolden() {
  static const nlohmann::json golden = [] {
    std::ifstream in(SourcePath("tests/data/clip-reference/golden.json"));
    if (!in) throw std::runtime_error("golden.json not found");
    return nlohmann::json::parse(in);
  }();
  return golden;
}

std::vector<float> LoadNpyFloat32(const std::string& path, std::vector<long>* shape) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open " + path);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (bytes.size() < 10 || bytes.compare(0, 6, "\x93NUMPY") != 0) throw std::runtime_error("not a .npy file: " + path);
  const int major = static_cast<unsigned char>(bytes[6]);
  size_t header_len, header_start;
  if (major == 1) {
    header_len = static_cast<unsigned char>(bytes[8]) | (static_cast<unsigned char>(bytes[9]) << 8);
    header_start = 10;
  } else {
    header_len = 0;
    for (int i = 0; i < 4; ++i) header_len |= static_cast<size_t>(static_cast<unsigned char>(bytes[8 + i])) << (8 * i);
    header_start = 12;
  }
  const std::string header = bytes.substr(header_start, header_len);
  if (header.find("'<f4'") == std::string::npos) throw std::runtime_error("not float32: " + path);
  if (header.find("'fortran_order': False") == std::string::npos) throw std::runtime_error("not C order: " + path);
  std::vector<long> dims;
  const size_t open = header.find('(', header.find("'shape'"));
  const size_t close = header.find(')', open);
  std::stringstream ss(header.substr(open + 1, close - open - 1));
  std::string item;
  size_t count = 1;
  while (std::getline(ss, item, ',')) {
    if (item.find_first_not_of(' ') == std::string::npos) continue;
    dims.push_back(std::stol(item));
    count *= dims.back();
  }
  const size_t data_start = header_start + header_len;
  if (bytes.size() - data_start != count * 4) throw std::runtime_error("truncated .npy: " + path);
  std::vector<float> out(count);
  std::memcpy(out.data(), bytes.data() + data_start, count * 4);
  if (shape) *shape = dims;
  return out;
}

double CosineSimilarity(const std::vector<float>& a, const std::vector<float>& b) {
  if (a.size() != b.size() || a.empty()) return -2.0;
  double dot = 0, na = 0, nb = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    dot += static_cast<double>(a[i]) * b[i];
    na += static_cast<double>(a[i]) * a[i];
    nb += static_cast<double>(b[i]) * b[i];
  }
  return dot / std::sqrt(na * nb);
}

std::vector<float> Random(size_t n, unsigned seed, float scale) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, scale);
  std::vector<float> v(n);
  for (auto& x : v) x = dist(rng);
  return v;
}

double NormalizedMaxError(const std::vector<float>& got, const std::vector<float>& want) {
  double max_err = 0, max_ref = 1e-6;
  for (size_t i = 0; i < got.size(); ++i) {
    max_err = std::max(max_err, std::abs(static_cast<double>(got[i]) - want[i]));
    max_ref = std::max(max_ref, std::abs(static_cast<double>(want[i])));
  }
  return max_err / max_ref;
}

int FreePort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

}  // namespace mms::testing
