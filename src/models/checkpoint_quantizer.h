// `mmserve quantize`: writes a copy of a checkpoint folder whose weights file holds the
// matrices the model family runs in int8 as int8, so that an int8 model loads them as
// they are instead of quantizing at every load (and the folder is ~4x smaller). The
// format is io/checkpoint.h's: "<name>" I8 [out, in] beside "<name>_scale" F32 [out].
// The values are those the loader would compute itself (same function, same bits).
#pragma once

#include <cstdint>
#include <string>

namespace mms::models {

struct QuantizeSummary {
  int64_t tensors = 0;    // tensors written (scales not counted)
  int64_t quantized = 0;  // of which int8
  uint64_t bytes = 0;     // size of the written model.safetensors
};

// out_dir must not exist yet or be empty, and must not be in_dir. Files other than the
// weights (config, tokenizer, preprocessor) are copied as they are. Errors name the
// folder, file or tensor that failed.
QuantizeSummary QuantizeCheckpoint(const std::string& in_dir, const std::string& out_dir);

}  // namespace mms::models
