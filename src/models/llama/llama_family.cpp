#include "models/llama/llama_family.h"

#include "models/llama/llama_model.h"

namespace mms::models::llama {

namespace {

std::unique_ptr<GenerativeModel> LoadGenerative(const std::string& dir, const GenerativeLoadOptions& options) {
  return LlamaModel::Load(dir, options.precision, options.threads);
}

}  // namespace

FamilyInfo FamilyEntry() {
  return {ModelFamily::kLlama,
          "llama",
          SchedulingKind::kGeneration,
          {"llama", "mistral", "qwen2"},
          {"LlamaForCausalLM", "MistralForCausalLM", "Qwen2ForCausalLM"},
          &LoadGenerative};
}

}  // namespace mms::models::llama
