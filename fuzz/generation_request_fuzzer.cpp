// POST /v1/completions and /v1/chat/completions bodies (and the sampling fields KServe's
// generate shares): first byte even -> a completion request, odd -> a chat request.
#include "api/generation_request.h"
#include "fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  mms::api::InputLimits limits;
  limits.max_body_bytes = 1 << 20;
  const bool chat = data[0] & 1;
  const std::string_view body = mms::fuzz::AsText(data + 1, size - 1);
  mms::fuzz::ExpectCleanRefusal(chat ? "ParseChatRequest" : "ParseCompletionRequest", [&] {
    const auto r = chat ? mms::api::ParseChatRequest(body, limits) : mms::api::ParseCompletionRequest(body, limits);
    const char* what = chat ? "ParseChatRequest" : "ParseCompletionRequest";
    if (r.model.empty()) mms::fuzz::Finding(what, "accepted a request without a model");
    if (r.n < 1 || r.n > mms::api::kMaxChoices) mms::fuzz::Finding(what, "n out of range");
    if (r.stop.size() > mms::api::kMaxStopStrings) mms::fuzz::Finding(what, "too many stop strings");
    for (const auto& s : r.stop) {
      if (s.empty() || s.size() > mms::api::kMaxStopBytes) mms::fuzz::Finding(what, "stop string out of bounds");
    }
    if (chat && r.messages.empty()) mms::fuzz::Finding(what, "accepted a chat without messages");
    if (!chat && r.prompt_texts.empty() && r.prompt_ids.empty()) mms::fuzz::Finding(what, "accepted no prompt");
    if (r.max_tokens && *r.max_tokens < 1) mms::fuzz::Finding(what, "max_tokens below 1");
    if (r.sampling.temperature < 0 || r.sampling.temperature > 2) mms::fuzz::Finding(what, "temperature out of range");
    if (r.sampling.top_logprobs < 0 || r.sampling.top_logprobs > 20) mms::fuzz::Finding(what, "top_logprobs out of range");
  });
  return 0;
}
