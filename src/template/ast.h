// The parsed form of a template: expressions and statements, immutable after parsing so that
// one parsed template renders on many threads at once.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "template/value.h"

namespace mms::tmpl {

struct Expr;
using ExprPtr = std::unique_ptr<Expr>;

struct Expr {
  enum class Kind {
    kLiteral,   // value
    kName,      // name
    kList,      // args
    kTuple,     // args
    kDict,      // kwargs-like pairs in `pairs`
    kGetAttr,   // a.name
    kGetItem,   // a[b]
    kSlice,     // a[b:c:d], absent parts null
    kCall,      // a(args, kwargs)
    kFilter,    // a|name(args, kwargs)
    kTest,      // a is [not] name(args)
    kUnary,     // op a  ("-", "+", "not")
    kBinary,    // a op b (arithmetic, "~", "and", "or", "in", "not in")
    kCompare,   // a op1 b op2 c ...: a, then (op, operand) in `ops`
    kCondition  // b if a else c
  };
  Kind kind = Kind::kLiteral;
  int line = 0;
  Value value;
  std::string name;  // name, attribute, filter, test, or operator
  bool negated = false;
  ExprPtr a, b, c, d;
  std::vector<ExprPtr> args;
  std::vector<std::pair<std::string, ExprPtr>> kwargs;
  std::vector<std::pair<ExprPtr, ExprPtr>> pairs;  // dict literal
  std::vector<std::pair<std::string, ExprPtr>> ops;
};

struct Stmt;
using Body = std::vector<std::unique_ptr<Stmt>>;

struct Param {
  std::string name;
  ExprPtr default_value;  // null: required
};

struct Stmt {
  enum class Kind {
    kText,        // text
    kOutput,      // expr
    kIf,          // branches, else_body
    kFor,         // names, expr (iterable), cond, body, else_body
    kSet,         // names (one or several) or target+attr, expr
    kSetBlock,    // names[0], body, filter (may be null; its input is the body)
    kMacro,       // text (name), params, body
    kCallBlock,   // expr (the call), params (caller's), body
    kFilterBlock, // filter, body
    kWith,        // assignments, body
    kBreak,
    kContinue,
    kGeneration,  // body
  };
  Kind kind = Kind::kText;
  int line = 0;
  std::string text;
  ExprPtr expr;
  ExprPtr cond;
  ExprPtr filter;  // a kFilter chain whose innermost input is null
  std::vector<std::string> names;
  std::string attr;  // set ns.attr
  std::vector<std::pair<ExprPtr, Body>> branches;
  std::vector<Param> params;
  std::vector<std::pair<std::string, ExprPtr>> assignments;
  Body body;
  Body else_body;
};

}  // namespace mms::tmpl
