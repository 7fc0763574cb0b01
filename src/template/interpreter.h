// Renders a parsed template. One Interpreter per render: it holds the scopes, the output
// being written and the budgets (output size, loop iterations, macro depth, work), so a
// parsed template is shared read-only between threads.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "template/ast.h"
#include "template/value.h"

namespace mms::tmpl {

struct RenderLimits {
  size_t max_output_bytes = 4u << 20;        // the rendered prompt, and any one string built
  uint64_t max_loop_iterations = 1'000'000;  // all loops of one render together
  int max_macro_depth = 32;                  // nested macro calls (recursion)
  uint64_t max_work = 200'000'000;           // bytes and elements built, a bound on CPU time
};

class Interpreter {
 public:
  Interpreter(const RenderLimits& limits, const std::string& origin);
  ~Interpreter();

  // Throws RenderError / TemplateRaised; the caller adds the template's name and line().
  // `variables`: a dict (the template's globals), or undefined for none.
  std::string Run(const Body& program, const Value& variables);
  int line() const { return line_; }

  // What filters, tests, methods and globals need from the renderer.
  Value Call(const Value& callee, CallArgs& args);
  Value GetAttr(const Value& obj, const std::string& name);
  Value GetItem(const Value& obj, const Value& key);
  std::vector<Value> Iterate(const Value& v);
  void Charge(uint64_t units);
  size_t max_bytes() const { return limits_.max_output_bytes; }
  // `closure`: the scope a {% call %} block's body was written in (null for macros, which
  // see the template's top-level variables).
  struct Scope;
  Value CallMacro(const Stmt& def, CallArgs& args, Scope* closure);

 private:
  enum class Flow { kNormal, kBreak, kContinue };

  Flow Exec(const Body& body);
  Flow ExecOne(const Stmt& s);
  void ExecFor(const Stmt& s);
  void ExecSet(const Stmt& s, Value value);
  std::string Capture(const Body& body);
  void Write(const std::string& text);

  Value Eval(const Expr& e);
  Value EvalCall(const Expr& e);
  Value EvalFilter(const Expr& e, const Value* block_input);
  CallArgs EvalArgs(const Expr& e);
  Value Slice(const Value& obj, const Expr& e);
  Value Lookup(const std::string& name) const;
  void Assign(const std::string& name, Value value);

  RenderLimits limits_;
  const std::string& origin_;
  int line_ = 0;
  std::string* out_ = nullptr;
  Scope* scope_ = nullptr;
  Scope* root_ = nullptr;
  uint64_t iterations_ = 0;
  uint64_t work_ = 0;
  int macro_depth_ = 0;
};

}  // namespace mms::tmpl
