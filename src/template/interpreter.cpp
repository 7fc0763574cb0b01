#include "template/interpreter.h"

#include "template/builtins.h"
#include "template/operators.h"
#include "template/text_util.h"

namespace mms::tmpl {

// Variables of one level: the render's globals, a loop iteration, a macro call. Reads walk
// outwards; `set` writes to the innermost (so a set inside a loop does not leak out of it,
// as in Jinja).
struct Interpreter::Scope {
  Scope* parent = nullptr;
  std::vector<std::pair<std::string, Value>> vars;

  const Value* Find(const std::string& name) const {
    for (const Scope* s = this; s != nullptr; s = s->parent) {
      for (auto it = s->vars.rbegin(); it != s->vars.rend(); ++it) {
        if (it->first == name) return &it->second;
      }
    }
    return nullptr;
  }
  void Set(const std::string& name, Value v) {
    for (auto& [k, old] : vars) {
      if (k == name) {
        old = std::move(v);
        return;
      }
    }
    vars.emplace_back(name, std::move(v));
  }
};

namespace {

// A macro, or the body of a {% call %} block passed to it as `caller`.
class MacroFn : public Callable {
 public:
  MacroFn(const Stmt* def, Interpreter::Scope* closure) : def_(def), closure_(closure) {}
  Value Call(Interpreter& interp, CallArgs& args) const override { return interp.CallMacro(*def_, args, closure_); }
  std::string Name() const override { return def_->kind == Stmt::Kind::kMacro ? def_->text : "caller"; }

 private:
  const Stmt* def_;
  Interpreter::Scope* closure_;  // a caller's: alive while its {% call %} statement runs
};

// loop.cycle(a, b, ...): the argument at the iteration's index, round robin.
class CycleFn : public Callable {
 public:
  explicit CycleFn(size_t index) : index_(index) {}
  Value Call(Interpreter&, CallArgs& args) const override {
    if (args.positional.empty()) throw RenderError("no items for cycling given");
    return args.positional[index_ % args.positional.size()];
  }
  std::string Name() const override { return "cycle"; }

 private:
  size_t index_;
};

class ScopeGuard {
 public:
  ScopeGuard(Interpreter::Scope** slot, Interpreter::Scope* next) : slot_(slot), saved_(*slot) { *slot = next; }
  ~ScopeGuard() { *slot_ = saved_; }

