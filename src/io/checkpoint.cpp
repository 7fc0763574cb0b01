#include "io/checkpoint.h"

#include <nlohmann/json.hpp>

#include "base/error.h"
#include "base/file_util.h"

namespace mms::io {

Checkpoint Checkpoint::Open(const std::string& dir) {
  Checkpoint ckpt;
  ckpt.dir_ = dir;
  const std::string single = dir + "/model.safetensors";
  const std::string index = dir + "/model.safetensors.index.json";
  if (FileExists(single)) {
    ckpt.files_.push_back(SafetensorsFile::Open(single));
  } else if (FileExists(index)) {
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(ReadFileBytes(index));
    } catch (const nlohmann::json::exception& e) {
      ThrowInvalidModel(index + ": not valid JSON: " + e.what());
    }
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
    for (const auto& [name, entry] : ckpt.files_[i]->entries()) ckpt.file_of_tensor_.emplace(name, i);
  }
  return ckpt;
}

bool Checkpoint::Has(const std::string& name) const { return file_of_tensor_.count(name) != 0; }

const SafetensorsFile& Checkpoint::FileOf(const std::string& name) const {
  auto it = file_of_tensor_.find(name);
  if (it == file_of_tensor_.end()) ThrowInvalidModel(dir_ + ": checkpoint has no tensor \"" + name + "\"");
  return *files_[it->second];
}

Tensor Checkpoint::Raw(const std::string& name) const { return FileOf(name).View(name); }

Tensor Checkpoint::Float32(const std::string& name, const std::vector<int64_t>& shape) const {
  const SafetensorsFile& file = FileOf(name);
  Tensor view = file.View(name);
  if (view.shape() != shape) {
    ThrowInvalidModel(file.path() + ": tensor \"" + name + "\" has shape " + view.ShapeString() + ", expected " +
                      ShapeToString(shape) + " from config.json");
  }
  if (view.dtype() != DType::kF32 && view.dtype() != DType::kF16 && view.dtype() != DType::kBF16) {
    ThrowInvalidModel(file.path() + ": tensor \"" + name + "\" has dtype " + DTypeName(view.dtype()) +
                      ", expected F32, F16 or BF16");
  }
  return view.ToFloat32();
}

std::vector<std::string> Checkpoint::Names() const {
  std::vector<std::string> names;
  for (const auto& [n, i] : file_of_tensor_) names.push_back(n);
  return names;
}

}  // namespace mms::io
