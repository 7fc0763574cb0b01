#include "io/checkpoint.h"

#include <cmath>
#include <cstring>
#include <nlohmann/json.hpp>

#include "base/error.h"
#include "base/file_util.h"
#include "io/json_config.h"

namespace mms::io {

Checkpoint Checkpoint::Open(const std::string& dir) {
  Checkpoint ckpt;
  ckpt.dir_ = dir;
  const std::string single = dir + "/model.safetensors";
  const std::string index = dir + "/model.safetensors.index.json";
  if (FileExists(single)) {
    ckpt.files_.push_back(SafetensorsFile::Open(single));
  } else if (FileExists(index)) {
    const nlohmann::json j = LoadJsonFile(index);  // size-capped like every JSON config file
    if (!j.is_object()) ThrowInvalidModel(index + ": not a JSON object");
    if (!j.contains("weight_map") || !j["weight_map"].is_object()) ThrowInvalidModel(index + ": no \"weight_map\" object");
    std::unordered_map<std::string, size_t> shard_index;
    for (const auto& [tensor, shard] : j["weight_map"].items()) {
      if (!shard.is_string()) ThrowInvalidModel(index + ": weight_map[\"" + tensor + "\"] is not a file name");
      const std::string file = shard.get<std::string>();
      if (file.find('/') != std::string::npos) ThrowInvalidModel(index + ": shard name \"" + file + "\" must be a plain file name");
      auto it = shard_index.find(file);
      if (it == shard_index.end()) {
        it = shard_index.emplace(file, ckpt.files_.size()).first;
        ckpt.files_.push_back(SafetensorsFile::Open(dir + "/" + file));
      }
      if (!ckpt.files_[it->second]->Find(tensor)) ThrowInvalidModel(dir + "/" + file + ": index lists \"" + tensor + "\" but the shard lacks it");
    }
  } else if (FileExists(dir + "/pytorch_model.bin")) {
    ThrowInvalidModel(dir + ": only pytorch_model.bin found; mmserve reads safetensors (convert the checkpoint, or use a revision that has model.safetensors)");
  } else {
    ThrowInvalidModel(dir + ": neither model.safetensors nor model.safetensors.index.json found");
  }
  for (size_t i = 0; i < ckpt.files_.size(); ++i) {
    for (const auto& [name, entry] : ckpt.files_[i]->entries()) {
      // A tensor in two shards is ambiguous: which copy the model gets must not depend on
      // the order of the index.
      const auto [it, added] = ckpt.tensors_.emplace(name, Location{i, name});
      if (!added) {
        ThrowInvalidModel(ckpt.files_[i]->path() + ": tensor \"" + name + "\" is also in " +
                          ckpt.files_[it->second.file]->path());
      }
    }
  }
  return ckpt;
}

bool Checkpoint::Has(const std::string& name) const { return tensors_.count(name) != 0; }

const Checkpoint::Location& Checkpoint::Find(const std::string& name) const {
  auto it = tensors_.find(name);
  if (it == tensors_.end()) ThrowInvalidModel(dir_ + ": checkpoint has no tensor \"" + name + "\"");
  return it->second;
}

Tensor Checkpoint::View(const std::string& name) const {
  const Location& at = Find(name);
  return files_[at.file]->View(at.stored_name);
}

Tensor Checkpoint::Raw(const std::string& name) const { return View(name); }

Checkpoint Checkpoint::Renamed(const std::vector<PrefixRename>& renames) const {
  Checkpoint out;
  out.dir_ = dir_;
  out.files_ = files_;
  for (const auto& [name, at] : tensors_) {
    for (const PrefixRename& r : renames) {
      if (name.compare(0, r.from.size(), r.from) != 0) continue;
      const std::string renamed = r.to + name.substr(r.from.size());
      const auto [it, added] = out.tensors_.emplace(renamed, at);
      if (!added) {
        ThrowInvalidModel(dir_ + ": tensors \"" + it->second.stored_name + "\" and \"" + at.stored_name +
                          "\" would both be read as \"" + renamed + "\"");
      }
      break;
    }
  }
  return out;
}

std::string Int8ScaleName(const std::string& name) { return name + "_scale"; }

Tensor Checkpoint::ViewWithShape(const std::string& name, const std::vector<int64_t>& shape) const {
  const SafetensorsFile& file = FileOf(name);
  Tensor view = View(name);
  if (view.shape() != shape) {
    ThrowInvalidModel(file.path() + ": tensor \"" + Find(name).stored_name + "\" has shape " + view.ShapeString() + ", expected " +
                      ShapeToString(shape) + " from config.json");
  }
  return view;
}

Tensor Checkpoint::Float32(const std::string& name, const std::vector<int64_t>& shape) const {
  const Tensor view = ViewWithShape(name, shape);
  if (view.dtype() == DType::kI8) {
    const Int8Tensor q = Int8(name, shape);
    Tensor out = Tensor::Empty(shape, DType::kF32);
    const int64_t rows = shape[0], cols = q.values.numel() / rows;
    const int8_t* v = q.values.data<int8_t>();
    const float* s = q.scales.data<float>();
    float* o = out.data<float>();
    for (int64_t r = 0; r < rows; ++r) {
      for (int64_t c = 0; c < cols; ++c) o[r * cols + c] = v[r * cols + c] * s[r];
    }
    return out;
  }
  if (view.dtype() != DType::kF32 && view.dtype() != DType::kF16 && view.dtype() != DType::kBF16) {
    ThrowInvalidModel(FileOf(name).path() + ": tensor \"" + Find(name).stored_name + "\" has dtype " +
                      DTypeName(view.dtype()) + ", expected F32, F16, BF16 (or I8 with \"" + Int8ScaleName(name) + "\")");
  }
  return view.ToFloat32();
}

bool Checkpoint::IsInt8(const std::string& name) const { return View(name).dtype() == DType::kI8; }

Int8Tensor Checkpoint::Int8(const std::string& name, const std::vector<int64_t>& shape) const {
  const Tensor view = ViewWithShape(name, shape);
  const std::string& path = FileOf(name).path();
  if (view.dtype() != DType::kI8) {
    ThrowInvalidModel(path + ": tensor \"" + name + "\" has dtype " + DTypeName(view.dtype()) + ", expected I8");
  }
  if (shape.size() < 2) {
    ThrowInvalidModel(path + ": int8 tensor \"" + name + "\" must have at least 2 dimensions, has shape " +
                      view.ShapeString());
  }
  const std::string scale_name = Int8ScaleName(name);
  if (!Has(scale_name)) {
    ThrowInvalidModel(path + ": int8 tensor \"" + name + "\" has no scales (\"" + scale_name + "\" is missing)");
  }
  const Tensor scale_view = View(scale_name);
  if (scale_view.dtype() != DType::kF32 || scale_view.shape() != std::vector<int64_t>{shape[0]}) {
    ThrowInvalidModel(FileOf(scale_name).path() + ": tensor \"" + scale_name + "\" must be F32 [" +
                      std::to_string(shape[0]) + "], is " + DTypeName(scale_view.dtype()) + " " +
                      scale_view.ShapeString());
  }
  Int8Tensor t{Tensor::Empty(shape, DType::kI8), scale_view.ToFloat32()};
  std::memcpy(t.values.raw(), view.raw(), view.nbytes());
  for (int64_t r = 0; r < shape[0]; ++r) {
    const float s = t.scales.data<float>()[r];
    if (!(s > 0.0f) || !std::isfinite(s)) {
      ThrowInvalidModel(FileOf(scale_name).path() + ": tensor \"" + scale_name + "\" row " + std::to_string(r) +
                        " has scale " + std::to_string(s) + "; scales must be positive and finite");
    }
  }
  return t;
}

std::vector<std::string> Checkpoint::Names() const {
  std::vector<std::string> names;
  for (const auto& [n, at] : tensors_) names.push_back(n);
  return names;
}

}  // namespace mms::io