 private:
  Interpreter::Scope** slot_;
  Interpreter::Scope* saved_;
};

}  // namespace

Interpreter::Interpreter(const RenderLimits& limits, const std::string& origin) : limits_(limits), origin_(origin) {}
Interpreter::~Interpreter() = default;

std::string Interpreter::Run(const Body& program, const Value& variables) {
  Scope root;
  if (variables.IsDict()) {
    for (const auto& [k, v] : variables.Dict().items) root.Set(k, v);
  } else if (!variables.IsUndefined() && !variables.IsNone()) {
    throw RenderError("template variables must be a JSON object");
  }
  std::string out;
  root_ = &root;
  scope_ = &root;
  out_ = &out;
  Exec(program);
  root_ = scope_ = nullptr;
  out_ = nullptr;
  return out;
}

void Interpreter::Charge(uint64_t units) {
  work_ += units + 1;
  if (work_ > limits_.max_work) {
    throw RenderError("template rendering exceeded its work budget (" + std::to_string(limits_.max_work) + " units)");
  }
}

void Interpreter::Write(const std::string& text) {
  if (out_->size() + text.size() > limits_.max_output_bytes) {
    throw RenderError("rendered text over the limit of " + std::to_string(limits_.max_output_bytes) + " bytes");
  }
  Charge(text.size());
  out_->append(text);
}

std::string Interpreter::Capture(const Body& body) {
  std::string captured;
  std::string* saved = out_;
  out_ = &captured;
  try {
    Exec(body);
  } catch (...) {
    out_ = saved;
    throw;
  }
  out_ = saved;
  return captured;
}

Value Interpreter::Lookup(const std::string& name) const {
  if (const Value* v = scope_->Find(name)) return *v;
  Value g = GlobalFunction(name);
  if (!g.IsUndefined()) return g;
  return Value::Undefined("'" + name + "' is undefined");
}

void Interpreter::Assign(const std::string& name, Value value) {
  if (name == "loop" || name == "namespace" || name == "true" || name == "false" || name == "none") {
    throw RenderError("cannot assign to '" + name + "'");
  }
  scope_->Set(name, std::move(value));
}

Interpreter::Flow Interpreter::Exec(const Body& body) {
  for (const auto& s : body) {
    const Flow f = ExecOne(*s);
    if (f != Flow::kNormal) return f;
  }
  return Flow::kNormal;
}

Interpreter::Flow Interpreter::ExecOne(const Stmt& s) {
  line_ = s.line;
  switch (s.kind) {
    case Stmt::Kind::kText:
      Write(s.text);
      return Flow::kNormal;
    case Stmt::Kind::kOutput: {
      const Value v = Eval(*s.expr);
      line_ = s.line;
      if (v.kind() == Value::Kind::kCallable || v.kind() == Value::Kind::kNamespace) {
        Write(v.Repr());
      } else {
        Write(v.ToStr());
      }
      return Flow::kNormal;
    }
    case Stmt::Kind::kIf:
      for (const auto& [cond, body] : s.branches) {
        if (Eval(*cond).Truthy()) return Exec(body);
      }
      return Exec(s.else_body);
    case Stmt::Kind::kFor:
      ExecFor(s);
      return Flow::kNormal;
    case Stmt::Kind::kSet:
      ExecSet(s, Eval(*s.expr));
      return Flow::kNormal;
    case Stmt::Kind::kSetBlock: {
      Value v = Value::String(Capture(s.body));
      if (s.filter) v = EvalFilter(*s.filter, &v);
      Assign(s.names[0], std::move(v));
      return Flow::kNormal;
    }
    case Stmt::Kind::kMacro:
      Assign(s.text, Value::Function(std::make_shared<MacroFn>(&s, nullptr)));
      return Flow::kNormal;
    case Stmt::Kind::kCallBlock: {
      const Expr& call = *s.expr;
      const Value callee = Eval(*call.a);
      CallArgs args = EvalArgs(call);
      args.named.emplace_back("caller", Value::Function(std::make_shared<MacroFn>(&s, scope_)));
      line_ = s.line;
      Write(Call(callee, args).ToStr());
      return Flow::kNormal;
    }
    case Stmt::Kind::kFilterBlock: {
      const Value body = Value::String(Capture(s.body));
      Write(EvalFilter(*s.filter, &body).ToStr());
      return Flow::kNormal;
    }
    case Stmt::Kind::kWith: {
      Scope inner;
      inner.parent = scope_;
      std::vector<std::pair<std::string, Value>> values;
      for (const auto& [name, expr] : s.assignments) values.emplace_back(name, Eval(*expr));
      ScopeGuard guard(&scope_, &inner);
      for (auto& [name, v] : values) Assign(name, std::move(v));
      return Exec(s.body);
    }
    case Stmt::Kind::kBreak:
      return Flow::kBreak;
    case Stmt::Kind::kContinue:
      return Flow::kContinue;
    case Stmt::Kind::kGeneration:
      return Exec(s.body);
  }
  return Flow::kNormal;
}

void Interpreter::ExecSet(const Stmt& s, Value value) {
  if (!s.attr.empty()) {
    const Value target = Lookup(s.names[0]);
    if (target.kind() != Value::Kind::kNamespace) {
      throw RenderError("cannot assign attribute on non-namespace object '" + s.names[0] + "'");
    }
    target.MutableNamespace().Set(s.attr, std::move(value));
    return;
  }
  if (s.names.size() == 1) {
    Assign(s.names[0], std::move(value));
    return;
  }
  std::vector<Value> items = Iterate(value);
  if (items.size() != s.names.size()) {
    throw RenderError(items.size() < s.names.size() ? "not enough values to unpack" : "too many values to unpack");
  }
  for (size_t i = 0; i < items.size(); ++i) Assign(s.names[i], std::move(items[i]));
}

void Interpreter::ExecFor(const Stmt& s) {
  const Value iterable = Eval(*s.expr);
  std::vector<Value> items = Iterate(iterable);
  auto bind = [&](Scope& scope, const Value& item) {
    if (s.names.size() == 1) {
      scope.Set(s.names[0], item);
      return;
    }
    std::vector<Value> parts = Iterate(item);
    if (parts.size() != s.names.size()) {
      throw RenderError(parts.size() < s.names.size() ? "not enough values to unpack" : "too many values to unpack");
    }
    for (size_t i = 0; i < parts.size(); ++i) scope.Set(s.names[i], std::move(parts[i]));
  };
  if (s.cond) {  // `for x in xs if c`: the loop (and loop.length) sees only the items that pass
    std::vector<Value> kept;
    for (Value& item : items) {
      if (++iterations_ > limits_.max_loop_iterations) break;
      Scope probe;
      probe.parent = scope_;
      bind(probe, item);
      ScopeGuard guard(&scope_, &probe);
      if (Eval(*s.cond).Truthy()) kept.push_back(std::move(item));
    }
    items = std::move(kept);
  }
  if (items.empty()) {
    Exec(s.else_body);
    return;
  }
  const size_t n = items.size();
  for (size_t i = 0; i < n; ++i) {
    if (++iterations_ > limits_.max_loop_iterations) {
      throw RenderError("loops ran more than " + std::to_string(limits_.max_loop_iterations) + " iterations");
    }
    Charge(8);
    Scope iteration;
    iteration.parent = scope_;
    bind(iteration, items[i]);
    auto loop = std::make_shared<DictData>();
    loop->Set("index", Value::Int(static_cast<int64_t>(i + 1)));
    loop->Set("index0", Value::Int(static_cast<int64_t>(i)));
    loop->Set("revindex", Value::Int(static_cast<int64_t>(n - i)));
    loop->Set("revindex0", Value::Int(static_cast<int64_t>(n - i - 1)));
    loop->Set("first", Value::Bool(i == 0));
    loop->Set("last", Value::Bool(i + 1 == n));
    loop->Set("length", Value::Int(static_cast<int64_t>(n)));
    loop->Set("depth", Value::Int(1));
    loop->Set("depth0", Value::Int(0));
    if (i > 0) loop->Set("previtem", items[i - 1]);
    if (i + 1 < n) loop->Set("nextitem", items[i + 1]);
    loop->Set("cycle", Value::Function(std::make_shared<CycleFn>(i)));
    iteration.Set("loop", Value::Dict(std::move(loop)));
    ScopeGuard guard(&scope_, &iteration);
    if (Exec(s.body) == Flow::kBreak) break;
  }
}

Value Interpreter::CallMacro(const Stmt& def, CallArgs& args, Scope* closure) {
  if (macro_depth_ >= limits_.max_macro_depth) {
    throw RenderError("macro calls nested deeper than " + std::to_string(limits_.max_macro_depth) + " levels");
  }
  const std::string name = def.kind == Stmt::Kind::kMacro ? def.text : "caller";
  if (args.positional.size() > def.params.size()) {
    throw RenderError("macro '" + name + "' takes not more than " + std::to_string(def.params.size()) +
                      " argument(s)");
  }
  Scope frame;
  // A macro sees the template's top-level variables; a caller block sees where it was written.
  frame.parent = closure != nullptr ? closure : root_;
  std::vector<bool> bound(def.params.size(), false);
  for (size_t i = 0; i < args.positional.size(); ++i) {
    frame.Set(def.params[i].name, args.positional[i]);
    bound[i] = true;
  }
  for (auto& [key, value] : args.named) {
    bool found = false;
    for (size_t i = 0; i < def.params.size(); ++i) {
      if (def.params[i].name == key) {
        if (bound[i]) throw RenderError("macro '" + name + "' got multiple values for argument '" + key + "'");
        frame.Set(key, value);
        bound[i] = found = true;
      }
    }
    if (!found) {
      if (key != "caller") throw RenderError("macro '" + name + "' takes no keyword argument '" + key + "'");
      frame.Set("caller", value);
    }
  }
  ++macro_depth_;
  struct DepthRestore {
    int* d;
    ~DepthRestore() { --*d; }
  } restore{&macro_depth_};
  ScopeGuard guard(&scope_, &frame);
  for (size_t i = 0; i < def.params.size(); ++i) {
    if (bound[i]) continue;
    const auto& p = def.params[i];
    frame.Set(p.name, p.default_value ? Eval(*p.default_value)
                                      : Value::Undefined("parameter '" + p.name + "' was not provided"));
  }
  return Value::String(Capture(def.body));
}

std::vector<Value> Interpreter::Iterate(const Value& v) {
  switch (v.kind()) {
    case Value::Kind::kUndefined:
      return {};
    case Value::Kind::kList:
      if (!v.List().deferred_error.empty()) throw RenderError(v.List().deferred_error);
      Charge(v.List().items.size());
      return v.List().items;
    case Value::Kind::kDict: {
      std::vector<Value> keys;
      for (const auto& kv : v.Dict().items) keys.push_back(Value::String(kv.first));
      Charge(keys.size());
      return keys;
    }
    case Value::Kind::kString: {
      std::vector<Value> chars;
      for (char32_t c : DecodeUtf8(v.Str())) {
        std::string s;
        AppendUtf8(s, c);
        chars.push_back(Value::String(std::move(s)));
      }
      Charge(chars.size() * 8);
      return chars;
    }
    default:
      throw RenderError("'" + v.TypeName() + "' object is not iterable");
  }
}

Value Interpreter::GetAttr(const Value& obj, const std::string& name) {
  switch (obj.kind()) {
    case Value::Kind::kUndefined:
      RequireDefined(obj);
      break;
    case Value::Kind::kDict: {
      Value method = GetMethod(obj, name);
      if (!method.IsUndefined()) return method;
      if (const Value* v = obj.Dict().Find(name)) return *v;
      return Value::Undefined("'dict object' has no attribute '" + name + "'");
    }
    case Value::Kind::kNamespace:
      if (const Value* v = obj.Dict().Find(name)) return *v;
      return Value::Undefined("'Namespace' object has no attribute '" + name + "'");
    default: {
      Value method = GetMethod(obj, name);
      if (!method.IsUndefined()) return method;
      break;
    }
  }
  std::string hint = "'";
  hint.append(obj.TypeName()).append(" object' has no attribute '").append(name).append("'");
  return Value::Undefined(std::move(hint));
}

Value Interpreter::GetItem(const Value& obj, const Value& key) {
  RequireDefined(obj);
  if (obj.kind() == Value::Kind::kDict || obj.kind() == Value::Kind::kNamespace) {
    if (key.IsString()) {
      if (obj.kind() == Value::Kind::kDict) {
        if (const Value* v = obj.Dict().Find(key.Str())) return *v;
      }
      return GetAttr(obj, key.Str());
    }
    return Value::Undefined("'dict object' has no attribute " + key.Repr());
  }
  if (obj.IsGenerator()) return Value::Undefined("'generator object' has no attribute " + key.Repr());
  if ((obj.IsList() || obj.IsString()) &&
      (key.kind() == Value::Kind::kInt || key.kind() == Value::Kind::kBool)) {
    int64_t i = key.AsInt();
    if (obj.IsList()) {
      const auto& items = obj.List().items;
      const auto n = static_cast<int64_t>(items.size());
      if (i < 0) i += n;
      if (i < 0 || i >= n) return Value::Undefined(obj.TypeName() + " object has no element " + key.Repr());
      return items[static_cast<size_t>(i)];
    }
    const std::vector<char32_t> cps = DecodeUtf8(obj.Str());
    const auto n = static_cast<int64_t>(cps.size());
    if (i < 0) i += n;
    if (i < 0 || i >= n) return Value::Undefined("str object has no element " + key.Repr());
    std::string s;
    AppendUtf8(s, cps[static_cast<size_t>(i)]);
    return Value::String(std::move(s));
  }
  if (key.IsString()) return GetAttr(obj, key.Str());
  std::string hint = "'";
  hint.append(obj.TypeName()).append(" object' has no attribute ").append(key.Repr());
  return Value::Undefined(std::move(hint));
}

Value Interpreter::Call(const Value& callee, CallArgs& args) {
  if (callee.kind() != Value::Kind::kCallable) {
    RequireDefined(callee);
    throw RenderError("'" + callee.TypeName() + "' object is not callable");
  }
  Charge(args.positional.size() + args.named.size());
  return callee.Fn()->Call(*this, args);
}

}  // namespace mms::tmpl
