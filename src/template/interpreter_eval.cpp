// Expression evaluation of the Interpreter (statements are in interpreter.cpp).
#include "template/builtins.h"
#include "template/interpreter.h"
#include "template/operators.h"
#include "template/text_util.h"

namespace mms::tmpl {

namespace {

int64_t SliceIndex(const Value& v, const char* what) {
  if (v.kind() != Value::Kind::kInt && v.kind() != Value::Kind::kBool) {
    throw RenderError(std::string("slice ") + what + " must be an integer or None");
  }
  return v.AsInt();
}

}  // namespace

Value Interpreter::Slice(const Value& obj, const Expr& e) {
  RequireDefined(obj);
  const Value start_v = e.b ? Eval(*e.b) : Value::None();
  const Value stop_v = e.c ? Eval(*e.c) : Value::None();
  const Value step_v = e.d ? Eval(*e.d) : Value::None();
  int64_t step = step_v.IsNone() ? 1 : SliceIndex(step_v, "step");
  if (step == 0) throw RenderError("slice step cannot be zero");
  if (step == INT64_MIN) step = INT64_MIN + 1;
  std::vector<char32_t> cps;
  int64_t n = 0;
  if (obj.IsString()) {
    cps = DecodeUtf8(obj.Str());
    n = static_cast<int64_t>(cps.size());
  } else if (obj.IsSequence()) {
    n = static_cast<int64_t>(obj.List().items.size());
  } else {
    throw RenderError("'" + obj.TypeName() + "' object is not subscriptable");
  }
  // Python's slice.indices().
  auto clamp = [&](const Value& v, bool is_start) -> int64_t {
    if (v.IsNone()) {
      if (step > 0) return is_start ? 0 : n;
      return is_start ? n - 1 : -1;
    }
    int64_t i = SliceIndex(v, is_start ? "start" : "stop");
    if (i < 0) {
      i = i < -n ? (step > 0 ? 0 : -1) : i + n;
    } else if (i >= n) {
      i = step > 0 ? n : n - 1;
    }
    return i;
  };
  const int64_t start = clamp(start_v, true);
  const int64_t stop = clamp(stop_v, false);
  std::vector<size_t> picks;
  if (step > 0) {
    for (int64_t i = start; i < stop; i += step) picks.push_back(static_cast<size_t>(i));
  } else {
    for (int64_t i = start; i > stop; i += step) picks.push_back(static_cast<size_t>(i));
  }
  Charge(picks.size());
  if (obj.IsString()) {
    std::string out;
    for (size_t i : picks) AppendUtf8(out, cps[i]);
    return Value::String(std::move(out));
  }
  std::vector<Value> out;
  out.reserve(picks.size());
  for (size_t i : picks) out.push_back(obj.List().items[i]);
  return Value::List(std::move(out), obj.List().is_tuple);
}

CallArgs Interpreter::EvalArgs(const Expr& e) {
  CallArgs args;
  for (const auto& a : e.args) args.positional.push_back(Eval(*a));
  for (const auto& [name, a] : e.kwargs) args.named.emplace_back(name, Eval(*a));
  return args;
}

Value Interpreter::EvalCall(const Expr& e) {
  const Value callee = Eval(*e.a);
  CallArgs args = EvalArgs(e);
  line_ = e.line;
  return Call(callee, args);
}

Value Interpreter::EvalFilter(const Expr& e, const Value* block_input) {
  const Value input = e.a ? EvalFilter(*e.a, block_input) : (block_input ? *block_input : Value());
  if (e.kind != Expr::Kind::kFilter) return Eval(e);
  CallArgs args = EvalArgs(e);
  line_ = e.line;
  return ApplyFilter(*this, e.name, input, args);
}

Value Interpreter::Eval(const Expr& e) {
  line_ = e.line;
  Charge(0);
  switch (e.kind) {
    case Expr::Kind::kLiteral:
      return e.value;
    case Expr::Kind::kName:
      return Lookup(e.name);
    case Expr::Kind::kList:
    case Expr::Kind::kTuple: {
      std::vector<Value> items;
      items.reserve(e.args.size());
      for (const auto& a : e.args) items.push_back(Eval(*a));
      return Value::List(std::move(items), e.kind == Expr::Kind::kTuple);
    }
    case Expr::Kind::kDict: {
      auto dict = std::make_shared<DictData>();
      for (const auto& [k, v] : e.pairs) {
        const Value key = Eval(*k);
        if (!key.IsString()) throw RenderError("dict keys must be strings here, not " + key.TypeName());
        dict->Set(key.Str(), Eval(*v));
      }
      return Value::Dict(std::move(dict));
    }
    case Expr::Kind::kGetAttr: {
      const Value obj = Eval(*e.a);
      line_ = e.line;
      return GetAttr(obj, e.name);
    }
    case Expr::Kind::kGetItem: {
      const Value obj = Eval(*e.a);
      const Value key = Eval(*e.b);
      line_ = e.line;
      return GetItem(obj, key);
    }
    case Expr::Kind::kSlice:
      return Slice(Eval(*e.a), e);
    case Expr::Kind::kCall:
      return EvalCall(e);
    case Expr::Kind::kFilter: {
      const Value input = e.a ? Eval(*e.a) : Value();
      CallArgs args = EvalArgs(e);
      line_ = e.line;
      return ApplyFilter(*this, e.name, input, args);
    }
    case Expr::Kind::kTest: {
      const Value input = Eval(*e.a);
      CallArgs args = EvalArgs(e);
      line_ = e.line;
      return Value::Bool(ApplyTest(*this, e.name, input, args) != e.negated);
    }
    case Expr::Kind::kUnary: {
      const Value v = Eval(*e.a);
      line_ = e.line;
      if (e.name == "not") return Value::Bool(!v.Truthy());
      RequireDefined(v);
      if (!v.IsNumber()) throw RenderError("bad operand type for unary " + e.name + ": '" + v.TypeName() + "'");
      if (e.name == "+") return v.kind() == Value::Kind::kBool ? Value::Int(v.AsInt()) : v;
      if (v.kind() == Value::Kind::kFloat) return Value::Float(-v.AsFloat());
      if (v.AsInt() == INT64_MIN) throw RenderError("integer overflow");
      return Value::Int(-v.AsInt());
    }
    case Expr::Kind::kBinary: {
      if (e.name == "and" || e.name == "or") {
        Value a = Eval(*e.a);
        if (a.Truthy() == (e.name == "or")) return a;
        return Eval(*e.b);
      }
      const Value a = Eval(*e.a);
      const Value b = Eval(*e.b);
      line_ = e.line;
      Value r = BinaryOp(e.name, a, b, limits_.max_output_bytes);
      if (r.IsString()) Charge(r.Str().size());
      if (r.IsList()) Charge(r.List().items.size());
      return r;
    }
    case Expr::Kind::kCompare: {
      Value left = Eval(*e.a);
      for (const auto& [op, operand] : e.ops) {
        Value right = Eval(*operand);
        line_ = e.line;
        if (!Compare(op, left, right)) return Value::Bool(false);
        left = std::move(right);
      }
      return Value::Bool(true);
    }
    case Expr::Kind::kCondition:
      if (Eval(*e.a).Truthy()) return Eval(*e.b);
      if (e.c) return Eval(*e.c);
      return Value::Undefined("the inline if's condition was false and it has no else");
  }
  return Value();
}

}  // namespace mms::tmpl
