#include "api/generation_request.h"

#include <cmath>
#include <limits>

#include "api/json_body.h"
#include "base/error.h"

namespace mms::api {

namespace {

using json = nlohmann::json;

[[noreturn]] void Bad(const std::string& field, const std::string& what) {
  ThrowInvalidArgument("\"" + field + "\" " + what);
}

const json* Field(const json& body, const char* name) {
  auto it = body.find(name);
  if (it == body.end() || it->is_null()) return nullptr;
  return &*it;
}

double Number(const json& body, const char* name, double low, double high) {
  const json& v = *Field(body, name);
  if (!v.is_number()) Bad(name, "must be a number, not " + DescribeClientValue(v));
  const double x = v.get<double>();
  if (!std::isfinite(x) || x < low || x > high) {
    Bad(name, "is " + DescribeClientValue(v) + "; it must be between " + DescribeClientValue(json(low)) + " and " +
                  DescribeClientValue(json(high)));
  }
  return x;
}

int64_t Integer(const json& body, const char* name, int64_t low, int64_t high) {
  const json& v = *Field(body, name);
  if (!v.is_number_integer()) Bad(name, "must be an integer, not " + DescribeClientValue(v));
  const int64_t x = v.get<int64_t>();
  if (x < low || x > high) {
    Bad(name, "is " + std::to_string(x) + "; it must be between " + std::to_string(low) + " and " +
                  std::to_string(high));
  }
  return x;
}

bool Boolean(const json& body, const char* name) {
  const json& v = *Field(body, name);
  if (!v.is_boolean()) Bad(name, "must be true or false, not " + DescribeClientValue(v));
  return v.get<bool>();
}

std::string Text(const json& v, const std::string& where, const InputLimits& limits, size_t max_bytes) {
  if (!v.is_string()) ThrowInvalidArgument(where + " must be a string, not " + DescribeClientValue(v));
  const auto& s = v.get_ref<const std::string&>();
  if (s.size() > max_bytes) {
    throw Error(ErrorCode::kTooLarge, where + " is " + std::to_string(s.size()) + " bytes; at most " +
                                          std::to_string(max_bytes) + " are accepted");
  }
  if (const size_t bad = FindInvalidUtf8(s); bad != std::string::npos) {
    ThrowInvalidArgument(where + " is not valid UTF-8 (byte " + std::to_string(bad) + ")");
  }
  return s;
}

std::vector<int32_t> TokenIds(const json& v, const std::string& where) {
  std::vector<int32_t> ids;
  if (v.size() > kMaxPromptBytes / 4) ThrowInvalidArgument(where + " has too many token ids");
  for (const auto& id : v) {
    if (!id.is_number_integer() || id.get<int64_t>() < 0 || id.get<int64_t>() > std::numeric_limits<int32_t>::max()) {
      ThrowInvalidArgument(where + " must hold token ids (non-negative integers), not " + DescribeClientValue(id));
    }
    ids.push_back(static_cast<int32_t>(id.get<int64_t>()));
  }
  if (ids.empty()) ThrowInvalidArgument(where + " is empty");
  return ids;
}

json ParseObject(std::string_view body) {
  json j = ParseJsonBody(body, "the request");
  if (!j.is_object()) ThrowInvalidArgument("the request must be a JSON object");
  return j;
}

std::string ModelName(const json& body) {
  const json* model = Field(body, "model");
  if (!model || !model->is_string() || model->get_ref<const std::string&>().empty()) {
    ThrowInvalidArgument("\"model\" is required: the name of a served model (GET /v1/models lists them)");
  }
  return model->get<std::string>();
}

void ReadResponseFormat(const json& body, GenerationApiRequest& r) {
  const json* f = Field(body, "response_format");
  if (!f) return;
  if (!f->is_object() || !f->contains("type") || !(*f)["type"].is_string()) {
    Bad("response_format", "must be an object with a \"type\" (text, json_object or json_schema)");
  }
  const std::string type = (*f)["type"];
  if (type == "text") return;
  if (type == "json_object") {
    r.response_format = ResponseFormat::kJsonObject;
    return;
  }
  if (type != "json_schema") Bad("response_format.type", "is " + QuoteClientText(type) + "; use text, json_object or json_schema");
  const json* spec = Field(*f, "json_schema");
  if (!spec || !spec->is_object()) Bad("response_format.json_schema", "must be an object with a \"schema\"");
  const json* schema = Field(*spec, "schema");
  if (!schema || !schema->is_object()) Bad("response_format.json_schema.schema", "must be a JSON Schema object");
  r.response_format = ResponseFormat::kJsonSchema;
  r.json_schema = *schema;
}

}  // namespace

void ReadSamplingFields(const json& body, GenerationApiRequest& r, bool chat) {
  auto& s = r.sampling;
  if (Field(body, "temperature")) {
    s.temperature = static_cast<float>(Number(body, "temperature", 0, 2));
    r.has_temperature = true;
  }
  if (Field(body, "top_p")) {
    s.top_p = static_cast<float>(Number(body, "top_p", 0, 1));
    if (s.top_p <= 0) Bad("top_p", "must be greater than 0");
    r.has_top_p = true;
  }
  if (Field(body, "top_k")) {
    const int64_t k = Integer(body, "top_k", -1, 1 << 20);
    s.top_k = k < 0 ? 0 : static_cast<int>(k);  // -1: off, as vLLM
    r.has_top_k = true;
  }
  if (Field(body, "min_p")) s.min_p = static_cast<float>(Number(body, "min_p", 0, 1));
  if (Field(body, "repetition_penalty")) {
    s.repetition_penalty = static_cast<float>(Number(body, "repetition_penalty", 0.01, 10));
    r.has_repetition_penalty = true;
  }
  if (Field(body, "presence_penalty")) s.presence_penalty = static_cast<float>(Number(body, "presence_penalty", -2, 2));
  if (Field(body, "frequency_penalty")) s.frequency_penalty = static_cast<float>(Number(body, "frequency_penalty", -2, 2));
  if (Field(body, "seed")) {
    const json& v = body["seed"];
    if (!v.is_number_integer()) Bad("seed", "must be an integer");
    s.seed = v.is_number_unsigned() ? v.get<uint64_t>() : static_cast<uint64_t>(v.get<int64_t>());
  }
  if (const json* bias = Field(body, "logit_bias")) {
    if (!bias->is_object()) Bad("logit_bias", "must be an object mapping token ids to biases");
    if (bias->size() > 1024) Bad("logit_bias", "has more than 1024 entries");
    for (const auto& [key, value] : bias->items()) {
      size_t used = 0;
      long long id = -1;
      try {
        id = std::stoll(key, &used);
      } catch (const std::exception&) {
        used = 0;
      }
      if (used != key.size() || id < 0 || id > std::numeric_limits<int32_t>::max()) {
        Bad("logit_bias", "key " + QuoteClientText(key) + " is not a token id");
      }
      if (!value.is_number() || value.get<double>() < -100 || value.get<double>() > 100) {
        Bad("logit_bias", "value for token " + key + " must be a number between -100 and 100");
      }
      s.logit_bias[static_cast<int32_t>(id)] = value.get<float>();
    }
  }
  const char* max_field = nullptr;
  if (chat && Field(body, "max_completion_tokens")) max_field = "max_completion_tokens";
  if (!max_field && Field(body, "max_tokens")) max_field = "max_tokens";
  if (max_field) r.max_tokens = static_cast<int>(Integer(body, max_field, 1, 1 << 24));
  if (Field(body, "n")) r.n = static_cast<int>(Integer(body, "n", 1, kMaxChoices));
  if (const json* stop = Field(body, "stop")) {
    std::vector<json> list;
    if (stop->is_string()) {
      list.push_back(*stop);
    } else if (stop->is_array()) {
      list.assign(stop->begin(), stop->end());
    } else {
      Bad("stop", "must be a string or a list of strings");
    }
    if (list.size() > kMaxStopStrings) Bad("stop", "lists more than " + std::to_string(kMaxStopStrings) + " strings");
    for (const auto& item : list) {
      std::string text = Text(item, "\"stop\"", InputLimits{}, kMaxStopBytes);
      if (text.empty()) Bad("stop", "holds an empty string");
      r.stop.push_back(std::move(text));
    }
  }
  if (const json* ids = Field(body, "stop_token_ids")) {
    if (!ids->is_array() || ids->size() > 64) Bad("stop_token_ids", "must be a list of at most 64 token ids");
    r.stop_token_ids = TokenIds(*ids, "\"stop_token_ids\"");
  }
  if (Field(body, "ignore_eos")) r.ignore_eos = Boolean(body, "ignore_eos");
  if (Field(body, "skip_special_tokens")) r.skip_special_tokens = Boolean(body, "skip_special_tokens");
  if (Field(body, "add_special_tokens")) r.add_special_tokens = Boolean(body, "add_special_tokens");
  if (Field(body, "stream")) r.stream = Boolean(body, "stream");
  if (const json* options = Field(body, "stream_options")) {
    if (!options->is_object()) Bad("stream_options", "must be an object");
    if (!r.stream) Bad("stream_options", "is only allowed with \"stream\": true");
    if (Field(*options, "include_usage")) r.include_usage = Boolean(*options, "include_usage");
  }
  ReadResponseFormat(body, r);
}

GenerationApiRequest ParseCompletionRequest(std::string_view text, const InputLimits& limits) {
  const json body = ParseObject(text);
  GenerationApiRequest r;
  r.model = ModelName(body);
  const json* prompt = Field(body, "prompt");
  if (!prompt) Bad("prompt", "is required: a string, a list of strings, or token ids");
  if (prompt->is_string()) {
    r.prompt_texts.push_back(Text(*prompt, "\"prompt\"", limits, kMaxPromptBytes));
  } else if (prompt->is_array() && !prompt->empty() && (*prompt)[0].is_number()) {
    r.prompt_ids.push_back(TokenIds(*prompt, "\"prompt\""));
  } else if (prompt->is_array() && !prompt->empty()) {
    if (prompt->size() > kMaxPrompts) Bad("prompt", "lists more than " + std::to_string(kMaxPrompts) + " prompts");
    const bool texts = (*prompt)[0].is_string();
    for (size_t i = 0; i < prompt->size(); ++i) {
      const std::string where = "\"prompt\"[" + std::to_string(i) + "]";
      if (texts) {
        r.prompt_texts.push_back(Text((*prompt)[i], where, limits, kMaxPromptBytes));
      } else if ((*prompt)[i].is_array()) {
        r.prompt_ids.push_back(TokenIds((*prompt)[i], where));
      } else {
        ThrowInvalidArgument(where + " must be a string (like the first) or a list of token ids");
      }
    }
  } else {
    Bad("prompt", "must be a non-empty string, list of strings, or list of token ids");
  }
  for (const char* unsupported : {"suffix", "best_of"}) {
    if (const json* v = Field(body, unsupported); v && !(std::string(unsupported) == "best_of" && *v == 1)) {
      Bad(unsupported, "is not supported");
    }
  }
  if (Field(body, "echo")) r.echo = Boolean(body, "echo");
  if (const json* lp = Field(body, "logprobs")) {
    if (lp->is_boolean()) {
      r.sampling.logprobs = lp->get<bool>();
    } else {
      r.sampling.top_logprobs = static_cast<int>(Integer(body, "logprobs", 0, 20));
      r.sampling.logprobs = true;
    }
  }
  ReadSamplingFields(body, r, false);
  if (r.echo && r.stream) Bad("echo", "is not supported with \"stream\": true");
  return r;
}

GenerationApiRequest ParseChatRequest(std::string_view text, const InputLimits& limits) {
  const json body = ParseObject(text);
  GenerationApiRequest r;
  r.model = ModelName(body);
  const json* messages = Field(body, "messages");
  if (!messages || !messages->is_array() || messages->empty()) {
    Bad("messages", "is required: a non-empty list of {\"role\", \"content\"} messages");
  }
  if (messages->size() > kMaxMessages) Bad("messages", "has more than " + std::to_string(kMaxMessages) + " messages");
  size_t total_bytes = 0;
  for (size_t i = 0; i < messages->size(); ++i) {
    const json& m = (*messages)[i];
    const std::string where = "messages[" + std::to_string(i) + "]";
    if (!m.is_object()) ThrowInvalidArgument(where + " must be an object with \"role\" and \"content\"");
    ChatMessage message;
    if (!m.contains("role") || !m["role"].is_string()) ThrowInvalidArgument(where + ".role must be a string");
    message.role = m["role"].get<std::string>();
    static const char* kRoles[] = {"system", "user", "assistant", "developer", "tool"};
    if (std::find(std::begin(kRoles), std::end(kRoles), message.role) == std::end(kRoles)) {
      ThrowInvalidArgument(where + ".role is " + QuoteClientText(message.role) +
                           "; it must be system, developer, user, assistant or tool");
    }
    const json* content = Field(m, "content");
    if (!content) {
      message.content = "";
    } else if (content->is_string()) {
      message.texts.push_back(Text(*content, where + ".content", limits, kMaxPromptBytes));
      message.content = *content;
    } else if (content->is_array()) {
      message.content = json::array();
      for (size_t p = 0; p < content->size(); ++p) {
        const json& part = (*content)[p];
        const std::string part_where = where + ".content[" + std::to_string(p) + "]";
        if (!part.is_object() || !part.contains("type") || !part["type"].is_string()) {
          ThrowInvalidArgument(part_where + " must be an object with a \"type\"");
        }
        const std::string type = part["type"];
        if (type == "text") {
          if (!part.contains("text")) ThrowInvalidArgument(part_where + " has no \"text\"");
          std::string t = Text(part["text"], part_where + ".text", limits, kMaxPromptBytes);
          message.content.push_back({{"type", "text"}, {"text", t}});
          message.texts.push_back(std::move(t));
        } else if (type == "image_url" || type == "input_image") {
          // {"type": "image_url", "image_url": {"url": ...}} (chat completions), or the
          // url as a plain string there (the Responses API's input_image carries it so).
          const json* ref = Field(part, "image_url");
          const json* url = ref && ref->is_object() ? Field(*ref, "url") : ref;
          if (!url || !url->is_string() || url->get_ref<const std::string&>().empty()) {
            ThrowInvalidArgument(part_where + " must carry the image as \"image_url\": {\"url\": \"data:image/...\"}");
          }
          if (r.images.size() >= limits.max_images) {
            throw Error(ErrorCode::kTooLarge, part_where + ": more than " + std::to_string(limits.max_images) +
                                                  " images in one request (the server's limit)");
          }
          r.images.push_back({url->get<std::string>(), part_where});
          message.content.push_back({{"type", "image"}});
        } else {
          ThrowInvalidArgument(part_where + ".type is " + QuoteClientText(type) +
                               "; the accepted parts are \"text\" and \"image_url\"");
        }
      }
    } else {
      ThrowInvalidArgument(where + ".content must be a string or a list of content parts");
    }
    for (const auto& t : message.texts) total_bytes += t.size();
    if (m.contains("name")) message.extra["name"] = Text(m["name"], where + ".name", limits, 256);
    r.messages.push_back(std::move(message));
  }
  if (total_bytes > kMaxPromptBytes) {
    throw Error(ErrorCode::kTooLarge, "the messages hold " + std::to_string(total_bytes) + " bytes of text; at most " +
                                          std::to_string(kMaxPromptBytes) + " are accepted");
  }
  if (const json* tools = Field(body, "tools"); tools && !tools->empty()) {
    Bad("tools", "is not supported: mmserve does not parse tool calls from the output");
  }
  if (Field(body, "logprobs")) r.sampling.logprobs = Boolean(body, "logprobs");
  if (Field(body, "top_logprobs")) {
    r.sampling.top_logprobs = static_cast<int>(Integer(body, "top_logprobs", 0, 20));
    if (!r.sampling.logprobs && r.sampling.top_logprobs > 0) Bad("top_logprobs", "needs \"logprobs\": true");
  }
  if (Field(body, "add_generation_prompt")) r.add_generation_prompt = Boolean(body, "add_generation_prompt");
  ReadSamplingFields(body, r, true);
  return r;
}

}  // namespace mms::api
