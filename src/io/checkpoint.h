// The weights of a Hugging Face checkpoint folder: model.safetensors, or shards listed
// by model.safetensors.index.json. Model code asks for tensors by name and shape and
// gets float32 copies it owns, or an error naming the file and the tensor.
//
// A checkpoint written by `mmserve quantize` holds some weight matrices as int8: the
// tensor "<name>" is I8 [rows, ...] and "<name>_scale" is F32 [rows], one scale per row
// (output channel, the first dimension): w[r, ...] ≈ q[r, ...] · scale[r]. Float32 dequantizes them, so any
// precision can load such a checkpoint; Int8 hands them over as stored.
#pragma once

#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "io/safetensors.h"

namespace mms::io {

// "<name>_scale": where the per-row scales of the int8 tensor "<name>" are stored.
std::string Int8ScaleName(const std::string& name);

struct Int8Tensor {
  Tensor values;  // I8 [rows, ...]
  Tensor scales;  // F32 [rows]
};

class Checkpoint {
 public:
  static Checkpoint Open(const std::string& dir);

  const std::string& dir() const { return dir_; }
  bool Has(const std::string& name) const;
  // The tensor converted to F32 in aligned memory (int8 ones dequantized); its shape must
  // equal `shape`.
  Tensor Float32(const std::string& name, const std::vector<int64_t>& shape) const;
  // Whether the tensor is stored as int8 (with its scales).
  bool IsInt8(const std::string& name) const;
  // An int8 tensor and its scales, copied to aligned memory; shape is [rows, ...].
  Int8Tensor Int8(const std::string& name, const std::vector<int64_t>& shape) const;
  // The raw view (any dtype), for tensors stored in a format the model handles itself.
  Tensor Raw(const std::string& name) const;
  std::vector<std::string> Names() const;

  // A view of the tensors whose stored names begin with one of the `from` prefixes, named
  // with `to` in its place: a composite model's part (LLaVA's language model stored as
  // "language_model.model.*" or "model.language_model.*") loads with the names its own
  // family uses ("model.*"). Errors still name the tensor as the file stores it.
  // The first matching pair wins; tensors matching none are left out.
  struct PrefixRename {
    std::string from, to;
  };
  Checkpoint Renamed(const std::vector<PrefixRename>& renames) const;

 private:
  struct Location {
    size_t file = 0;
    std::string stored_name;  // the name inside the safetensors file
  };
  const Location& Find(const std::string& name) const;
  const SafetensorsFile& FileOf(const std::string& name) const { return *files_[Find(name).file]; }
  Tensor View(const std::string& name) const;
  Tensor ViewWithShape(const std::string& name, const std::vector<int64_t>& shape) const;
  std::string dir_;
  std::vector<std::shared_ptr<SafetensorsFile>> files_;
  std::unordered_map<std::string, Location> tensors_;  // by the name model code asks for
};

}  // namespace mms::io
