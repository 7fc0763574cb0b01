// The OpenAI answers of /v1/completions and /v1/chat/completions, whole or as server-sent
// events: "data: {chunk}\n\n" per delta, the role first (chat), a chunk with the
// finish_reason per choice, an optional usage chunk with "choices": [], then
// "data: [DONE]".
#pragma once

#include <ctime>
#include <memory>
#include <string>

#include "api/generation_session.h"

namespace mms::api::openai {

enum class GenerationApi { kCompletions, kChat };

// `id`: "cmpl-..." / "chatcmpl-..."; `created`: seconds since the epoch, the same in every chunk.
std::unique_ptr<GenerationFormatter> MakeGenerationFormatter(GenerationApi api, std::string model, std::string id,
                                                             std::time_t created, bool logprobs, int top_logprobs,
                                                             bool include_usage);
// A new response id with the API's prefix.
std::string NewCompletionId(GenerationApi api);

}  // namespace mms::api::openai
