// Jinja's tests, Python's string and dict methods that templates call, and the globals of
// transformers' chat template environment.
#include "template/builtins.h"

#include <algorithm>
#include <cmath>
#include <ctime>
#include <functional>

#include "template/interpreter.h"
#include "template/operators.h"
#include "template/text_util.h"

namespace mms::tmpl {

namespace {

class BuiltinFn : public Callable {
 public:
  using Fn = std::function<Value(Interpreter&, CallArgs&)>;
  BuiltinFn(std::string name, Fn fn) : name_(std::move(name)), fn_(std::move(fn)) {}
  Value Call(Interpreter& interp, CallArgs& args) const override { return fn_(interp, args); }
  std::string Name() const override { return name_; }

 private:
  std::string name_;
  Fn fn_;
};

Value Make(std::string name, BuiltinFn::Fn fn) {
  return Value::Function(std::make_shared<BuiltinFn>(std::move(name), std::move(fn)));
}

const std::string& RequireString(const Value* v, const std::string& what) {
  if (v == nullptr || !v->IsString()) {
    throw RenderError(what + " must be a string" + (v ? ", not " + v->TypeName() : std::string()));
  }
  return v->Str();
}

// str.split / str.rsplit, with Python's rules for a missing separator (runs of whitespace).
std::vector<Value> Split(const std::string& s, const Value* sep, int64_t maxsplit, bool from_right) {
  std::vector<std::string> parts;
  if (sep == nullptr || sep->IsNone()) {
    std::vector<char32_t> cps = DecodeUtf8(s);
    if (from_right) std::reverse(cps.begin(), cps.end());
    size_t i = 0;
    while (true) {
      while (i < cps.size() && IsPyWhitespace(cps[i])) ++i;
      if (i >= cps.size()) break;
      if (maxsplit >= 0 && static_cast<int64_t>(parts.size()) == maxsplit) {
        const size_t e = cps.size();  // the rest keeps its trailing whitespace
        parts.push_back(EncodeUtf8(std::vector<char32_t>(cps.begin() + static_cast<std::ptrdiff_t>(i),
                                                         cps.begin() + static_cast<std::ptrdiff_t>(e))));
        break;
      }
      size_t e = i;
      while (e < cps.size() && !IsPyWhitespace(cps[e])) ++e;
      parts.push_back(EncodeUtf8(std::vector<char32_t>(cps.begin() + static_cast<std::ptrdiff_t>(i),
                                                       cps.begin() + static_cast<std::ptrdiff_t>(e))));
      i = e;
    }
    if (from_right) {
      for (std::string& p : parts) {
        std::vector<char32_t> c = DecodeUtf8(p);
        std::reverse(c.begin(), c.end());
        p = EncodeUtf8(c);
      }
      std::reverse(parts.begin(), parts.end());
    }
  } else {
    const std::string& d = RequireString(sep, "split separator");
    if (d.empty()) throw RenderError("empty separator");
    if (!from_right) {
      size_t pos = 0;
      while (true) {
        const size_t f = (maxsplit >= 0 && static_cast<int64_t>(parts.size()) == maxsplit) ? std::string::npos
                                                                                              : s.find(d, pos);
        if (f == std::string::npos) {
          parts.push_back(s.substr(pos));
          break;
        }
        parts.push_back(s.substr(pos, f - pos));
        pos = f + d.size();
      }
    } else {
      size_t end = s.size();
      while (true) {
        const size_t f = (maxsplit >= 0 && static_cast<int64_t>(parts.size()) == maxsplit) || end < d.size()
                             ? std::string::npos
                             : s.rfind(d, end - d.size());
        if (f == std::string::npos) {
          parts.push_back(s.substr(0, end));
          break;
        }
        parts.push_back(s.substr(f + d.size(), end - f - d.size()));
        end = f;
      }
      std::reverse(parts.begin(), parts.end());
    }
  }
  std::vector<Value> out;
  out.reserve(parts.size());
  for (auto& p : parts) out.push_back(Value::String(std::move(p)));
  return out;
}

std::string Replace(const std::string& s, const std::string& old, const std::string& repl, int64_t count,
                    size_t max_bytes) {
  std::string out;
  auto grow = [&](const std::string& piece) {
    out += piece;
    if (out.size() > max_bytes) throw RenderError("replaced string too large");
  };
  if (old.empty()) {  // Python inserts the replacement around every code point
    const std::vector<char32_t> cps = DecodeUtf8(s);
    int64_t done = 0;
    for (size_t i = 0; i <= cps.size(); ++i) {
      if (count < 0 || done < count) {
        grow(repl);
        ++done;
      }
      if (i < cps.size()) {
        std::string c;
        AppendUtf8(c, cps[i]);
        grow(c);
      }
    }
    return out;
  }
  size_t pos = 0;
  int64_t done = 0;
  while (count < 0 || done < count) {
    const size_t f = s.find(old, pos);
    if (f == std::string::npos) break;
    grow(s.substr(pos, f - pos));
    grow(repl);
    pos = f + old.size();
    ++done;
  }
  grow(s.substr(pos));
  return out;
}

bool MatchesAffix(const std::string& s, const Value& affix, bool prefix, const std::string& what) {
  auto one = [&](const Value& v) {
    const std::string& a = RequireString(&v, what);
    if (a.size() > s.size()) return false;
    return prefix ? s.compare(0, a.size(), a) == 0 : s.compare(s.size() - a.size(), a.size(), a) == 0;
  };
  if (affix.IsList() && affix.List().is_tuple) {
    for (const Value& v : affix.List().items) {
      if (one(v)) return true;
    }
    return false;
  }
  return one(affix);
}

std::string PyTitle(const std::string& s) {
  std::string out;
  bool prev_cased = false;
  for (char32_t c : DecodeUtf8(s)) {
    const bool lower = c >= 'a' && c <= 'z', upper = c >= 'A' && c <= 'Z';
    if (lower || upper) {
      c = prev_cased ? (upper ? c + 32 : c) : (lower ? c - 32 : c);
      prev_cased = true;
    } else {
      prev_cased = c >= 0x80 && !IsPyWhitespace(c);
    }
    AppendUtf8(out, c);
  }
  return out;
}

// Mutating methods exist on Python's lists and dicts, but the immutable sandbox refuses them.
bool IsUnsafeMutator(const Value& receiver, const std::string& name) {
  static const char* const kList[] = {"append", "extend", "insert", "pop", "remove", "clear", "sort", "reverse"};
  static const char* const kDict[] = {"update", "pop", "popitem", "clear", "setdefault"};
  if (receiver.IsList()) return std::any_of(std::begin(kList), std::end(kList), [&](const char* n) { return name == n; });
  if (receiver.IsDict()) return std::any_of(std::begin(kDict), std::end(kDict), [&](const char* n) { return name == n; });
  return false;
}

Value StringMethod(const Value& self, const std::string& name) {
  const std::string s = self.Str();
  const std::string what = "str." + name + "()";
  if (name == "strip" || name == "lstrip" || name == "rstrip") {
    return Make(name, [s, name, what](Interpreter&, CallArgs& args) {
      ArgReader r(what, args, {"chars"});
      const Value* chars = r.Get(0);
      std::string set;
      if (chars && !chars->IsNone()) set = RequireString(chars, what + " chars");
      return Value::String(PyStrip(s, chars && !chars->IsNone() ? &set : nullptr, name != "rstrip", name != "lstrip"));
    });
  }
  if (name == "upper" || name == "lower" || name == "title" || name == "capitalize") {
    return Make(name, [s, name, what](Interpreter&, CallArgs& args) {
      ArgReader r(what, args, {});
      if (name == "upper") return Value::String(AsciiUpper(s));
      if (name == "lower") return Value::String(AsciiLower(s));
      if (name == "title") return Value::String(PyTitle(s));
      std::string c = AsciiLower(s);
      if (!c.empty() && c[0] >= 'a' && c[0] <= 'z') c[0] = static_cast<char>(c[0] - 32);
      return Value::String(c);
    });
  }
  if (name == "startswith" || name == "endswith") {
    return Make(name, [s, name, what](Interpreter&, CallArgs& args) {
      ArgReader r(what, args, {"prefix"});
      if (!r.Get(0)) throw RenderError(what + " takes at least 1 argument");
      return Value::Bool(MatchesAffix(s, *r.Get(0), name == "startswith", what));
    });
  }
  if (name == "split" || name == "rsplit") {
    return Make(name, [s, name, what](Interpreter& interp, CallArgs& args) {
      ArgReader r(what, args, {"sep", "maxsplit"});
      const Value* maxsplit = r.Get(1);
      int64_t m = -1;
      if (maxsplit) {
        if (!maxsplit->IsNumber() || maxsplit->kind() == Value::Kind::kFloat) throw RenderError(what + " maxsplit must be an integer");
        m = maxsplit->AsInt();
      }
      std::vector<Value> parts = Split(s, r.Get(0), m, name == "rsplit");
      interp.Charge(parts.size() * 8);
      return Value::List(std::move(parts));
    });
  }
  if (name == "replace") {
    return Make(name, [s, what](Interpreter& interp, CallArgs& args) {
      ArgReader r(what, args, {"old", "new", "count"});
      const std::string& old = RequireString(r.Get(0), what + " old");
      const std::string& repl = RequireString(r.Get(1), what + " new");
      const Value count = r.GetOr(2, Value::Int(-1));
      if (!count.IsNumber() || count.kind() == Value::Kind::kFloat) throw RenderError(what + " count must be an integer");
      std::string out = Replace(s, old, repl, count.AsInt(), interp.max_bytes());
      interp.Charge(out.size());
      return Value::String(std::move(out));
    });
  }
  if (name == "find" || name == "count") {
    return Make(name, [s, name, what](Interpreter&, CallArgs& args) {
      ArgReader r(what, args, {"sub"});
      const std::string& sub = RequireString(r.Get(0), what + " sub");
      if (name == "find") {
        const size_t f = s.find(sub);
        return Value::Int(f == std::string::npos ? -1 : static_cast<int64_t>(CodePointCount(s.substr(0, f))));
      }
      if (sub.empty()) return Value::Int(static_cast<int64_t>(CodePointCount(s)) + 1);
      int64_t n = 0;
      for (size_t p = s.find(sub); p != std::string::npos; p = s.find(sub, p + sub.size())) ++n;
      return Value::Int(n);
    });
  }
  if (name == "join") {
    return Make(name, [s, what](Interpreter& interp, CallArgs& args) {
      ArgReader r(what, args, {"iterable"});
      if (!r.Get(0)) throw RenderError(what + " takes exactly one argument");
      std::string out;
      bool first = true;
      for (const Value& v : interp.Iterate(*r.Get(0))) {
        if (!first) out += s;
        first = false;
        out += RequireString(&v, "sequence item");
        if (out.size() > interp.max_bytes()) throw RenderError("joined string too large");
      }
      return Value::String(std::move(out));
    });
  }
  if (name == "splitlines") {
    return Make(name, [s, what](Interpreter&, CallArgs& args) {
      ArgReader r(what, args, {});
      std::vector<Value> out;
      for (auto& line : PySplitLines(s)) out.push_back(Value::String(std::move(line)));
      return Value::List(std::move(out));
    });
  }
  if (name == "isdigit" || name == "isalpha" || name == "isalnum" || name == "isspace" || name == "islower" ||
      name == "isupper") {
    return Make(name, [s, name, what](Interpreter&, CallArgs& args) {
      ArgReader r(what, args, {});
      const std::vector<char32_t> cps = DecodeUtf8(s);
      if (cps.empty()) return Value::Bool(false);
      bool any_cased = false;
      for (char32_t c : cps) {
        const bool digit = c >= '0' && c <= '9', lower = c >= 'a' && c <= 'z', upper = c >= 'A' && c <= 'Z';
        if (name == "isdigit" && !digit) return Value::Bool(false);
        if (name == "isalpha" && !(lower || upper)) return Value::Bool(false);
        if (name == "isalnum" && !(lower || upper || digit)) return Value::Bool(false);
        if (name == "isspace" && !IsPyWhitespace(c)) return Value::Bool(false);
        if (name == "islower" && upper) return Value::Bool(false);
        if (name == "isupper" && lower) return Value::Bool(false);
        any_cased = any_cased || lower || upper;
      }
      return Value::Bool((name == "islower" || name == "isupper") ? any_cased : true);
    });
  }
  return Value::Undefined("'str object' has no attribute '" + name + "'");
}

Value DictMethod(const Value& self, const std::string& name) {
  const std::string what = "dict." + name + "()";
  if (name == "items" || name == "keys" || name == "values") {
    return Make(name, [self, name, what](Interpreter& interp, CallArgs& args) {
      ArgReader r(what, args, {});
      std::vector<Value> out;
      for (const auto& [k, v] : self.Dict().items) {
        if (name == "items") {
          out.push_back(Value::List({Value::String(k), v}, true));
        } else {
          out.push_back(name == "keys" ? Value::String(k) : v);
        }
      }
      interp.Charge(out.size());
      return Value::List(std::move(out));
    });
  }
  if (name == "get") {
    return Make(name, [self, what](Interpreter&, CallArgs& args) {
      ArgReader r(what, args, {"key", "default"});
      if (!r.Get(0)) throw RenderError(what + " takes at least 1 argument");
      if (r.Get(0)->IsString()) {
        if (const Value* v = self.Dict().Find(r.Get(0)->Str())) return *v;
      }
      return r.GetOr(1, Value::None());
    });
  }
  return Value::Undefined();
}

// Jinja's odd/even: value % 2 == 1 / == 0 (so 2.5 is neither).
bool ModTwoIs(const Value& v, int64_t want, size_t max_bytes) {
  return BinaryOp("%", v, Value::Int(2), max_bytes).Equals(Value::Int(want));
}

}  // namespace

Value GetMethod(const Value& receiver, const std::string& name) {
  if (IsUnsafeMutator(receiver, name)) {
    const std::string type = receiver.TypeName();
    return Make(name, [type, name](Interpreter&, CallArgs&) -> Value {
      throw RenderError("access to attribute '" + name + "' of '" + type + "' object is unsafe");
    });
  }
  if (receiver.IsString()) {
    Value m = StringMethod(receiver, name);
    return m;
  }
  if (receiver.IsDict()) return DictMethod(receiver, name);
  return Value::Undefined();
}

bool ApplyTest(Interpreter& interp, const std::string& name, const Value& v, CallArgs& args) {
  const std::string what = "test '" + name + "'";
  using K = Value::Kind;
  auto no_args = [&] { ArgReader r(what, args, {}); };
  if (name == "defined") return no_args(), !v.IsUndefined();
  if (name == "undefined") return no_args(), v.IsUndefined();
  if (name == "none") return no_args(), v.IsNone();
  if (name == "boolean") return no_args(), v.kind() == K::kBool;
  if (name == "true") return no_args(), v.kind() == K::kBool && v.AsBool();
  if (name == "false") return no_args(), v.kind() == K::kBool && !v.AsBool();
  if (name == "integer") return no_args(), v.kind() == K::kInt;
  if (name == "float") return no_args(), v.kind() == K::kFloat;
  if (name == "number") return no_args(), v.IsNumber();
  if (name == "string") return no_args(), v.IsString();
  if (name == "mapping") return no_args(), v.IsDict();
  if (name == "iterable") return no_args(), v.IsUndefined() || v.IsString() || v.IsList() || v.IsDict();
  if (name == "sequence") return no_args(), v.IsUndefined() || v.IsString() || v.IsSequence() || v.IsDict();
  // Undefined defines __call__ (to raise), so Python's callable() says yes.
  if (name == "callable") return no_args(), v.kind() == K::kCallable || v.IsUndefined();
  if (name == "odd") return no_args(), ModTwoIs(v, 1, interp.max_bytes());
  if (name == "even") return no_args(), ModTwoIs(v, 0, interp.max_bytes());
  if (name == "lower" || name == "upper") {
    no_args();
    const std::string s = v.ToStr();
    CallArgs none;
    return interp.Call(StringMethod(Value::String(s), name == "lower" ? "islower" : "isupper"), none).Truthy();
  }
  if (name == "escaped") return no_args(), false;
  static const char* const kCompare[][2] = {{"equalto", "=="}, {"eq", "=="}, {"==", "=="}, {"ne", "!="},
                                            {"!=", "!="},      {"lt", "<"},   {"lessthan", "<"},
                                            {"<", "<"},        {"le", "<="},  {"<=", "<="},
                                            {"gt", ">"},       {"greaterthan", ">"}, {">", ">"},
                                            {"ge", ">="},      {">=", ">="},  {"in", "in"}};
  for (const auto& [test, op] : kCompare) {
    if (name == test) {
      ArgReader r(what, args, {"other"});
      if (!r.Get(0)) throw RenderError(what + " needs an argument");
      return Compare(op, v, *r.Get(0));
    }
  }
  if (name == "sameas") {
    ArgReader r(what, args, {"other"});
    if (!r.Get(0)) throw RenderError(what + " needs an argument");
    const Value& o = *r.Get(0);
    if (v.kind() != o.kind()) return false;
    if (v.IsNone() || v.IsUndefined()) return true;
    if (v.kind() == K::kBool) return v.AsBool() == o.AsBool();
    if (v.kind() == K::kInt) return v.AsInt() == o.AsInt() && v.AsInt() >= -5 && v.AsInt() <= 256;
    return false;
  }
  if (name == "divisibleby") {
    ArgReader r(what, args, {"num"});
    if (!r.Get(0)) throw RenderError(what + " needs an argument");
    const Value m = BinaryOp("%", v, *r.Get(0), interp.max_bytes());
    return m.AsFloat() == 0;
  }
  throw RenderError("no test named '" + name + "'");
}

Value GlobalFunction(const std::string& name) {
  if (name == "range") {
    return Make(name, [](Interpreter& interp, CallArgs& args) {
      ArgReader r("range()", args, {"a", "b", "c"});
      if (!args.named.empty()) throw RenderError("range() takes no keyword arguments");
      auto as_int = [](const Value* v) {
        if (v->kind() != Value::Kind::kInt && v->kind() != Value::Kind::kBool) {
          throw RenderError("'" + v->TypeName() + "' object cannot be interpreted as an integer");
        }
        return v->AsInt();
      };
      int64_t start = 0, stop = 0, step = 1;
      if (args.positional.empty()) throw RenderError("range expected at least 1 argument, got 0");
      if (args.positional.size() == 1) {
        stop = as_int(r.Get(0));
      } else {
        start = as_int(r.Get(0));
        stop = as_int(r.Get(1));
        if (r.Get(2)) step = as_int(r.Get(2));
      }
      if (step == 0) throw RenderError("range() arg 3 must not be zero");
      // The sandbox's limit (jinja2.sandbox.MAX_RANGE).
      const long double count = step > 0 ? (static_cast<long double>(stop) - start + step - 1) / step
                                         : (static_cast<long double>(start) - stop - step - 1) / -step;
      if (count > 100000) {
        throw RenderError("Range too big. The sandbox blocks ranges larger than MAX_RANGE (100000).");
      }
      std::vector<Value> out;
      for (int64_t i = start; step > 0 ? i < stop : i > stop; i += step) out.push_back(Value::Int(i));
      interp.Charge(out.size());
      return Value::List(std::move(out));
    });
  }
  if (name == "namespace" || name == "dict") {
    return Make(name, [name](Interpreter&, CallArgs& args) {
      auto data = std::make_shared<DictData>();
      if (args.positional.size() > 1) throw RenderError(name + "() takes at most 1 positional argument");
      if (!args.positional.empty()) {
        const Value& init = args.positional[0];
        if (!init.IsDict()) throw RenderError(name + "() positional argument must be a mapping");
        for (const auto& [k, v] : init.Dict().items) data->Set(k, v);
      }
      for (const auto& [k, v] : args.named) data->Set(k, v);
      return name == "dict" ? Value::Dict(std::move(data)) : Value::Namespace(std::move(data));
    });
  }
  if (name == "raise_exception") {
    return Make(name, [](Interpreter&, CallArgs& args) -> Value {
      ArgReader r("raise_exception()", args, {"message"});
      throw TemplateRaised(r.GetOr(0, Value::String("")).ToStr());
    });
  }
  if (name == "strftime_now") {
    return Make(name, [](Interpreter&, CallArgs& args) {
      ArgReader r("strftime_now()", args, {"format"});
      const std::string& format = RequireString(r.Get(0), "strftime_now format");
      if (format.size() > 256) throw RenderError("strftime_now format too long");
      const std::time_t now = std::time(nullptr);
      std::tm local{};
      localtime_r(&now, &local);
      char buf[2048];
      const size_t n = format.empty() ? 0 : std::strftime(buf, sizeof(buf), format.c_str(), &local);
      return Value::String(std::string(buf, n));
    });
  }
  return Value::Undefined();
}

}  // namespace mms::tmpl
