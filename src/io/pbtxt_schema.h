// The "which fields exist" half of the protobuf text-format reader: a schema that lists
// each message's fields and types, a check of a parsed tree against it (unknown fields,
// wrong types, out-of-range numbers, a non-repeated field given twice), and a typed view
// for reading the checked tree. Declaring one more field is one line in the schema.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "io/pbtxt_reader.h"

namespace mms::io {

enum class FieldType { kInt32, kInt64, kUInt32, kUInt64, kDouble, kBool, kString, kEnum, kMessage };

struct MessageSchema;

struct FieldSchema {
  std::string name;
  FieldType type = FieldType::kString;
  bool repeated = false;
  const MessageSchema* message = nullptr;  // kMessage: what may appear inside
  std::vector<std::string> enum_values;    // kEnum: the accepted identifiers
  std::string oneof;                       // fields sharing a non-empty group name exclude each other
  std::string unsupported_reason;          // non-empty: a known field that is refused with this reason
};

struct MessageSchema {
  std::string name;  // as errors name it: unknown field "x" in ModelConfig
  std::vector<FieldSchema> fields;
  bool contents_unchecked = false;  // for fields we accept and ignore: any syntactically valid contents

  const FieldSchema* Find(std::string_view field) const;
};

// One-line field declarations. unsigned types are held in int64_t, so a uint64 field takes
// values up to INT64_MAX.
FieldSchema ScalarField(std::string name, FieldType type);
FieldSchema EnumField(std::string name, std::vector<std::string> values);
FieldSchema MessageField(std::string name, const MessageSchema& schema);
FieldSchema UnsupportedField(std::string name, std::string reason);
FieldSchema Repeated(FieldSchema field);
FieldSchema InOneof(std::string group, FieldSchema field);

// Throws ThrowTextError at the offending token for every way the tree does not fit the schema.
void CheckAgainstSchema(const PbtxtMessage& message, const MessageSchema& schema, const std::string& source);

// A value together with where it was written (or where its message starts, for a default),
// so that range checks done after the schema check can still point at the right place.
template <typename T>
struct Located {
  T value;
  TextPosition position;
};

// Typed read access to a message that passed CheckAgainstSchema with the same schema.
// Asking for a field the schema does not declare, or with the wrong accessor, is a bug in
// the caller and throws kInternal.
class PbtxtView {
 public:
  PbtxtView(const PbtxtMessage& message, const MessageSchema& schema, const std::string& source)
      : message_(&message), schema_(&schema), source_(&source) {}

  bool Has(std::string_view field) const;
  TextPosition position() const { return message_->position; }

  // Single fields: the written value, else `fallback` located at this message.
  Located<int64_t> Int(std::string_view field, int64_t fallback) const;
  Located<double> Double(std::string_view field, double fallback) const;
  Located<bool> Bool(std::string_view field, bool fallback) const;
  Located<std::string> String(std::string_view field, std::string fallback) const;  // string or enum
  std::optional<PbtxtView> Message(std::string_view field) const;

  // Repeated fields: every value in source order, whether written as a list or one by one.
  std::vector<Located<int64_t>> Ints(std::string_view field) const;
  std::vector<Located<std::string>> Strings(std::string_view field) const;
  std::vector<PbtxtView> Messages(std::string_view field) const;

  [[noreturn]] void Fail(TextPosition position, const std::string& what) const {
    ThrowTextError(*source_, position, what);
  }

 private:
  std::vector<const PbtxtValue*> Values(std::string_view field, std::initializer_list<FieldType> types,
                                        bool repeated, const FieldSchema** schema) const;

  const PbtxtMessage* message_;
  const MessageSchema* schema_;
  const std::string* source_;
};

}  // namespace mms::io
