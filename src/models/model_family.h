// The registry of model families: the one place that knows which families exist, how a
// checkpoint names its family (config.json's model_type / architectures), which kind of
// scheduling serves it, and how a generative family's model is loaded. Adding a family is
// a folder under src/models/ and one entry in model_family.cpp's table; the server's
// routes and schedulers are not edited.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "engine/precision.h"

namespace mms::models {

class GenerativeModel;

enum class ModelFamily { kClip, kLlama, kLlava, kWhisper };

// How a family's requests are scheduled.
enum class SchedulingKind {
  kEncoderBatching,  // requests' items run together in dynamic batches (CLIP)
  kGeneration,       // token by token, sequences joining and leaving between steps (LLaMA)
  kTranscription,    // audio windows encoded in batches, their decodings run as generation sequences (Whisper)
};

struct GenerativeLoadOptions {
  Precision precision = Precision::kFp32;
  int threads = 0;  // compute threads; 0 = all cores
};

struct FamilyInfo {
  ModelFamily family;
  const char* name;  // config.pbtxt's backend name, and what /v2/models/{m} reports
  SchedulingKind scheduling;
  // config.json model_type values and architectures entries that name this family.
  std::vector<std::string> model_types;
  std::vector<std::string> architectures;
  // kGeneration and kTranscription: loads the decoder from a checkpoint folder.
  std::unique_ptr<GenerativeModel> (*load_generative)(const std::string& dir, const GenerativeLoadOptions& options) =
      nullptr;
};

const std::vector<FamilyInfo>& Families();
const FamilyInfo& FamilyOf(ModelFamily family);
const char* ModelFamilyName(ModelFamily family);
// Reads <checkpoint_dir>/config.json; an unknown family is Error(kInvalidModel) naming it.
ModelFamily DetectModelFamily(const std::string& checkpoint_dir);
// A family's name ("clip", "llama") -> the family (config.pbtxt's `backend`);
// kInvalidModel otherwise.
ModelFamily ParseModelFamily(const std::string& name);

}  // namespace mms::models
