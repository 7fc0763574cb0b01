// The weights of a Hugging Face checkpoint folder: model.safetensors, or shards listed
// by model.safetensors.index.json. Model code asks for tensors by name and shape and
// gets float32 copies it owns, or an error naming the file and the tensor.
#pragma once

#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "io/safetensors.h"

namespace mms::io {

class Checkpoint {
 public:
  static Checkpoint Open(const std::string& dir);

  const std::string& dir() const { return dir_; }
  bool Has(const std::string& name) const;
  // The tensor converted to F32 in aligned memory; its shape must equal `shape`.
  Tensor Float32(const std::string& name, const std::vector<int64_t>& shape) const;
  // The raw view (any dtype), for tensors stored in a format the model handles itself.
  Tensor Raw(const std::string& name) const;
  std::vector<std::string> Names() const;

 private:
  const SafetensorsFile& FileOf(const std::string& name) const;
  std::string dir_;
  std::vector<std::shared_ptr<SafetensorsFile>> files_;
  std::unordered_map<std::string, size_t> file_of_tensor_;
};

}  // namespace mms::io
