#include "template/chat_template.h"

#include <nlohmann/json.hpp>

#include "base/error.h"
#include "template/ast.h"
#include "template/interpreter.h"
#include "template/lexer.h"
#include "template/parser.h"
#include "template/text_util.h"

namespace mms::tmpl {

struct ChatTemplate::Program {
  mms::tmpl::Body body;
};

ChatTemplate::ChatTemplate(std::shared_ptr<const Program> program, std::string origin)
    : program_(std::move(program)), origin_(std::move(origin)) {}
ChatTemplate::ChatTemplate(ChatTemplate&&) noexcept = default;
ChatTemplate& ChatTemplate::operator=(ChatTemplate&&) noexcept = default;
ChatTemplate::~ChatTemplate() = default;

ChatTemplate ChatTemplate::Parse(std::string_view source, std::string origin) {
  if (source.size() > kMaxSourceBytes) {
    ThrowInvalidModel("chat template " + origin + ": " + std::to_string(source.size()) + " bytes, over the limit of " +
                      std::to_string(kMaxSourceBytes));
  }
  auto program = std::make_shared<Program>();
  try {
    program->body = ParseTemplate(source);
  } catch (const SyntaxError& e) {
    ThrowInvalidModel("chat template " + origin + ":" + std::to_string(e.info().line) + ":" +
                      std::to_string(e.info().column) + ": " + e.info().message);
  }
  return ChatTemplate(std::move(program), std::move(origin));
}

namespace {

template <typename Json>
std::string RenderWith(const Body& body, const std::string& origin, const Json& variables,
                       const ChatTemplate::Limits& limits) {
  RenderLimits l;
  l.max_output_bytes = limits.max_output_bytes;
  l.max_loop_iterations = limits.max_loop_iterations;
  l.max_macro_depth = limits.max_macro_depth;
  l.max_work = limits.max_work;
  Interpreter interp(l, origin);
  try {
    return interp.Run(body, Value::FromJson(variables));
  } catch (const TemplateRaised& e) {
    ThrowInvalidArgument(e.what());
  } catch (const RenderError& e) {
    const std::string where = interp.line() > 0 ? ":" + std::to_string(interp.line()) : std::string();
    ThrowInvalidArgument("chat template " + origin + where + ": " + e.what());
  }
}

}  // namespace

std::string ChatTemplate::Render(const nlohmann::json& variables) const { return Render(variables, Limits{}); }
std::string ChatTemplate::RenderOrdered(const nlohmann::ordered_json& variables) const {
  return RenderOrdered(variables, Limits{});
}

std::string ChatTemplate::Render(const nlohmann::json& variables, const Limits& limits) const {
  return RenderWith(program_->body, origin_, variables, limits);
}

std::string ChatTemplate::RenderOrdered(const nlohmann::ordered_json& variables, const Limits& limits) const {
  return RenderWith(program_->body, origin_, variables, limits);
}

}  // namespace mms::tmpl
