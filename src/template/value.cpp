#include "template/value.h"

#include <algorithm>
#include <cstdio>
#include <cmath>
#include <nlohmann/json.hpp>

#include "template/text_util.h"

namespace mms::tmpl {

namespace {

const std::string kEmpty;

int DepthOf(const std::vector<Value>& items) {
  int depth = 0;
  for (const Value& v : items) depth = std::max(depth, v.Depth());
  return depth + 1;
}

void CheckDepth(int depth) {
  if (depth > kMaxValueDepth) {
    throw RenderError("value nested deeper than " + std::to_string(kMaxValueDepth) + " levels");
  }
}

}  // namespace

const Value* DictData::Find(std::string_view key) const {
  for (const auto& [k, v] : items) {
    if (k == key) return &v;
  }
  return nullptr;
}

void DictData::Set(const std::string& key, Value value) {
  const int d = value.Depth() + 1;
  CheckDepth(d);
  depth = std::max(depth, d);
  for (auto& [k, v] : items) {
    if (k == key) {
      v = std::move(value);
      return;
    }
  }
  items.emplace_back(key, std::move(value));
}

Value Value::Undefined(std::string hint) {
  Value v;
  if (!hint.empty()) v.s_ = std::make_shared<const std::string>(std::move(hint));
  return v;
}

Value Value::None() {
  Value v;
  v.kind_ = Kind::kNone;
  return v;
}

Value Value::Bool(bool b) {
  Value v;
  v.kind_ = Kind::kBool;
  v.b_ = b;
  return v;
}

Value Value::Int(int64_t i) {
  Value v;
  v.kind_ = Kind::kInt;
  v.i_ = i;
  return v;
}

Value Value::Float(double d) {
  Value v;
  v.kind_ = Kind::kFloat;
  v.d_ = d;
  return v;
}

Value Value::String(std::string s) {
  Value v;
  v.kind_ = Kind::kString;
  v.s_ = std::make_shared<const std::string>(std::move(s));
  return v;
}

Value Value::List(std::vector<Value> items, bool is_tuple) {
  auto data = std::make_shared<ListData>();
  data->depth = DepthOf(items);
  CheckDepth(data->depth);
  data->items = std::move(items);
  data->is_tuple = is_tuple;
  Value v;
  v.kind_ = Kind::kList;
  v.list_ = std::move(data);
  return v;
}

Value Value::Generator(std::vector<Value> items, std::string deferred_error) {
  Value v = List(std::move(items));
  auto data = std::const_pointer_cast<ListData>(v.list_);
  data->is_generator = true;
  data->deferred_error = std::move(deferred_error);
  return v;
}

bool Value::IsGenerator() const { return kind_ == Kind::kList && list_->is_generator; }

Value Value::Dict(std::shared_ptr<DictData> dict) {
  Value v;
  v.kind_ = Kind::kDict;
  v.dict_ = std::move(dict);
  return v;
}

Value Value::Namespace(std::shared_ptr<DictData> attrs) {
  Value v;
  v.kind_ = Kind::kNamespace;
  v.dict_ = std::move(attrs);
  return v;
}

Value Value::Function(std::shared_ptr<const Callable> fn) {
  Value v;
  v.kind_ = Kind::kCallable;
  v.fn_ = std::move(fn);
  return v;
}

namespace {

template <typename Json>
Value ValueFromJson(const Json& j, int depth) {
  if (depth > kMaxValueDepth) {
    throw RenderError("template variables nested deeper than " + std::to_string(kMaxValueDepth) + " levels");
  }
  switch (j.type()) {
    case Json::value_t::null:
      return Value::None();
    case Json::value_t::boolean:
      return Value::Bool(j.template get<bool>());
    case Json::value_t::number_integer:
      return Value::Int(j.template get<int64_t>());
    case Json::value_t::number_unsigned: {
      const uint64_t u = j.template get<uint64_t>();
      if (u > static_cast<uint64_t>(INT64_MAX)) return Value::Float(static_cast<double>(u));
      return Value::Int(static_cast<int64_t>(u));
    }
    case Json::value_t::number_float:
      return Value::Float(j.template get<double>());
    case Json::value_t::string:
      return Value::String(j.template get<std::string>());
    case Json::value_t::array: {
      std::vector<Value> items;
      items.reserve(j.size());
      for (const auto& e : j) items.push_back(ValueFromJson(e, depth + 1));
      return Value::List(std::move(items));
    }
    case Json::value_t::object: {
      auto dict = std::make_shared<DictData>();
      for (auto it = j.begin(); it != j.end(); ++it) dict->Set(it.key(), ValueFromJson(it.value(), depth + 1));
      return Value::Dict(std::move(dict));
    }
    default:  // binary, discarded: not JSON a client can send
      return Value::None();
  }
}

}  // namespace

Value Value::FromJson(const nlohmann::json& j, int depth) { return ValueFromJson(j, depth); }
Value Value::FromJson(const nlohmann::ordered_json& j, int depth) { return ValueFromJson(j, depth); }

const std::string& Value::Str() const { return s_ ? *s_ : kEmpty; }
const ListData& Value::List() const { return *list_; }
const DictData& Value::Dict() const { return *dict_; }
DictData& Value::MutableNamespace() const { return *dict_; }
const std::string& Value::UndefinedHint() const { return s_ ? *s_ : kEmpty; }

bool Value::Truthy() const {
  switch (kind_) {
    case Kind::kUndefined:
    case Kind::kNone:
      return false;
    case Kind::kBool:
      return b_;
    case Kind::kInt:
      return i_ != 0;
    case Kind::kFloat:
      return d_ != 0;
    case Kind::kString:
      return !Str().empty();
    case Kind::kList:
      return list_->is_generator || !list_->items.empty();
    case Kind::kDict:
      return !dict_->items.empty();
    default:
      return true;
  }
}

int Value::Depth() const {
  if (kind_ == Kind::kList) return list_->depth;
  if (kind_ == Kind::kDict || kind_ == Kind::kNamespace) return dict_->depth;
  return 1;
}

std::string Value::ToStr() const {
  switch (kind_) {
    case Kind::kUndefined:
      return "";
    case Kind::kString:
      return Str();
    default:
      return Repr();
  }
}

std::string Value::Repr() const {
  switch (kind_) {
    case Kind::kUndefined:
      return "";
    case Kind::kNone:
      return "None";
    case Kind::kBool:
      return b_ ? "True" : "False";
    case Kind::kInt:
      return std::to_string(i_);
    case Kind::kFloat:
      return PyFloatRepr(d_);
    case Kind::kString:
      return PyStringRepr(Str());
    case Kind::kList: {
      if (list_->is_generator) return "<generator object>";
      std::string out = list_->is_tuple ? "(" : "[";
      for (size_t i = 0; i < list_->items.size(); ++i) {
        if (i > 0) out += ", ";
        out += list_->items[i].Repr();
      }
      if (list_->is_tuple && list_->items.size() == 1) out += ",";
      out += list_->is_tuple ? ")" : "]";
      return out;
    }
    case Kind::kDict:
    case Kind::kNamespace: {
      std::string out = kind_ == Kind::kNamespace ? "<Namespace {" : "{";
      bool first = true;
      for (const auto& [k, v] : dict_->items) {
        if (!first) out += ", ";
        first = false;
        out += PyStringRepr(k) + ": " + v.Repr();
      }
      out += kind_ == Kind::kNamespace ? "}>" : "}";
      return out;
    }
    case Kind::kCallable:
      return "<function " + fn_->Name() + ">";
  }
  return "";
}

namespace {

void JsonString(std::string& out, std::string_view s, bool ensure_ascii) {
  out += '"';
  for (char32_t c : DecodeUtf8(s)) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      default: {
        char buf[16];
        if (c < 0x20) {
          std::snprintf(buf, sizeof(buf), "\\u%04x", static_cast<unsigned>(c));
          out += buf;
        } else if (ensure_ascii && c >= 0x7F) {
          if (c >= 0x10000) {
            const char32_t v = c - 0x10000;
            std::snprintf(buf, sizeof(buf), "\\u%04x\\u%04x", static_cast<unsigned>(0xD800 + (v >> 10)),
                          static_cast<unsigned>(0xDC00 + (v & 0x3FF)));
          } else {
            std::snprintf(buf, sizeof(buf), "\\u%04x", static_cast<unsigned>(c));
          }
          out += buf;
        } else {
          AppendUtf8(out, c);
        }
      }
    }
  }
  out += '"';
}

