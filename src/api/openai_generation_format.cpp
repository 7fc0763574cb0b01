#include "api/openai_generation_format.h"

#include <nlohmann/json.hpp>
#include <random>

#include "api/openai_codec.h"

namespace mms::api::openai {

namespace {

using json = nlohmann::json;

std::string Event(const json& j) { return "data: " + j.dump(-1, ' ', false, json::error_handler_t::replace) + "\n\n"; }

json UsageJson(const Usage& u) {
  return {{"prompt_tokens", u.prompt_tokens},
          {"completion_tokens", u.completion_tokens},
          {"total_tokens", u.prompt_tokens + u.completion_tokens}};
}

json Bytes(const std::string& s) {
  json b = json::array();
  for (unsigned char c : s) b.push_back(static_cast<int>(c));
  return b;
}

class OpenAIFormatter final : public GenerationFormatter {
 public:
  OpenAIFormatter(GenerationApi api, std::string model, std::string id, std::time_t created, bool logprobs,
                  int top_logprobs, bool include_usage)
      : api_(api), model_(std::move(model)), id_(std::move(id)), created_(created), logprobs_(logprobs),
        top_logprobs_(top_logprobs), include_usage_(include_usage) {}

  std::string StartEvent(int choice) override {
    if (api_ != GenerationApi::kChat) return {};
    json c = {{"index", choice}, {"delta", {{"role", "assistant"}, {"content", ""}}}, {"logprobs", nullptr},
              {"finish_reason", nullptr}};
    return Event(Chunk(json::array({c})));
  }

  std::string DeltaEvent(int choice, std::string_view text, const std::vector<TokenLogprobOut>& logprobs) override {
    json c = {{"index", choice}};
    if (api_ == GenerationApi::kChat) {
      c["delta"] = {{"content", std::string(text)}};
    } else {
      c["text"] = std::string(text);
    }
    c["logprobs"] = logprobs_ ? LogprobsJson(logprobs) : json(nullptr);
    c["finish_reason"] = nullptr;
    return Event(Chunk(json::array({c})));
  }

  std::string FinishEvent(int choice, const std::string& finish_reason) override {
    json c = {{"index", choice}};
    if (api_ == GenerationApi::kChat) {
      c["delta"] = json::object();
    } else {
      c["text"] = "";
    }
    c["logprobs"] = nullptr;
    c["finish_reason"] = finish_reason;
    return Event(Chunk(json::array({c})));
  }

  std::string UsageEvent(const Usage& usage) override {
    json j = Chunk(json::array());
    j["usage"] = UsageJson(usage);
    return Event(j);
  }

  std::string ErrorEvent(int http_status, const std::string& message) override {
    return "data: " + openai::ErrorBody(http_status, message) + "\n\n";
  }

  std::string Body(const std::vector<ChoiceResult>& choices, const Usage& usage) override {
    json list = json::array();
    for (const auto& r : choices) {
      json c = {{"index", r.index}};
      if (api_ == GenerationApi::kChat) {
        c["message"] = {{"role", "assistant"}, {"content", r.text}};
      } else {
        c["text"] = r.text;
      }
      c["logprobs"] = logprobs_ ? LogprobsJson(r.logprobs) : json(nullptr);
      c["finish_reason"] = r.finish_reason;
      list.push_back(std::move(c));
    }
    return json({{"id", id_},
                 {"object", api_ == GenerationApi::kChat ? "chat.completion" : "text_completion"},
                 {"created", created_},
                 {"model", model_},
                 {"choices", std::move(list)},
                 {"usage", UsageJson(usage)}})
        .dump(-1, ' ', false, json::error_handler_t::replace);
  }

 private:
  json Chunk(json choices) const {
    json j = {{"id", id_},
              {"object", api_ == GenerationApi::kChat ? "chat.completion.chunk" : "text_completion"},
              {"created", created_},
              {"model", model_},
              {"choices", std::move(choices)}};
    if (include_usage_) j["usage"] = nullptr;  // every chunk but the last, as OpenAI
    return j;
  }

  // Chat: {"content": [{token, logprob, bytes, top_logprobs: [...]}]}. Completions:
  // {tokens, token_logprobs, top_logprobs: [{token: logprob}], text_offset}.
  json LogprobsJson(const std::vector<TokenLogprobOut>& tokens) const {
    if (api_ == GenerationApi::kChat) {
      json content = json::array();
      for (const auto& t : tokens) {
        json top = json::array();
        for (int i = 0; i < top_logprobs_ && i < static_cast<int>(t.top.size()); ++i) {
          top.push_back({{"token", t.top[i].first}, {"logprob", t.top[i].second}, {"bytes", Bytes(t.top[i].first)}});
        }
        content.push_back({{"token", t.token}, {"logprob", t.logprob}, {"bytes", Bytes(t.token)}, {"top_logprobs", top}});
      }
      return {{"content", content}};
    }
    json names = json::array(), values = json::array(), tops = json::array(), offsets = json::array();
    for (const auto& t : tokens) {
      names.push_back(t.token);
      values.push_back(t.logprob);
      json top = json::object();
      for (int i = 0; i < top_logprobs_ && i < static_cast<int>(t.top.size()); ++i) top[t.top[i].first] = t.top[i].second;
      tops.push_back(top);
      offsets.push_back(t.text_offset);
    }
    return {{"tokens", names}, {"token_logprobs", values}, {"top_logprobs", tops}, {"text_offset", offsets}};
  }

  GenerationApi api_;
  std::string model_, id_;
  std::time_t created_;
  bool logprobs_;
  int top_logprobs_;
  bool include_usage_;
};

}  // namespace

std::unique_ptr<GenerationFormatter> MakeGenerationFormatter(GenerationApi api, std::string model, std::string id,
                                                             std::time_t created, bool logprobs, int top_logprobs,
                                                             bool include_usage) {
  return std::make_unique<OpenAIFormatter>(api, std::move(model), std::move(id), created, logprobs, top_logprobs,
                                           include_usage);
}

std::string NewCompletionId(GenerationApi api) {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(rng()));
  return std::string(api == GenerationApi::kChat ? "chatcmpl-" : "cmpl-") + hex;
}

}  // namespace mms::api::openai
