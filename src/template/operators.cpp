#include "template/operators.h"

#include <cmath>

#include "template/text_util.h"

namespace mms::tmpl {

void RequireDefined(const Value& v) {
  if (v.IsUndefined()) throw RenderError(v.UndefinedHint().empty() ? "value is undefined" : v.UndefinedHint());
}

namespace {

[[noreturn]] void Unsupported(std::string_view op, const Value& a, const Value& b) {
  throw RenderError("unsupported operand type(s) for " + std::string(op) + ": '" + a.TypeName() + "' and '" +
                    b.TypeName() + "'");
}

// Python's ints are unbounded; ours are 64-bit, and leaving that range is an error.
Value IntResult(bool overflow, int64_t r) {
  if (overflow) throw RenderError("integer overflow (integers are 64-bit here)");
  return Value::Int(r);
}

Value Repeat(const Value& seq, int64_t n, size_t max_bytes) {
  if (n < 0) n = 0;
  if (seq.IsString()) {
    const size_t len = seq.Str().size();
    if (len != 0 && static_cast<uint64_t>(n) > max_bytes / len) throw RenderError("string repetition too large");
    std::string out;
    out.reserve(len * static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) out += seq.Str();
    return Value::String(std::move(out));
  }
  const auto& items = seq.List().items;
  if (!items.empty() && static_cast<uint64_t>(n) > max_bytes / 16 / items.size()) {
    throw RenderError("list repetition too large");
  }
  std::vector<Value> out;
  for (int64_t i = 0; i < n; ++i) out.insert(out.end(), items.begin(), items.end());
  return Value::List(std::move(out), seq.List().is_tuple);
}

double FloorMod(double a, double b) {
  double m = std::fmod(a, b);
  if (m != 0 && ((m < 0) != (b < 0))) m += b;
  return m;
}

}  // namespace

Value BinaryOp(std::string_view op, const Value& a, const Value& b, size_t max_bytes) {
  if (op == "~") {
    std::string s = a.ToStr() + b.ToStr();
    if (s.size() > max_bytes) throw RenderError("string too large");
    return Value::String(std::move(s));
  }
  RequireDefined(a);
  RequireDefined(b);
  const bool numbers = a.IsNumber() && b.IsNumber();
  const bool floats = numbers && (a.kind() == Value::Kind::kFloat || b.kind() == Value::Kind::kFloat);
  if (op == "+") {
    if (numbers) {
      if (floats) return Value::Float(a.AsFloat() + b.AsFloat());
      int64_t r = 0;
      const bool overflow = __builtin_add_overflow(a.AsInt(), b.AsInt(), &r);
      return IntResult(overflow, r);
    }
    if (a.IsString() && b.IsString()) {
      if (a.Str().size() + b.Str().size() > max_bytes) throw RenderError("string too large");
      return Value::String(a.Str() + b.Str());
    }
    if (a.IsSequence() && b.IsSequence() && a.List().is_tuple == b.List().is_tuple) {
      std::vector<Value> items = a.List().items;
      items.insert(items.end(), b.List().items.begin(), b.List().items.end());
      return Value::List(std::move(items), a.List().is_tuple);
    }
    Unsupported(op, a, b);
  }
  if (op == "-") {
    if (!numbers) Unsupported(op, a, b);
    if (floats) return Value::Float(a.AsFloat() - b.AsFloat());
    int64_t r = 0;
    const bool overflow = __builtin_sub_overflow(a.AsInt(), b.AsInt(), &r);
    return IntResult(overflow, r);
  }
  if (op == "*") {
    if (numbers) {
      if (floats) return Value::Float(a.AsFloat() * b.AsFloat());
      int64_t r = 0;
      const bool overflow = __builtin_mul_overflow(a.AsInt(), b.AsInt(), &r);
      return IntResult(overflow, r);
    }
    const bool a_int = a.kind() == Value::Kind::kInt || a.kind() == Value::Kind::kBool;
    const bool b_int = b.kind() == Value::Kind::kInt || b.kind() == Value::Kind::kBool;
    if ((a.IsString() || a.IsSequence()) && b_int) return Repeat(a, b.AsInt(), max_bytes);
    if ((b.IsString() || b.IsSequence()) && a_int) return Repeat(b, a.AsInt(), max_bytes);
    Unsupported(op, a, b);
  }
  if (op == "/") {
    if (!numbers) Unsupported(op, a, b);
    if (b.AsFloat() == 0) throw RenderError("division by zero");
    return Value::Float(a.AsFloat() / b.AsFloat());
  }
  if (op == "//" || op == "%") {
    if (!numbers) {
      if (op == "%" && a.IsString()) throw RenderError("printf-style string formatting is not supported");
      Unsupported(op, a, b);
    }
    if (floats) {
      const double x = a.AsFloat(), y = b.AsFloat();
      if (y == 0) throw RenderError(op == "//" ? "float floor division by zero" : "float modulo");
      if (op == "%") return Value::Float(FloorMod(x, y));
      // CPython's float divmod: the quotient from the exact remainder, then floored.
      double mod = std::fmod(x, y);
      double div = (x - mod) / y;
      if (mod != 0 && ((y < 0) != (mod < 0))) div -= 1.0;
      if (div == 0) return Value::Float(std::copysign(0.0, x / y));
      double floordiv = std::floor(div);
      if (div - floordiv > 0.5) floordiv += 1.0;
      return Value::Float(floordiv);
    }
    const int64_t x = a.AsInt(), y = b.AsInt();
    if (y == 0) throw RenderError("integer division or modulo by zero");
    if (x == INT64_MIN && y == -1) {
      if (op == "%") return Value::Int(0);
      throw RenderError("integer overflow");
    }
    int64_t q = x / y, r = x % y;
    if (r != 0 && ((r < 0) != (y < 0))) {
      q -= 1;
      r += y;
    }
    return Value::Int(op == "//" ? q : r);
  }
  if (op == "**") {
    if (!numbers) Unsupported(op, a, b);
    if (!floats && b.AsInt() >= 0) {
      int64_t base = a.AsInt(), exp = b.AsInt(), result = 1;
      while (exp > 0) {
        if (exp & 1) {
          if (__builtin_mul_overflow(result, base, &result)) throw RenderError("integer overflow");
        }
        exp >>= 1;
        if (exp > 0 && __builtin_mul_overflow(base, base, &base)) throw RenderError("integer overflow");
      }
      return Value::Int(result);
    }
    if (a.AsFloat() == 0 && b.AsFloat() < 0) throw RenderError("0.0 cannot be raised to a negative power");
    const double r = std::pow(a.AsFloat(), b.AsFloat());
    if (std::isnan(r) && !std::isnan(a.AsFloat()) && !std::isnan(b.AsFloat())) {
      throw RenderError("negative number cannot be raised to a fractional power");
    }
    return Value::Float(r);
  }
  throw RenderError("unknown operator " + std::string(op));
}

bool LessThan(const Value& a, const Value& b) {
  RequireDefined(a);
  RequireDefined(b);
  if (a.IsNumber() && b.IsNumber()) {
    if (a.kind() == Value::Kind::kFloat || b.kind() == Value::Kind::kFloat) return a.AsFloat() < b.AsFloat();
    return a.AsInt() < b.AsInt();
  }
  if (a.IsString() && b.IsString()) return a.Str() < b.Str();  // UTF-8 byte order is code point order
  if (a.IsSequence() && b.IsSequence() && a.List().is_tuple == b.List().is_tuple) {
    const auto& x = a.List().items;
    const auto& y = b.List().items;
    for (size_t i = 0; i < x.size() && i < y.size(); ++i) {
      if (!x[i].Equals(y[i])) return LessThan(x[i], y[i]);
    }
    return x.size() < y.size();
  }
  throw RenderError("'<' not supported between instances of '" + a.TypeName() + "' and '" + b.TypeName() + "'");
}

bool Contains(const Value& container, const Value& item) {
  switch (container.kind()) {
    case Value::Kind::kUndefined:
      return false;  // Undefined iterates as empty
    case Value::Kind::kString:
      if (!item.IsString()) {
        throw RenderError("'in <string>' requires string as left operand, not " + item.TypeName());
      }
      return container.Str().find(item.Str()) != std::string::npos;
    case Value::Kind::kList:
      for (const Value& v : container.List().items) {
        if (v.Equals(item)) return true;
      }
      return false;
    case Value::Kind::kDict:
      if (item.IsDict() || (item.IsSequence() && !item.List().is_tuple)) {
        throw RenderError("unhashable type: '" + item.TypeName() + "'");
      }
      return item.IsString() && container.Dict().Find(item.Str()) != nullptr;
    default:
      throw RenderError("argument of type '" + container.TypeName() + "' is not iterable");
  }
}

bool Compare(std::string_view op, const Value& a, const Value& b) {
  if (op == "==") return a.Equals(b);
  if (op == "!=") return !a.Equals(b);
  if (op == "<") return LessThan(a, b);
  if (op == ">") return LessThan(b, a);
  if (op == "<=") return LessThan(a, b) || a.Equals(b);
  if (op == ">=") return LessThan(b, a) || a.Equals(b);
  if (op == "in") return Contains(b, a);
  if (op == "not in") return !Contains(b, a);
  throw RenderError("unknown comparison " + std::string(op));
}

}  // namespace mms::tmpl