void JsonDump(std::string& out, const Value& v, const Value::JsonOptions& o, int level) {
  const std::string& item_sep = o.item_separator;
  const std::string& key_sep = o.key_separator;
  auto newline = [&](int lvl) {
    if (o.indent >= 0) {
      out += '\n';
      out.append(static_cast<size_t>(o.indent) * static_cast<size_t>(lvl), ' ');
    }
  };
  switch (v.kind()) {
    case Value::Kind::kNone:
      out += "null";
      return;
    case Value::Kind::kBool:
      out += v.AsBool() ? "true" : "false";
      return;
    case Value::Kind::kInt:
      out += std::to_string(v.AsInt());
      return;
    case Value::Kind::kFloat: {
      const double d = v.AsFloat();
      if (std::isnan(d)) {
        out += "NaN";
      } else if (std::isinf(d)) {
        out += d > 0 ? "Infinity" : "-Infinity";
      } else {
        out += PyFloatRepr(d);
      }
      return;
    }
    case Value::Kind::kString:
      JsonString(out, v.Str(), o.ensure_ascii);
      return;
    case Value::Kind::kList: {
      if (v.IsGenerator()) throw RenderError("Object of type generator is not JSON serializable");
      const auto& items = v.List().items;
      if (items.empty()) {
        out += "[]";
        return;
      }
      out += '[';
      for (size_t i = 0; i < items.size(); ++i) {
        if (i > 0) out += item_sep;
        newline(level + 1);
        JsonDump(out, items[i], o, level + 1);
      }
      newline(level);
      out += ']';
      return;
    }
    case Value::Kind::kDict: {
      std::vector<const std::pair<std::string, Value>*> items;
      for (const auto& kv : v.Dict().items) items.push_back(&kv);
      if (o.sort_keys) {
        std::stable_sort(items.begin(), items.end(), [](auto* a, auto* b) { return a->first < b->first; });
      }
      if (items.empty()) {
        out += "{}";
        return;
      }
      out += '{';
      for (size_t i = 0; i < items.size(); ++i) {
        if (i > 0) out += item_sep;
        newline(level + 1);
        JsonString(out, items[i]->first, o.ensure_ascii);
        out += key_sep;
        JsonDump(out, items[i]->second, o, level + 1);
      }
      newline(level);
      out += '}';
      return;
    }
    case Value::Kind::kUndefined:
      throw RenderError("Object of type Undefined is not JSON serializable");
    case Value::Kind::kNamespace:
      throw RenderError("Object of type Namespace is not JSON serializable");
    case Value::Kind::kCallable:
      throw RenderError("Object of type function is not JSON serializable");
  }
}

}  // namespace

