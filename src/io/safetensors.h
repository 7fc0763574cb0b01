// Reader for the safetensors format: an 8-byte little-endian header length, a JSON
// header {name: {dtype, shape, data_offsets}}, then the raw tensor bytes. The file is
// memory-mapped; tensors are views into the mapping. Every inconsistency (short file,
// bad JSON, offsets out of range, size not matching shape × dtype) is an
// Error(kInvalidModel) naming the file and the tensor.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "engine/tensor.h"

namespace mms::io {

class SafetensorsFile {
 public:
  struct Entry {
    DType dtype;
    std::vector<int64_t> shape;
    size_t begin;  // byte offset from the start of the file
    size_t size;
  };

  static std::shared_ptr<SafetensorsFile> Open(const std::string& path);
  ~SafetensorsFile();
  SafetensorsFile(const SafetensorsFile&) = delete;
  SafetensorsFile& operator=(const SafetensorsFile&) = delete;

  const std::string& path() const { return path_; }
  const Entry* Find(const std::string& name) const;
  const std::map<std::string, Entry>& entries() const { return entries_; }
  // A view into the mapping (may be unaligned for its dtype); keeps the file mapped.
  Tensor View(const std::string& name) const;

 private:
  SafetensorsFile() = default;
  std::string path_;
  const unsigned char* map_ = nullptr;
  size_t map_size_ = 0;
  std::map<std::string, Entry> entries_;
  std::weak_ptr<const SafetensorsFile> self_;
};

// Writes tensors to a safetensors file (used by tools and tests).
struct NamedTensor {
  std::string name;
  const Tensor* tensor;
};
void WriteSafetensors(const std::string& path, const std::vector<NamedTensor>& tensors,
                      const std::map<std::string, std::string>& metadata = {});

}  // namespace mms::io
