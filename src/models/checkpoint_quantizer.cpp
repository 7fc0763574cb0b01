#include "models/checkpoint_quantizer.h"

#include <algorithm>
#include <cstring>
#include <deque>
#include <filesystem>
#include <set>
#include <system_error>
#include <vector>

#include "base/error.h"
#include "engine/ops/quantize.h"
#include "io/checkpoint.h"
#include "io/safetensors.h"
#include "models/clip/clip_config.h"
#include "models/clip/clip_model.h"
#include "models/llama/llama_model.h"
#include "models/llava/llava_model.h"
#include "models/model_family.h"
#include "models/whisper/whisper_model.h"

namespace mms::models {

namespace {

namespace fs = std::filesystem;

std::vector<std::string> Int8WeightNames(const std::string& dir) {
  switch (DetectModelFamily(dir)) {
    case ModelFamily::kClip: return ClipModel::Int8WeightNames(ClipConfig::FromFile(dir + "/config.json"));
    case ModelFamily::kLlama: return LlamaModel::Int8WeightNames(LlamaConfig::FromFile(dir + "/config.json"));
    case ModelFamily::kLlava: return LlavaModel::Int8WeightNames(dir);
    case ModelFamily::kWhisper: return WhisperModel::Int8WeightNames(WhisperConfig::Load(dir));
  }
  ThrowInternal("no int8 weight list for the model family of " + dir);
}

// Weights in the formats a checkpoint folder may carry them; the copy has its own.
bool IsWeightsFile(const std::string& file) {
  return file.ends_with(".safetensors") || file == "model.safetensors.index.json" ||
         (file.starts_with("pytorch_model") && file.ends_with(".bin"));
}

void CheckOutputFolder(const std::string& in_dir, const std::string& out_dir) {
  std::error_code ec;
  if (fs::exists(out_dir, ec)) {
    if (fs::equivalent(in_dir, out_dir, ec)) ThrowInvalidArgument(out_dir + " is the input folder; give a new folder");
    if (!fs::is_directory(out_dir, ec) || !fs::is_empty(out_dir, ec)) {
      ThrowInvalidArgument(out_dir + " exists and is not an empty folder; give a new folder");
    }
  }
  fs::create_directories(out_dir, ec);
  if (ec) throw Error(ErrorCode::kInternal, "cannot create " + out_dir + ": " + ec.message());
}

}  // namespace

QuantizeSummary QuantizeCheckpoint(const std::string& in_dir, const std::string& out_dir) {
  const std::vector<std::string> int8_names = Int8WeightNames(in_dir);
  const io::Checkpoint ckpt = io::Checkpoint::Open(in_dir);
  const std::set<std::string> to_quantize(int8_names.begin(), int8_names.end());
  for (const auto& name : int8_names) {
    if (!ckpt.Has(name)) ThrowInvalidModel(in_dir + ": checkpoint has no tensor \"" + name + "\" to quantize");
  }
  CheckOutputFolder(in_dir, out_dir);

  std::deque<Tensor> storage;          // stable addresses for the NamedTensor pointers
  std::vector<io::NamedTensor> tensors;
  auto add = [&](const std::string& name, Tensor t) {
    storage.push_back(std::move(t));
    tensors.push_back({name, &storage.back()});
  };
  QuantizeSummary summary;
  std::vector<std::string> names = ckpt.Names();
  std::sort(names.begin(), names.end());
  for (const auto& name : names) {
    if (to_quantize.count(name)) {
      const Tensor raw = ckpt.Raw(name);
      if (raw.rank() < 2 || raw.numel() == 0) {
        ThrowInvalidModel(in_dir + ": tensor \"" + name + "\" to quantize has shape " + raw.ShapeString() +
                          "; expected [out, in, ...]");
      }
      if (raw.dtype() == DType::kI8) {  // already int8 (a quantized folder quantized again): keep it
        io::Int8Tensor q = ckpt.Int8(name, raw.shape());
        add(name, std::move(q.values));
        add(io::Int8ScaleName(name), std::move(q.scales));
      } else {
        const Tensor w = ckpt.Float32(name, raw.shape());
        Tensor q = Tensor::Empty(raw.shape(), DType::kI8);
        Tensor scales = Tensor::Empty({raw.dim(0)}, DType::kF32);
        ops::QuantizeRowsS8(w.data<float>(), raw.dim(0), raw.numel() / raw.dim(0), q.data<int8_t>(), scales.data<float>());
        add(name, std::move(q));
        add(io::Int8ScaleName(name), std::move(scales));
      }
      ++summary.quantized;
    } else if (name.ends_with("_scale") && to_quantize.count(name.substr(0, name.size() - 6))) {
      continue;  // written with its int8 tensor above
    } else {
      add(name, ckpt.Raw(name));  // a view of the input file, copied byte for byte
    }
    ++summary.tensors;
  }
  // Widest elements first: with the data section 8-byte aligned, every tensor then starts
  // at a multiple of its element size, so readers may use it in place.
  std::stable_sort(tensors.begin(), tensors.end(), [](const io::NamedTensor& a, const io::NamedTensor& b) {
    return DTypeSize(a.tensor->dtype()) > DTypeSize(b.tensor->dtype());
  });

  const std::string path = out_dir + "/model.safetensors";
  const std::string tmp = path + ".tmp";
  std::error_code ec;
  try {
    io::WriteSafetensors(tmp, tensors,
                         {{"format", "pt"},
                          {"quantization", "int8: <name> I8 [out, in], per-output-channel scales in <name>_scale F32 [out]"}});
  } catch (...) {
    fs::remove(tmp, ec);
    throw;
  }
  fs::rename(tmp, path, ec);
  if (ec) throw Error(ErrorCode::kInternal, "cannot rename " + tmp + " to " + path + ": " + ec.message());
  summary.bytes = fs::file_size(path);

  for (const auto& entry : fs::directory_iterator(in_dir)) {
    const std::string file = entry.path().filename().string();
    if (!entry.is_regular_file() || IsWeightsFile(file)) continue;
    fs::copy_file(entry.path(), fs::path(out_dir) / file, ec);
    if (ec) throw Error(ErrorCode::kInternal, "cannot copy " + entry.path().string() + " to " + out_dir + ": " + ec.message());
  }
  return summary;
}

}  // namespace mms::models
