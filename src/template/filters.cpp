// Jinja's built-in filters, with transformers' tojson, as Jinja 3.1 defines them.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "template/builtins.h"
#include "template/interpreter.h"
#include "template/operators.h"
#include "template/text_util.h"

namespace mms::tmpl {

ArgReader::ArgReader(std::string what, CallArgs& args, std::initializer_list<const char*> names)
    : what_(std::move(what)), args_(args), names_(names) {
  if (args_.positional.size() > names_.size()) {
    throw RenderError(what_ + " takes at most " + std::to_string(names_.size()) + " argument(s), got " +
                      std::to_string(args_.positional.size()));
  }
  for (const auto& named : args_.named) {
    const std::string& key = named.first;
    const auto it = std::find_if(names_.begin(), names_.end(), [&](const char* n) { return key == n; });
    if (it == names_.end()) throw RenderError(what_ + " got an unexpected keyword argument '" + key + "'");
    if (static_cast<size_t>(it - names_.begin()) < args_.positional.size()) {
      throw RenderError(what_ + " got multiple values for argument '" + key + "'");
    }
  }
}

const Value* ArgReader::Get(size_t index) const {
  if (index < args_.positional.size()) return &args_.positional[index];
  if (index >= names_.size()) return nullptr;
  for (const auto& [key, value] : args_.named) {
    if (key == names_[index]) return &value;
  }
  return nullptr;
}

Value ArgReader::GetOr(size_t index, Value fallback) const {
  const Value* v = Get(index);
  return v ? *v : std::move(fallback);
}

namespace {

int64_t RequireInt(const Value& v, const std::string& what) {
  if (v.kind() != Value::Kind::kInt && v.kind() != Value::Kind::kBool) {
    throw RenderError(what + " must be an integer, not " + v.TypeName());
  }
  return v.AsInt();
}

size_t Length(const Value& v) {
  switch (v.kind()) {
    case Value::Kind::kUndefined:
      return 0;
    case Value::Kind::kString:
      return CodePointCount(v.Str());
    case Value::Kind::kList:
      if (v.IsGenerator()) throw RenderError("object of type 'generator' has no len()");
      return v.List().items.size();
    case Value::Kind::kDict:
      return v.Dict().items.size();
    default:
      throw RenderError("object of type '" + v.TypeName() + "' has no len()");
  }
}

// Jinja's attribute paths ("a.b", "0"): each part an item lookup, integers as indexes.
Value Attribute(Interpreter& interp, Value v, const std::string& path) {
  size_t pos = 0;
  while (true) {
    const size_t dot = path.find('.', pos);
    const std::string part = path.substr(pos, dot == std::string::npos ? std::string::npos : dot - pos);
    const bool numeric = !part.empty() && std::all_of(part.begin(), part.end(), [](char c) { return c >= '0' && c <= '9'; });
    v = interp.GetItem(v, numeric ? Value::Int(std::atoll(part.c_str())) : Value::String(part));
    if (dot == std::string::npos) return v;
    pos = dot + 1;
  }
}

// Sort and unique keys: strings lowercased unless case-sensitive (Jinja's ignore_case).
Value SortKey(const Value& v, bool case_sensitive) {
  if (!case_sensitive && v.IsString()) return Value::String(AsciiLower(v.Str()));
  return v;
}

// The items a lazy filter walks: nothing for a falsy input (Jinja checks `if value:` first),
// and for a value that cannot be iterated, the error its generator raises when consumed.
std::vector<Value> LazyItems(Interpreter& interp, const Value& input, std::string* deferred_error) {
  if (!input.Truthy()) return {};
  if (input.IsNumber() || input.kind() == Value::Kind::kNamespace || input.kind() == Value::Kind::kCallable) {
    *deferred_error = "'" + input.TypeName() + "' object is not iterable";
    return {};
  }
  return interp.Iterate(input);
}

// select/reject/selectattr/rejectattr: keep the items whose test result equals `keep`.
Value FilterByTest(Interpreter& interp, const Value& input, CallArgs& args, bool keep, bool by_attribute) {
  std::string deferred;
  const std::vector<Value> items = LazyItems(interp, input, &deferred);
  if (!deferred.empty()) return Value::Generator({}, deferred);
  size_t next = 0;
  std::string attribute;
  if (by_attribute) {
    if (args.positional.empty() || !args.positional[0].IsString()) {
      throw RenderError("selectattr/rejectattr needs an attribute name");
    }
    attribute = args.positional[next++].Str();
  }
  std::string test;
  if (next < args.positional.size()) {
    if (!args.positional[next].IsString()) throw RenderError("the test name must be a string");
    test = args.positional[next++].Str();
  }
  CallArgs test_args;
  test_args.positional.assign(args.positional.begin() + static_cast<std::ptrdiff_t>(next), args.positional.end());
  test_args.named = args.named;
  std::vector<Value> out;
  for (const Value& item : items) {
    const Value subject = by_attribute ? Attribute(interp, item, attribute) : item;
    CallArgs a = test_args;
    const bool passed = test.empty() ? subject.Truthy() : ApplyTest(interp, test, subject, a);
    if (passed == keep) out.push_back(item);
  }
  return Value::Generator(std::move(out));
}

std::string Title(const std::string& s) {
  // Jinja's title: words start after runs of '-', whitespace, '(', '{', '[' or '<'.
  std::string out;
  bool at_start = true;
  for (char32_t c : DecodeUtf8(s)) {
    const bool sep = c == '-' || c == '(' || c == '{' || c == '[' || c == '<' || IsPyWhitespace(c);
    if (sep) {
      AppendUtf8(out, c);
      at_start = true;
      continue;
    }
    if (c < 0x80) c = at_start ? static_cast<char32_t>(std::toupper(static_cast<int>(c)))
                               : static_cast<char32_t>(std::tolower(static_cast<int>(c)));
    AppendUtf8(out, c);
    at_start = false;
  }
  return out;
}

std::string Capitalize(const std::string& s) {
  std::string lower = AsciiLower(s);
  if (!lower.empty() && lower[0] >= 'a' && lower[0] <= 'z') lower[0] = static_cast<char>(lower[0] - 'a' + 'A');
  return lower;
}

std::string HtmlEscape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&#34;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string Indent(const std::string& s, const std::string& indention, bool first, bool blank) {
  const std::vector<std::string> lines = PySplitLines(s + "\n");
  std::string rv;
  if (blank) {
    for (size_t i = 0; i < lines.size(); ++i) {
      if (i > 0) rv += "\n" + indention;
      rv += lines[i];
    }
  } else if (!lines.empty()) {
    rv = lines[0];
    for (size_t i = 1; i < lines.size(); ++i) {
      rv += '\n';
      if (!lines[i].empty()) rv.append(indention).append(lines[i]);
    }
  }
  return first ? indention + rv : rv;
}

bool ParsePyInt(const std::string& text, int64_t* out) {
  std::string t = PyStrip(text, nullptr, true, true);
  std::string digits;
  for (size_t i = 0; i < t.size(); ++i) {
    if (t[i] == '_' && i > 0 && i + 1 < t.size() && std::isdigit(static_cast<unsigned char>(t[i - 1])) &&
        std::isdigit(static_cast<unsigned char>(t[i + 1]))) {
      continue;
    }
    digits += t[i];
  }
  if (digits.empty()) return false;
  size_t start = (digits[0] == '+' || digits[0] == '-') ? 1 : 0;
  if (start >= digits.size()) return false;
  for (size_t i = start; i < digits.size(); ++i) {
    if (!std::isdigit(static_cast<unsigned char>(digits[i]))) return false;
  }
  errno = 0;
  const long long v = std::strtoll(digits.c_str(), nullptr, 10);
  if (errno == ERANGE) return false;
  *out = v;
  return true;
}

bool ParsePyFloat(const std::string& text, double* out) {
  const std::string t = AsciiLower(PyStrip(text, nullptr, true, true));
  if (t.empty()) return false;
  std::string body = t;
  if (body[0] == '+' || body[0] == '-') body = body.substr(1);
  if (body == "inf" || body == "infinity" || body == "nan") {
    const double v = body == "nan" ? NAN : INFINITY;
    *out = t[0] == '-' ? -v : v;
    return true;
  }
  for (char c : body) {
    if (!(std::isdigit(static_cast<unsigned char>(c)) || c == '.' || c == 'e' || c == '+' || c == '-' || c == '_')) {
      return false;
    }
  }
  std::string clean;
  for (char c : t) {
    if (c != '_') clean += c;
  }
  char* end = nullptr;
  *out = std::strtod(clean.c_str(), &end);
  return end != nullptr && *end == '\0' && end != clean.c_str();
}

Value RoundFloat(double x, int64_t precision, const std::string& method) {
  if (method == "common") {
    if (!std::isfinite(x)) return Value::Float(x);
    if (precision == 0) return Value::Float(std::nearbyint(x));
    if (precision > 0 && precision < 300) {
      // Python rounds the exact binary value half to even, as printf does.
      char buf[512];
      std::snprintf(buf, sizeof(buf), "%.*f", static_cast<int>(precision), x);
      return Value::Float(std::strtod(buf, nullptr));
    }
    const double scale = std::pow(10.0, static_cast<double>(-precision));
    return Value::Float(std::nearbyint(x / scale) * scale);
  }
  const double scale = std::pow(10.0, static_cast<double>(precision));
  const double scaled = method == "ceil" ? std::ceil(x * scale) : std::floor(x * scale);
  return Value::Float(scaled / scale);
}

}  // namespace

