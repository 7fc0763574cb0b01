// Jinja's filters and tests, the Python methods of strings and dicts that templates call,
// and the globals transformers provides (range, namespace, raise_exception, strftime_now).
#pragma once

#include <initializer_list>
#include <string>

#include "template/value.h"

namespace mms::tmpl {

// Throws RenderError for an unknown filter or test, or arguments that do not fit.
Value ApplyFilter(Interpreter& interp, const std::string& name, const Value& input, CallArgs& args);
bool ApplyTest(Interpreter& interp, const std::string& name, const Value& input, CallArgs& args);
// `receiver.name` as a bound method, or undefined where the type has no such method.
Value GetMethod(const Value& receiver, const std::string& name);
// A global function by name, or undefined.
Value GlobalFunction(const std::string& name);

// Reads a builtin's arguments by position or by name, as Python binds them.
class ArgReader {
 public:
  ArgReader(std::string what, CallArgs& args, std::initializer_list<const char*> names);
  const Value* Get(size_t index) const;  // null when not given
  Value GetOr(size_t index, Value fallback) const;
  size_t positional_count() const { return args_.positional.size(); }

 private:
  std::string what_;
  CallArgs& args_;
  std::vector<const char*> names_;
};

}  // namespace mms::tmpl
