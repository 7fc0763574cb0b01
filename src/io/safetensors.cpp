#include "io/safetensors.h"

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/error.h"
#include "base/json_brief.h"

namespace mms::io {

namespace {

constexpr uint64_t kMaxHeaderBytes = 100ull << 20;
constexpr size_t kMaxRank = 16;

[[noreturn]] void Fail(const std::string& path, const std::string& what) { ThrowInvalidModel(path + ": " + what); }

}  // namespace

std::shared_ptr<SafetensorsFile> SafetensorsFile::Open(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) Fail(path, std::string("cannot open: ") + std::strerror(errno));
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    ::close(fd);
    Fail(path, "cannot stat");
  }
  const size_t size = static_cast<size_t>(st.st_size);
  if (size < 8) {
    ::close(fd);
    Fail(path, "file is " + std::to_string(size) + " bytes, too short for a safetensors header");
  }
  void* map = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
  ::close(fd);
  if (map == MAP_FAILED) Fail(path, std::string("mmap failed: ") + std::strerror(errno));

  std::shared_ptr<SafetensorsFile> file(new SafetensorsFile());
  file->path_ = path;
  file->map_ = static_cast<const unsigned char*>(map);
  file->map_size_ = size;
  file->self_ = file;

  uint64_t header_len = 0;
  for (int i = 0; i < 8; ++i) header_len |= static_cast<uint64_t>(file->map_[i]) << (8 * i);
  if (header_len > size - 8) {
    Fail(path, "header length " + std::to_string(header_len) + " exceeds the file size " + std::to_string(size) +
                   " (truncated file?)");
  }
  // The header is parsed whole into memory: a bound keeps a hostile length from costing
  // gigabytes of JSON nodes (the reference implementation uses the same 100 MB cap).
  if (header_len > kMaxHeaderBytes) {
    Fail(path, "header length " + std::to_string(header_len) + " at byte offset 0 is over the limit of " +
                   std::to_string(kMaxHeaderBytes) + " bytes");
  }
  nlohmann::json header;
  try {
    header = nlohmann::json::parse(file->map_ + 8, file->map_ + 8 + header_len);
  } catch (const std::exception& e) {
    Fail(path, std::string("header is not valid JSON: ") + e.what());
  }
  if (!header.is_object()) Fail(path, "header is not a JSON object");
  const size_t data_start = 8 + header_len;
  const size_t data_size = size - data_start;
  for (const auto& [name, info] : header.items()) {
    if (name == "__metadata__") continue;
    const std::string where = "tensor \"" + name + "\"";
    if (!info.is_object() || !info.contains("dtype") || !info.contains("shape") || !info.contains("data_offsets")) {
      Fail(path, where + " lacks dtype, shape or data_offsets");
    }
    Entry e;
    if (!info["dtype"].is_string() || !ParseDType(info["dtype"].get<std::string>(), &e.dtype)) {
      Fail(path, where + " has unsupported dtype " + BriefJson(info["dtype"]));
    }
    if (!info["shape"].is_array()) Fail(path, where + " shape is not a list");
    if (info["shape"].size() > kMaxRank) {
      Fail(path, where + " has " + std::to_string(info["shape"].size()) + " dimensions, over the limit of " +
                     std::to_string(kMaxRank));
    }
    // Element count and byte size in checked arithmetic: a shape whose product wraps
    // around 2^64 would otherwise match a short (or empty) data span and let the model
    // read far past the mapping.
    uint64_t numel = 1;
    for (const auto& d : info["shape"]) {
      if (!d.is_number_unsigned() || d.get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)) {
        Fail(path, where + " has a bad dimension " + BriefJson(d));
      }
      e.shape.push_back(d.get<int64_t>());
      if (__builtin_mul_overflow(numel, d.get<uint64_t>(), &numel)) {
        Fail(path, where + " shape " + ShapeToString(e.shape) + "... overflows 64 bits");
      }
    }
    uint64_t nbytes = 0;
    if (__builtin_mul_overflow(numel, static_cast<uint64_t>(DTypeSize(e.dtype)), &nbytes) ||
        nbytes > static_cast<uint64_t>(INT64_MAX)) {
      Fail(path, where + " shape " + ShapeToString(e.shape) + " of " + DTypeName(e.dtype) + " overflows 64 bits");
    }
    const auto& off = info["data_offsets"];
    if (!off.is_array() || off.size() != 2 || !off[0].is_number_unsigned() || !off[1].is_number_unsigned()) {
      Fail(path, where + " has malformed data_offsets");
    }
    const uint64_t b = off[0].get<uint64_t>(), end = off[1].get<uint64_t>();
    if (b > end || end > data_size) {
      Fail(path, where + " data [" + std::to_string(b) + ", " + std::to_string(end) + ") lies outside the " +
                     std::to_string(data_size) + " data bytes (truncated file?)");
    }
    if (end - b != nbytes) {
      Fail(path, where + " holds " + std::to_string(end - b) + " bytes at byte offset " + std::to_string(data_start + b) +
                     " but shape " + ShapeToString(e.shape) + " of " + DTypeName(e.dtype) + " needs " +
                     std::to_string(nbytes));
    }
    e.begin = data_start + b;
    e.size = end - b;
    file->entries_.emplace(name, std::move(e));
  }
  // Two tensors sharing bytes would make one file's weights depend on how another tensor
  // is read; a writer never produces that, so it is refused rather than interpreted.
  std::vector<std::pair<size_t, const std::string*>> spans;
  for (const auto& [name, e] : file->entries_) {
    if (e.size > 0) spans.emplace_back(e.begin, &name);
  }
  std::sort(spans.begin(), spans.end());
  for (size_t i = 1; i < spans.size(); ++i) {
    const Entry& prev = file->entries_.at(*spans[i - 1].second);
    if (prev.begin + prev.size > spans[i].first) {
      Fail(path, "tensors \"" + *spans[i - 1].second + "\" and \"" + *spans[i].second + "\" overlap at byte offset " +
                     std::to_string(spans[i].first));
    }
  }
  return file;
}

