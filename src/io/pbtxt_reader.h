// A reader for protobuf text format (the syntax of Triton's config.pbtxt) that needs no
// .proto file: it turns the text into a small tree of fields and values and leaves
// "which fields exist and what type they are" to a schema (io/pbtxt_schema.h).
//
// Accepted syntax, as protobuf's own text parser accepts it:
//   field: scalar            scalars need the ':'
//   field { ... }            messages may omit the ':' and may use < ... > instead of { ... }
//   field: [a, b, c]         a list is the same as writing the field once per element
//   # comment to end of line; fields may be followed by one ',' or ';'
// Scalars keep their source spelling (the schema decides whether "1" is an int, a float
// or a bool); strings are stored decoded (escapes resolved, adjacent literals joined).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace mms::io {

// 1-based line and column (in bytes) of the first character of a token.
struct TextPosition {
  int line = 1;
  int column = 1;
};

// "<line>:<col>", as errors that refer back to another place write it.
std::string FormatPosition(TextPosition position);

// "<source>:<line>:<col>: <what>" as Error(kInvalidModel).
[[noreturn]] void ThrowTextError(const std::string& source, TextPosition pos, const std::string& what);

struct PbtxtMessage;

struct PbtxtValue {
  enum class Kind { kInteger, kFloat, kIdentifier, kString, kMessage };
  Kind kind = Kind::kInteger;
  TextPosition position;
  // kInteger / kFloat: the literal with its sign ("-0x1F", "1.5e3", "2f").
  // kIdentifier: the word, with a leading '-' for "-inf".  kString: the decoded bytes.
  std::string text;
  std::shared_ptr<const PbtxtMessage> message;  // kMessage only
};

// One occurrence of a field in the text. `f: 1 f: 2` is two PbtxtFields with one value
// each; `f: [1, 2]` is one PbtxtField with two values and written_as_list set.
struct PbtxtField {
  std::string name;
  TextPosition position;  // of the name
  bool written_as_list = false;
  std::vector<PbtxtValue> values;
};

struct PbtxtMessage {
  TextPosition position;  // of the opening '{' or '<' (1:1 for the top level)
  std::vector<PbtxtField> fields;  // in source order
};

// Syntax only: unknown field names are fine here. Throws ThrowTextError on bad syntax.
PbtxtMessage ParsePbtxt(std::string_view text, const std::string& source_name);

// Deeper nesting than this is rejected, so hostile input cannot exhaust the stack
// (protobuf's parser uses the same limit).
inline constexpr int kPbtxtMaxNesting = 100;

}  // namespace mms::io
