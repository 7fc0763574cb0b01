// The values a chat template computes with, with Python's semantics as Jinja2 gives them:
// None apart from undefined, int apart from float, truthiness of empty containers, dicts in
// insertion order. Lists and dicts are shared and never mutated once built (the sandbox
// Hugging Face renders in is immutable); only namespace() objects change, by `set ns.x`.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace mms::tmpl {

class Value;
class Interpreter;

// Arguments of a call as the template wrote them: positional, then name=value.
struct CallArgs {
  std::vector<Value> positional;
  std::vector<std::pair<std::string, Value>> named;
};

// Something a template can call: a global (range, namespace, raise_exception), a macro, or a
// method bound to its receiver (`s.strip`, `d.items`).
class Callable {
 public:
  virtual ~Callable() = default;
  virtual Value Call(Interpreter& interp, CallArgs& args) const = 0;
  virtual std::string Name() const = 0;
};

struct ListData;
struct DictData;

class Value {
 public:
  enum class Kind : uint8_t { kUndefined, kNone, kBool, kInt, kFloat, kString, kList, kDict, kNamespace, kCallable };

  Value() = default;  // undefined
  static Value Undefined(std::string hint = {});
  static Value None();
  static Value Bool(bool b);
  static Value Int(int64_t i);
  static Value Float(double d);
  static Value String(std::string s);
  static Value List(std::vector<Value> items, bool is_tuple = false);
  // What Jinja's select/reject/map/unique/items/reverse filters return: a lazy iterator that
  // is always true, has no len() and no indexing, and prints as a generator object.
  // A generator is lazy in Jinja: a filter given something it cannot iterate fails only when
  // the generator is consumed, so `deferred_error` is raised by iteration, not here.
  static Value Generator(std::vector<Value> items, std::string deferred_error = {});
  static Value Dict(std::shared_ptr<DictData> dict);
  static Value Namespace(std::shared_ptr<DictData> attrs);
  static Value Function(std::shared_ptr<const Callable> fn);
  // Values from the caller's variables; nesting beyond the depth cap is an error. An
  // ordered_json keeps the client's key order, which tojson and dict iteration show.
  static Value FromJson(const nlohmann::json& j, int depth = 0);
  static Value FromJson(const nlohmann::ordered_json& j, int depth = 0);

  Kind kind() const { return kind_; }
  bool IsUndefined() const { return kind_ == Kind::kUndefined; }
  bool IsNone() const { return kind_ == Kind::kNone; }
  bool IsString() const { return kind_ == Kind::kString; }
  bool IsList() const { return kind_ == Kind::kList; }
  bool IsGenerator() const;
  bool IsSequence() const { return IsList() && !IsGenerator(); }  // a list or tuple
  bool IsDict() const { return kind_ == Kind::kDict; }
  bool IsNumber() const { return kind_ == Kind::kBool || kind_ == Kind::kInt || kind_ == Kind::kFloat; }

  bool AsBool() const { return b_; }
  int64_t AsInt() const { return kind_ == Kind::kBool ? (b_ ? 1 : 0) : i_; }
  double AsFloat() const { return kind_ == Kind::kFloat ? d_ : static_cast<double>(AsInt()); }
  const std::string& Str() const;  // kString only
  const ListData& List() const;     // kList only
  const DictData& Dict() const;     // kDict or kNamespace
  DictData& MutableNamespace() const;
  const std::shared_ptr<const Callable>& Fn() const { return fn_; }
  const std::string& UndefinedHint() const;

  // Python's bool(x); undefined is false.
  bool Truthy() const;
  // Nesting depth of containers (1 for a scalar), bounded at construction.
  int Depth() const;

  // Python's str(x) as Jinja prints it ({{ x }}, `~`, |string); undefined prints nothing.
  std::string ToStr() const;
  // Python's repr(x): how a value inside a printed list or dict appears.
  std::string Repr() const;
  // Python's json.dumps as transformers' tojson filter calls it; an undefined inside is an error.
  struct JsonOptions {
    int indent = -1;  // < 0: one line
    bool ensure_ascii = false;
    bool sort_keys = false;
    std::string item_separator;  // empty: Python's default for the indent mode
    std::string key_separator;
  };
  std::string ToJson(const JsonOptions& options) const;

  // Python's == (1 == 1.0 == True, lists and dicts by content, undefined == undefined).
  bool Equals(const Value& other) const;
  std::string TypeName() const;  // Python's type name, for error messages

 private:
  Kind kind_ = Kind::kUndefined;
  bool b_ = false;
  int64_t i_ = 0;
  double d_ = 0;
  std::shared_ptr<const std::string> s_;  // string, or the undefined's hint
  std::shared_ptr<const ListData> list_;
  std::shared_ptr<DictData> dict_;
  std::shared_ptr<const Callable> fn_;
};

struct ListData {
  std::vector<Value> items;
  bool is_tuple = false;
  bool is_generator = false;
  std::string deferred_error;  // a generator's: raised when it is iterated
  int depth = 1;
};

// Keys are strings (JSON objects, dict literals, namespace attributes), kept in insertion order.
struct DictData {
  std::vector<std::pair<std::string, Value>> items;
  int depth = 1;

  const Value* Find(std::string_view key) const;
  void Set(const std::string& key, Value value);
};

// The deepest nesting of lists and dicts a render may hold: printing and comparing values
// recurse, so an unbounded depth would be a stack overflow.
inline constexpr int kMaxValueDepth = 128;

}  // namespace mms::tmpl
