// Chat templates (template::ChatTemplate): the bytes are a template, as a model folder or
// --chat-template supplies it, parsed and rendered with chat-shaped variables. After a line
// "\n#vars\n" the rest, if it is JSON, replaces the variables, so that the fuzzer also
// explores what clients can put in messages and tools.
#include <nlohmann/json.hpp>

#include "fuzz_support.h"
#include "template/chat_template.h"

namespace {

const nlohmann::ordered_json& DefaultVariables() {
  static const nlohmann::ordered_json vars = nlohmann::ordered_json::parse(R"({
    "bos_token": "<s>", "eos_token": "</s>", "add_generation_prompt": true,
    "messages": [
      {"role": "system", "content": "sys"},
      {"role": "user", "content": "hi\n{{x}} \u00e9"},
      {"role": "assistant", "content": null, "tool_calls": [{"id": "abc123456", "type": "function",
        "function": {"name": "f", "arguments": {"a": 1, "b": [true, null, 2.5]}}}]},
      {"role": "tool", "tool_call_id": "abc123456", "content": "42"},
      {"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "what?"}]}
    ],
    "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}]
  })");
  return vars;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input = mms::fuzz::AsText(data, size);
  nlohmann::ordered_json custom;
  const size_t split = input.find("\n#vars\n");
  if (split != std::string_view::npos) {
    custom = nlohmann::ordered_json::parse(input.substr(split + 7), nullptr, /*allow_exceptions=*/false);
    input = input.substr(0, split);
  }
  const nlohmann::ordered_json& vars = custom.is_object() ? custom : DefaultVariables();
  // Small caps keep each run fast; the defaults are the same code with larger numbers.
  mms::tmpl::ChatTemplate::Limits limits;
  limits.max_output_bytes = 1 << 16;
  limits.max_loop_iterations = 20000;
  limits.max_macro_depth = 16;
  limits.max_work = 2'000'000;
  mms::fuzz::ExpectCleanRefusal("ChatTemplate", [&] {
    const auto tmpl = mms::tmpl::ChatTemplate::Parse(input, "fuzz.jinja");
    const std::string out = tmpl.RenderOrdered(vars, limits);
    if (out.size() > limits.max_output_bytes) {
      mms::fuzz::Finding("ChatTemplate::Render", "output over max_output_bytes");
    }
  });
  return 0;
}
