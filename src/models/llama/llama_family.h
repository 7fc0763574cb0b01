// The LLaMA family's entry in the model-family registry (models/model_family.cpp):
// LlamaForCausalLM, MistralForCausalLM and Qwen2ForCausalLM checkpoints, served by
// iteration-level generation.
#pragma once

#include "models/model_family.h"

namespace mms::models::llama {

FamilyInfo FamilyEntry();

}  // namespace mms::models::llama
