// A model's chat template (Hugging Face's Jinja2 `chat_template`), parsed once and rendered
// per request with the OpenAI messages. It renders as transformers' apply_chat_template
// does: trim_blocks and lstrip_blocks on, loop controls, a tojson that keeps key order and
// does not HTML-escape, raise_exception, strftime_now and the {% generation %} tag.
//
// Templates come from model folders and the --chat-template flag, so a template is hostile
// input: its size, nesting, output, loop iterations and macro recursion are all capped, and
// exceeding a cap is an Error, never a hang or a crash.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include <nlohmann/json_fwd.hpp>

namespace mms::tmpl {

class ChatTemplate {
 public:
  // Bounds on one render (defaults for serving; tests lower them).
  struct Limits {
    size_t max_output_bytes = 4u << 20;
    uint64_t max_loop_iterations = 1'000'000;
    int max_macro_depth = 32;
    uint64_t max_work = 200'000'000;  // bytes and elements built: a bound on CPU time
  };
  static constexpr size_t kMaxSourceBytes = 1u << 20;

  // Parses once; throws Error(kInvalidModel) naming `origin` (file path) with line:column.
  static ChatTemplate Parse(std::string_view source, std::string origin);

  // Renders with the given variables (a JSON object: messages, add_generation_prompt,
  // bos_token, eos_token, tools, ...). Throws Error(kInvalidArgument) for raise_exception
  // (with the template's own message) and for runtime errors (naming the template and line).
  std::string Render(const nlohmann::json& variables) const;
  std::string Render(const nlohmann::json& variables, const Limits& limits) const;
  // Prefer these for client JSON: nlohmann::json sorts object keys, ordered_json keeps them as
  // sent, and transformers renders dicts (tool schemas through tojson) in the client's order.
  // (A separate name keeps Render({{"messages", ...}}) unambiguous.)
  std::string RenderOrdered(const nlohmann::ordered_json& variables) const;
  std::string RenderOrdered(const nlohmann::ordered_json& variables, const Limits& limits) const;

  const std::string& origin() const { return origin_; }

  ChatTemplate(ChatTemplate&&) noexcept;
  ChatTemplate& operator=(ChatTemplate&&) noexcept;
  ~ChatTemplate();

 private:
  struct Program;
  ChatTemplate(std::shared_ptr<const Program> program, std::string origin);

  std::shared_ptr<const Program> program_;  // immutable: shared by concurrent renders
  std::string origin_;
};

}  // namespace mms::tmpl