std::string Value::ToJson(const JsonOptions& options) const {
  JsonOptions o = options;
  if (o.item_separator.empty()) o.item_separator = o.indent >= 0 ? "," : ", ";
  if (o.key_separator.empty()) o.key_separator = ": ";
  std::string out;
  JsonDump(out, *this, o, 0);
  return out;
}

bool Value::Equals(const Value& other) const {
  if (IsNumber() && other.IsNumber()) {
    if (kind_ == Kind::kFloat || other.kind_ == Kind::kFloat) return AsFloat() == other.AsFloat();
    return AsInt() == other.AsInt();
  }
  if (kind_ != other.kind_) return false;
  switch (kind_) {
    case Kind::kUndefined:
    case Kind::kNone:
      return true;
    case Kind::kString:
      return Str() == other.Str();
    case Kind::kList: {
      const auto& a = list_->items;
      const auto& b = other.list_->items;
      if (list_->is_generator || other.list_->is_generator) return list_ == other.list_;
      if (list_->is_tuple != other.list_->is_tuple || a.size() != b.size()) return false;
      for (size_t i = 0; i < a.size(); ++i) {
        if (!a[i].Equals(b[i])) return false;
      }
      return true;
    }
    case Kind::kDict: {
      const auto& a = dict_->items;
      if (a.size() != other.dict_->items.size()) return false;
      for (const auto& [k, v] : a) {
        const Value* w = other.dict_->Find(k);
        if (w == nullptr || !v.Equals(*w)) return false;
      }
      return true;
    }
    case Kind::kNamespace:
      return dict_ == other.dict_;
    case Kind::kCallable:
      return fn_ == other.fn_;
    default:
      return false;
  }
}

std::string Value::TypeName() const {
  switch (kind_) {
    case Kind::kUndefined:
      return "Undefined";
    case Kind::kNone:
      return "NoneType";
    case Kind::kBool:
      return "bool";
    case Kind::kInt:
      return "int";
    case Kind::kFloat:
      return "float";
    case Kind::kString:
      return "str";
    case Kind::kList:
      return list_->is_generator ? "generator" : list_->is_tuple ? "tuple" : "list";
    case Kind::kDict:
      return "dict";
    case Kind::kNamespace:
      return "Namespace";
    case Kind::kCallable:
      return "function";
  }
  return "object";
}

}  // namespace mms::tmpl