Value ApplyFilter(Interpreter& interp, const std::string& name, const Value& input, CallArgs& args) {
  const std::string what = "filter '" + name + "'";
  if (name == "trim") {
    ArgReader r(what, args, {"chars"});
    const Value* chars = r.Get(0);
    std::string set = chars && !chars->IsNone() ? chars->ToStr() : std::string();
    return Value::String(PyStrip(input.ToStr(), chars && !chars->IsNone() ? &set : nullptr, true, true));
  }
  if (name == "upper" || name == "lower" || name == "capitalize" || name == "title") {
    ArgReader r(what, args, {});
    const std::string s = input.ToStr();
    if (name == "upper") return Value::String(AsciiUpper(s));
    if (name == "lower") return Value::String(AsciiLower(s));
    if (name == "capitalize") return Value::String(Capitalize(s));
    return Value::String(Title(s));
  }
  if (name == "length" || name == "count") {
    ArgReader r(what, args, {});
    return Value::Int(static_cast<int64_t>(Length(input)));
  }
  if (name == "first" || name == "last") {
    ArgReader r(what, args, {});
    if (input.IsNumber() || input.IsNone()) throw RenderError("'" + input.TypeName() + "' object is not iterable");
    const std::vector<Value> items = interp.Iterate(input);
    if (name == "last" && input.IsGenerator()) throw RenderError("'generator' object is not reversible");
    if (items.empty()) return Value::Undefined("No " + name + " item, sequence was empty.");
    return name == "first" ? items.front() : items.back();
  }
  if (name == "join") {
    ArgReader r(what, args, {"d", "attribute"});
    const std::string sep = r.GetOr(0, Value::String("")).ToStr();
    const Value* attribute = r.Get(1);
    std::string out;
    bool first = true;
    for (const Value& item : interp.Iterate(input)) {
      if (!first) out += sep;
      first = false;
      out += (attribute && !attribute->IsNone() ? Attribute(interp, item, attribute->ToStr()) : item).ToStr();
      if (out.size() > interp.max_bytes()) throw RenderError("joined string too large");
    }
    interp.Charge(out.size());
    return Value::String(std::move(out));
  }
  if (name == "default" || name == "d") {
    ArgReader r(what, args, {"default_value", "boolean"});
    const bool boolean = r.GetOr(1, Value::Bool(false)).Truthy();
    if (input.IsUndefined() || (boolean && !input.Truthy())) return r.GetOr(0, Value::String(""));
    return input;
  }
  if (name == "tojson") {
    ArgReader r(what, args, {"ensure_ascii", "indent", "separators", "sort_keys"});
    Value::JsonOptions o;
    o.ensure_ascii = r.GetOr(0, Value::Bool(false)).Truthy();
    const Value indent = r.GetOr(1, Value::None());
    if (!indent.IsNone()) {
      if (indent.IsString()) throw RenderError("tojson: a string indent is not supported");
      o.indent = static_cast<int>(std::clamp<int64_t>(RequireInt(indent, "tojson indent"), 0, 64));
    }
    const Value seps = r.GetOr(2, Value::None());
    if (!seps.IsNone()) {
      if (!seps.IsList() || seps.List().items.size() != 2 || !seps.List().items[0].IsString() ||
          !seps.List().items[1].IsString()) {
        throw RenderError("tojson separators must be a pair of strings");
      }
      o.item_separator = seps.List().items[0].Str();
      o.key_separator = seps.List().items[1].Str();
    }
    o.sort_keys = r.GetOr(3, Value::Bool(false)).Truthy();
    std::string out = input.ToJson(o);
    if (out.size() > interp.max_bytes()) throw RenderError("tojson output too large");
    interp.Charge(out.size());
    return Value::String(std::move(out));
  }
  if (name == "string") {
    ArgReader r(what, args, {});
    return Value::String(input.ToStr());
  }
  if (name == "safe") {
    ArgReader r(what, args, {});
    return input.IsString() ? input : Value::String(input.ToStr());
  }
  if (name == "escape" || name == "e") {
    ArgReader r(what, args, {});
    return Value::String(HtmlEscape(input.ToStr()));
  }
  if (name == "int") {
    ArgReader r(what, args, {"default", "base"});
    const Value fallback = r.GetOr(0, Value::Int(0));
    if (r.Get(1) != nullptr && RequireInt(*r.Get(1), "int base") != 10) throw RenderError("int: only base 10 is supported");
    RequireDefined(input);  // Undefined's __int__ raises rather than falling back to the default
    if (input.kind() == Value::Kind::kInt || input.kind() == Value::Kind::kBool) return Value::Int(input.AsInt());
    if (input.kind() == Value::Kind::kFloat) {
      const double d = input.AsFloat();
      if (!std::isfinite(d) || std::fabs(d) >= 9.2e18) return fallback;
      return Value::Int(static_cast<int64_t>(d));
    }
    if (input.IsString()) {
      int64_t i;
      if (ParsePyInt(input.Str(), &i)) return Value::Int(i);
      double d;
      if (ParsePyFloat(input.Str(), &d) && std::isfinite(d) && std::fabs(d) < 9.2e18) {
        return Value::Int(static_cast<int64_t>(d));
      }
    }
    return fallback;
  }
  if (name == "float") {
    ArgReader r(what, args, {"default"});
    const Value fallback = r.GetOr(0, Value::Float(0.0));
    RequireDefined(input);
    if (input.IsNumber()) return Value::Float(input.AsFloat());
    double d;
    if (input.IsString() && ParsePyFloat(input.Str(), &d)) return Value::Float(d);
    return fallback;
  }
  if (name == "abs") {
    ArgReader r(what, args, {});
    RequireDefined(input);
    if (input.kind() == Value::Kind::kFloat) return Value::Float(std::fabs(input.AsFloat()));
    if (input.IsNumber()) {
      if (input.AsInt() == INT64_MIN) throw RenderError("integer overflow");
      return Value::Int(input.AsInt() < 0 ? -input.AsInt() : input.AsInt());
    }
    throw RenderError("bad operand type for abs(): '" + input.TypeName() + "'");
  }
  if (name == "round") {
    ArgReader r(what, args, {"precision", "method"});
    const int64_t precision = RequireInt(r.GetOr(0, Value::Int(0)), "round precision");
    const std::string method = r.GetOr(1, Value::String("common")).ToStr();
    if (method != "common" && method != "ceil" && method != "floor") {
      throw RenderError("method must be common, ceil or floor");
    }
    RequireDefined(input);
    if (!input.IsNumber()) throw RenderError("type " + input.TypeName() + " doesn't define __round__ method");
    if (method == "common" && input.kind() != Value::Kind::kFloat) {
      // round(int, n) stays an int: unchanged for n >= 0, else half to even at 10**-n.
      const int64_t v = input.AsInt();
      if (precision >= 0) return Value::Int(v);
      if (precision < -18) return Value::Int(0);
      int64_t unit = 1;
      for (int64_t i = 0; i < -precision; ++i) unit *= 10;
      int64_t q = v / unit, r = v % unit;
      if (r < 0) r += unit, q -= 1;  // floor division
      const bool up = r * 2 > unit || (r * 2 == unit && (q % 2 != 0));
      int64_t rounded = 0;
      if (__builtin_mul_overflow(q + (up ? 1 : 0), unit, &rounded)) throw RenderError("integer overflow");
      return Value::Int(rounded);
    }
    return RoundFloat(input.AsFloat(), precision, method);
  }
  if (name == "list") {
    ArgReader r(what, args, {});
    return Value::List(interp.Iterate(input));
  }
  if (name == "items") {
    ArgReader r(what, args, {});
    if (input.IsUndefined()) return Value::Generator({});
    if (!input.IsDict()) return Value::Generator({}, "Can only get item pairs from a mapping.");
    std::vector<Value> pairs;
    for (const auto& [k, v] : input.Dict().items) pairs.push_back(Value::List({Value::String(k), v}, true));
    interp.Charge(pairs.size());
    return Value::Generator(std::move(pairs));
  }
  if (name == "selectattr" || name == "rejectattr") {
    return FilterByTest(interp, input, args, name == "selectattr", true);
  }
  if (name == "select" || name == "reject") return FilterByTest(interp, input, args, name == "select", false);
  if (name == "map") {
    std::string deferred;
    const std::vector<Value> items = LazyItems(interp, input, &deferred);
    if (!deferred.empty()) return Value::Generator({}, deferred);
    std::vector<Value> out;
    const Value* attribute = nullptr;
    const Value* fallback = nullptr;
    for (const auto& [key, value] : args.named) {
      if (key == "attribute") attribute = &value;
      if (key == "default") fallback = &value;
    }
    if (attribute != nullptr) {
      if (!args.positional.empty()) throw RenderError("map: positional arguments with attribute=");
      for (const Value& item : items) {
        Value v = Attribute(interp, item, attribute->ToStr());
        out.push_back(v.IsUndefined() && fallback ? *fallback : v);
      }
      return Value::Generator(std::move(out));
    }
    if (args.positional.empty() || !args.positional[0].IsString()) throw RenderError("map needs a filter name or attribute=");
    const std::string filter = args.positional[0].Str();
    CallArgs rest;
    rest.positional.assign(args.positional.begin() + 1, args.positional.end());
    rest.named = args.named;
    for (const Value& item : items) {
      CallArgs a = rest;
      out.push_back(ApplyFilter(interp, filter, item, a));
    }
    return Value::Generator(std::move(out));
  }
  if (name == "unique") {
    ArgReader r(what, args, {"case_sensitive", "attribute"});
    const bool case_sensitive = r.GetOr(0, Value::Bool(false)).Truthy();
    const Value* attribute = r.Get(1);
    std::vector<Value> out, seen;
    const std::vector<Value> items = input.IsNumber() || input.IsNone() ? std::vector<Value>() : interp.Iterate(input);
    if (input.IsNumber() || input.IsNone()) return Value::Generator({}, "'" + input.TypeName() + "' object is not iterable");
    for (const Value& item : items) {
      const Value key = SortKey(attribute && !attribute->IsNone() ? Attribute(interp, item, attribute->ToStr()) : item,
                                case_sensitive);
      if (std::none_of(seen.begin(), seen.end(), [&](const Value& s) { return s.Equals(key); })) {
        interp.Charge(seen.size());
        seen.push_back(key);
        out.push_back(item);
      }
    }
    return Value::Generator(std::move(out));
  }
  if (name == "reverse") {
    ArgReader r(what, args, {});
    if (input.IsString()) {
      std::vector<char32_t> cps = DecodeUtf8(input.Str());
      std::reverse(cps.begin(), cps.end());
      return Value::String(EncodeUtf8(cps));
    }
    // reversed() of a list is a lazy iterator; a generator cannot be reversed, so Jinja lists it.
    std::vector<Value> items = interp.Iterate(input);
    std::reverse(items.begin(), items.end());
    return input.IsGenerator() ? Value::List(std::move(items)) : Value::Generator(std::move(items));
  }
  if (name == "sort") {
    ArgReader r(what, args, {"reverse", "case_sensitive", "attribute"});
    const bool reverse = r.GetOr(0, Value::Bool(false)).Truthy();
    const bool case_sensitive = r.GetOr(1, Value::Bool(false)).Truthy();
    const Value* attribute = r.Get(2);
    std::vector<Value> items = interp.Iterate(input);
    std::vector<std::pair<Value, Value>> keyed;
    for (Value& item : items) {
      Value key = attribute && !attribute->IsNone() ? Attribute(interp, item, attribute->ToStr()) : item;
      keyed.emplace_back(SortKey(key, case_sensitive), std::move(item));
    }
    interp.Charge(keyed.size() * 16);
    std::stable_sort(keyed.begin(), keyed.end(), [&](const auto& a, const auto& b) {
      return reverse ? LessThan(b.first, a.first) : LessThan(a.first, b.first);
    });
    std::vector<Value> out;
    for (auto& kv : keyed) out.push_back(std::move(kv.second));
    return Value::List(std::move(out));
  }
  if (name == "replace") {
    ArgReader r(what, args, {"old", "new", "count"});
    if (!r.Get(0) || !r.Get(1)) throw RenderError("replace needs old and new");
    CallArgs method_args;
    method_args.positional = {Value::String(r.Get(0)->ToStr()), Value::String(r.Get(1)->ToStr())};
    const Value* count = r.Get(2);
    if (count && !count->IsNone()) method_args.positional.push_back(*count);
    return interp.Call(GetMethod(Value::String(input.ToStr()), "replace"), method_args);
  }
  if (name == "indent") {
    ArgReader r(what, args, {"width", "first", "blank"});
    const Value width = r.GetOr(0, Value::Int(4));
    std::string indention;
    if (width.IsString()) {
      indention = width.Str();
    } else {
      const int64_t w = RequireInt(width, "indent width");
      indention.assign(static_cast<size_t>(std::clamp<int64_t>(w, 0, 1024)), ' ');
    }
    if (!input.IsString()) throw RenderError("indent needs a string, not " + input.TypeName());
    std::string out = Indent(input.Str(), indention, r.GetOr(1, Value::Bool(false)).Truthy(),
                             r.GetOr(2, Value::Bool(false)).Truthy());
    if (out.size() > interp.max_bytes()) throw RenderError("indented string too large");
    return Value::String(std::move(out));
  }
  if (name == "wordcount") {
    ArgReader r(what, args, {});
    int64_t words = 0;
    bool in_word = false;
    for (char32_t c : DecodeUtf8(input.ToStr())) {
      const bool word = c == '_' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                        (c >= 0x80 && !IsPyWhitespace(c) && !(c >= 0x2000 && c <= 0x206F) && !(c >= 0x3000 && c <= 0x303F));
      if (word && !in_word) ++words;
      in_word = word;
    }
    return Value::Int(words);
  }
  if (name == "attr") {
    ArgReader r(what, args, {"name"});
    if (!r.Get(0)) throw RenderError("attr needs a name");
    // Python's getattr only: a dict's keys are items, not attributes.
    if (input.IsDict()) return GetMethod(input, r.Get(0)->ToStr());
    return interp.GetAttr(input, r.Get(0)->ToStr());
  }
  if (name == "sum") {
    ArgReader r(what, args, {"attribute", "start"});
    Value total = r.GetOr(1, Value::Int(0));
    const Value* attribute = r.Get(0);
    for (const Value& item : interp.Iterate(input)) {
      total = BinaryOp("+", total,
                       attribute && !attribute->IsNone() ? Attribute(interp, item, attribute->ToStr()) : item,
                       interp.max_bytes());
    }
    return total;
  }
  if (name == "min" || name == "max") {
    ArgReader r(what, args, {"case_sensitive", "attribute"});
    const bool case_sensitive = r.GetOr(0, Value::Bool(false)).Truthy();
    const Value* attribute = r.Get(1);
    const std::vector<Value> items = interp.Iterate(input);
    if (items.empty()) return Value::Undefined("No aggregated item, sequence was empty.");
    size_t best = 0;
    auto key = [&](const Value& v) {
      return SortKey(attribute && !attribute->IsNone() ? Attribute(interp, v, attribute->ToStr()) : v, case_sensitive);
    };
    for (size_t i = 1; i < items.size(); ++i) {
      const bool better = name == "min" ? LessThan(key(items[i]), key(items[best])) : LessThan(key(items[best]), key(items[i]));
      if (better) best = i;
    }
    return items[best];
  }
  throw RenderError("no filter named '" + name + "'");
}

}  // namespace mms::tmpl
