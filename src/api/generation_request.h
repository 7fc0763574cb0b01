// What a generation request asks for, whatever API it came through (OpenAI completions
// and chat, KServe's generate extension): parsed and checked from the JSON body into
// plain values. The OpenAI field names and ranges are the contract; extensions that vLLM
// also accepts (top_k, min_p, repetition_penalty, ignore_eos, stop_token_ids,
// add_special_tokens) are read under the same names.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/input_limits.h"
#include "generation/sampling.h"

namespace mms::api {

// One chat message as the chat template receives it: `content` is the string the client
// sent, or its list of parts with each text part as {"type": "text", "text": ...} and each
// image part as {"type": "image"} (what transformers' processors hand their templates).
struct ChatMessage {
  std::string role;
  nlohmann::json content;  // a string, or a list of text and image parts
  std::vector<std::string> texts;  // the text of each text part (or the string), in order
  nlohmann::json extra = nlohmann::json::object();  // name, tool_call_id...: passed to the template
};

// An image part of a chat request, in the order of the conversation: where it came from
// (a data: URL, or an http(s) / file URL the server may fetch under its image-source
// policy) and which part it was, for errors.
struct ChatImage {
  std::string url;
  std::string where;  // "messages[1].content[0]"
};

enum class ResponseFormat { kText, kJsonObject, kJsonSchema };

struct GenerationApiRequest {
  std::string model;
  // Completions: one or more prompts, each text or token ids. Chat: messages.
  std::vector<std::string> prompt_texts;
  std::vector<std::vector<int32_t>> prompt_ids;  // used when prompt_texts is empty
  std::vector<ChatMessage> messages;
  std::vector<ChatImage> images;  // chat: the image parts of every message, in order
  bool add_generation_prompt = true;
  std::optional<bool> add_special_tokens;  // default: true for completions, false for chat (as HF)

  std::optional<int> max_tokens;  // none: completions 16, chat the rest of the context
  generation::SamplingParams sampling;
  // Which sampling fields the request set: the rest come from the model's defaults.
  bool has_temperature = false, has_top_p = false, has_top_k = false, has_repetition_penalty = false;
  int n = 1;
  bool stream = false;
  bool include_usage = false;  // stream_options.include_usage
  bool echo = false;           // completions: the prompt's text before the completion
  std::vector<std::string> stop;
  std::vector<int32_t> stop_token_ids;
  bool ignore_eos = false;
  bool skip_special_tokens = true;
  ResponseFormat response_format = ResponseFormat::kText;
  nlohmann::json json_schema;  // kJsonSchema: the schema
};

// Limits of a generation request beyond InputLimits.
inline constexpr int kMaxChoices = 16;            // n
inline constexpr size_t kMaxStopStrings = 4;      // as OpenAI
inline constexpr size_t kMaxStopBytes = 256;      // each
inline constexpr size_t kMaxPromptBytes = 4u << 20;  // one prompt, or all messages' text together
inline constexpr size_t kMaxPrompts = 64;         // completions with a list of prompts
inline constexpr size_t kMaxMessages = 4096;

// Parse POST /v1/completions and /v1/chat/completions bodies. Errors are
// Error(kInvalidArgument) naming the field and what was wrong.
GenerationApiRequest ParseCompletionRequest(std::string_view body, const InputLimits& limits);
GenerationApiRequest ParseChatRequest(std::string_view body, const InputLimits& limits);

// The sampling fields shared by every API (temperature, top_p, ..., seed, logit_bias,
// stop, n, max_tokens), read from `body` into `request`. Also used by KServe's generate,
// whose "parameters" object carries the same names.
void ReadSamplingFields(const nlohmann::json& body, GenerationApiRequest& request, bool chat);

}  // namespace mms::api
