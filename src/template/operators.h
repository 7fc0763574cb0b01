// Python's operators on template values, as Jinja evaluates them: arithmetic with int/float
// promotion and floor division, string and list concatenation and repetition, comparisons,
// membership. A TypeError in Python is a RenderError here.
#pragma once

#include <string_view>

#include "template/value.h"

namespace mms::tmpl {

// Throws RenderError naming the undefined value, where Jinja's Undefined raises.
void RequireDefined(const Value& v);

// "+", "-", "*", "/", "//", "%", "**", "~". `max_bytes` bounds strings and lists built.
Value BinaryOp(std::string_view op, const Value& a, const Value& b, size_t max_bytes);
// "==", "!=", "<", "<=", ">", ">=", "in", "not in".
bool Compare(std::string_view op, const Value& a, const Value& b);
// Python's < for sorting: numbers, strings, and lists of them; other mixes are an error.
bool LessThan(const Value& a, const Value& b);
bool Contains(const Value& container, const Value& item);

}  // namespace mms::tmpl