SafetensorsFile::~SafetensorsFile() {
  if (map_) ::munmap(const_cast<unsigned char*>(map_), map_size_);
}

const SafetensorsFile::Entry* SafetensorsFile::Find(const std::string& name) const {
  auto it = entries_.find(name);
  return it == entries_.end() ? nullptr : &it->second;
}

Tensor SafetensorsFile::View(const std::string& name) const {
  const Entry* e = Find(name);
  if (!e) Fail(path_, "no tensor named \"" + name + "\"");
  return Tensor::Borrow(const_cast<unsigned char*>(map_ + e->begin), e->shape, e->dtype, self_.lock());
}

void WriteSafetensors(const std::string& path, const std::vector<NamedTensor>& tensors,
                      const std::map<std::string, std::string>& metadata) {
  nlohmann::json header = nlohmann::json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  size_t offset = 0;
  for (const auto& t : tensors) {
    header[t.name] = {{"dtype", DTypeName(t.tensor->dtype())},
                      {"shape", t.tensor->shape()},
                      {"data_offsets", {offset, offset + t.tensor->nbytes()}}};
    offset += t.tensor->nbytes();
  }
  std::string h = header.dump();
  while ((8 + h.size()) % 8 != 0) h += ' ';  // keep the data 8-byte aligned
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) throw Error(ErrorCode::kInternal, "cannot write " + path);
  unsigned char len[8];
  for (int i = 0; i < 8; ++i) len[i] = static_cast<unsigned char>(static_cast<uint64_t>(h.size()) >> (8 * i));
  out.write(reinterpret_cast<const char*>(len), 8);
  out.write(h.data(), h.size());
  // Entries in the header JSON are sorted by name, but offsets follow the vector order.
  for (const auto& t : tensors) out.write(static_cast<const char*>(t.tensor->raw()), t.tensor->nbytes());
  if (!out) throw Error(ErrorCode::kInternal, "write failed: " + path);
}

}  // namespace mms::io
