#include "io/pbtxt_schema.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>
#include <map>

#include "base/error.h"
#include "io/pbtxt_text.h"

namespace mms::io {

const FieldSchema* MessageSchema::Find(std::string_view field) const {
  for (const auto& f : fields) {
    if (f.name == field) return &f;
  }
  return nullptr;
}

FieldSchema ScalarField(std::string name, FieldType type) {
  FieldSchema f;
  f.name = std::move(name);
  f.type = type;
  return f;
}

FieldSchema EnumField(std::string name, std::vector<std::string> values) {
  FieldSchema f = ScalarField(std::move(name), FieldType::kEnum);
  f.enum_values = std::move(values);
  return f;
}

FieldSchema MessageField(std::string name, const MessageSchema& schema) {
  FieldSchema f = ScalarField(std::move(name), FieldType::kMessage);
  f.message = &schema;
  return f;
}

FieldSchema UnsupportedField(std::string name, std::string reason) {
  FieldSchema f = ScalarField(std::move(name), FieldType::kMessage);
  f.unsupported_reason = std::move(reason);
  return f;
}

FieldSchema Repeated(FieldSchema field) {
  field.repeated = true;
  return field;
}

FieldSchema InOneof(std::string group, FieldSchema field) {
  field.oneof = std::move(group);
  return field;
}

namespace {

std::string Where(const FieldSchema& field, const MessageSchema& message) {
  return "field \"" + field.name + "\" in " + message.name;
}

std::string ExpectedKind(const FieldSchema& field) {
  switch (field.type) {
    case FieldType::kInt32:
    case FieldType::kInt64: return "an integer";
    case FieldType::kUInt32:
    case FieldType::kUInt64: return "a non-negative integer";
    case FieldType::kDouble: return "a number";
    case FieldType::kBool: return "true or false";
    case FieldType::kString: return "a string";
    case FieldType::kMessage: return "a message { ... }";
    case FieldType::kEnum: {
      std::string list;
      for (const auto& v : field.enum_values) list += (list.empty() ? "" : ", ") + v;
      return "one of " + list;
    }
  }
  return "?";
}

std::string DescribeValue(const PbtxtValue& value) {
  switch (value.kind) {
    case PbtxtValue::Kind::kString: return "string " + QuoteForMessage(value.text);
    case PbtxtValue::Kind::kMessage: return "a message";
    default: return value.text;  // numbers and identifiers are plain ASCII by construction
  }
}

// Everything a value check needs to say where it failed.
struct ValueContext {
  const FieldSchema& field;
  const MessageSchema& message;
  const std::string& source;

  [[noreturn]] void WrongType(const PbtxtValue& value) const {
    ThrowTextError(source, value.position,
                   Where(field, message) + " expects " + ExpectedKind(field) + ", found " + DescribeValue(value));
  }
};

// Splits "-0x1F" / "017" / "42" into sign and magnitude; false when the magnitude does not
// fit in 64 bits.
bool ParseIntegerLiteral(std::string_view text, bool* negative, uint64_t* magnitude) {
  *negative = !text.empty() && text[0] == '-';
  if (*negative) text.remove_prefix(1);
  int base = 10;
  if (text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
    base = 16;
    text.remove_prefix(2);
  } else if (text.size() > 1 && text[0] == '0') {
    base = 8;
    text.remove_prefix(1);
  }
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), *magnitude, base);
  return ec == std::errc() && end == text.data() + text.size();
}

int64_t IntegerValue(const PbtxtValue& value, const ValueContext& ctx) {
  if (value.kind != PbtxtValue::Kind::kInteger) ctx.WrongType(value);
  int64_t lowest = 0;
  uint64_t highest = 0;
  const char* type_name = "";
  switch (ctx.field.type) {
    case FieldType::kInt32:
      lowest = std::numeric_limits<int32_t>::min(), highest = std::numeric_limits<int32_t>::max(), type_name = "int32";
      break;
    case FieldType::kInt64:
      lowest = std::numeric_limits<int64_t>::min(), highest = std::numeric_limits<int64_t>::max(), type_name = "int64";
      break;
    case FieldType::kUInt32:
      highest = std::numeric_limits<uint32_t>::max(), type_name = "uint32";
      break;
    default:  // kUInt64, held in an int64_t
      highest = std::numeric_limits<int64_t>::max(), type_name = "uint64";
      break;
  }
  bool negative = false;
  uint64_t magnitude = 0;
  const bool fits_64_bits = ParseIntegerLiteral(value.text, &negative, &magnitude);
  // -lowest as an unsigned number, computed without overflowing for INT64_MIN.
  const uint64_t most_negative_magnitude = lowest == 0 ? 0 : static_cast<uint64_t>(-(lowest + 1)) + 1;
  const bool in_range = fits_64_bits && (negative ? magnitude <= most_negative_magnitude : magnitude <= highest);
  if (!in_range) {
    ThrowTextError(ctx.source, value.position,
                   "value " + value.text + " is out of range for " + Where(ctx.field, ctx.message) + " (" + type_name +
                       ": " + std::to_string(lowest) + " to " + std::to_string(highest) + ")");
  }
  return negative ? static_cast<int64_t>(0 - magnitude) : static_cast<int64_t>(magnitude);
}

double DoubleValue(const PbtxtValue& value, const ValueContext& ctx) {
  std::string_view text = value.text;
  const bool negative = !text.empty() && text[0] == '-';
  switch (value.kind) {
    case PbtxtValue::Kind::kIdentifier: {
      const std::string_view word = negative ? text.substr(1) : text;
      if (!IsInfinityOrNan(word)) ctx.WrongType(value);
      const double magnitude = (word[0] | 0x20) == 'n' ? std::numeric_limits<double>::quiet_NaN()
                                                       : std::numeric_limits<double>::infinity();
      return negative ? -magnitude : magnitude;
    }
    case PbtxtValue::Kind::kInteger: {
      uint64_t magnitude = 0;
      bool is_negative = false;
      if (!ParseIntegerLiteral(text, &is_negative, &magnitude)) break;  // falls to out-of-range below
      const double d = static_cast<double>(magnitude);
      return is_negative ? -d : d;
    }
    case PbtxtValue::Kind::kFloat: {
      if (text.back() == 'f' || text.back() == 'F') text.remove_suffix(1);
      double d = 0;
      const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), d);
      if (ec == std::errc() && end == text.data() + text.size()) return d;
      break;
    }
    default:
      ctx.WrongType(value);
  }
  ThrowTextError(ctx.source, value.position,
                 "value " + value.text + " is out of range for " + Where(ctx.field, ctx.message) + " (double)");
}

bool BoolValue(const PbtxtValue& value, const ValueContext& ctx) {
  // protobuf's spellings: true/True/t and false/False/f, or the integers 1 and 0.
  const std::string& t = value.text;
  if (value.kind == PbtxtValue::Kind::kIdentifier) {
    if (t == "true" || t == "True" || t == "t") return true;
    if (t == "false" || t == "False" || t == "f") return false;
  } else if (value.kind == PbtxtValue::Kind::kInteger) {
    if (t == "1") return true;
    if (t == "0") return false;
  }
  ctx.WrongType(value);
}

const std::string& StringValue(const PbtxtValue& value, const ValueContext& ctx) {
  if (ctx.field.type == FieldType::kEnum) {
    const auto& allowed = ctx.field.enum_values;
    if (value.kind != PbtxtValue::Kind::kIdentifier ||
        std::find(allowed.begin(), allowed.end(), value.text) == allowed.end()) {
      ctx.WrongType(value);
    }
    return value.text;
  }
  if (value.kind != PbtxtValue::Kind::kString) ctx.WrongType(value);
  // Strings go on into JSON, which must be UTF-8; protobuf's string type demands it too.
  if (!IsValidUtf8(value.text)) {
    ThrowTextError(ctx.source, value.position, Where(ctx.field, ctx.message) + " is not valid UTF-8");
  }
  return value.text;
}

void CheckValue(const PbtxtValue& value, const ValueContext& ctx);

void CheckMessage(const PbtxtMessage& message, const MessageSchema& schema, const std::string& source) {
  if (schema.contents_unchecked) return;
  std::map<std::string, TextPosition> single_fields_seen;
  std::map<std::string, std::string> oneof_member_seen;  // group -> the field that took it
  for (const PbtxtField& field : message.fields) {
    const FieldSchema* spec = schema.Find(field.name);
    if (spec == nullptr) {
      ThrowTextError(source, field.position, "unknown field \"" + field.name + "\" in " + schema.name);
    }
    if (!spec->unsupported_reason.empty()) {
      ThrowTextError(source, field.position, Where(*spec, schema) + " is not supported: " + spec->unsupported_reason);
    }
    if (!spec->repeated) {
      if (field.written_as_list) {
        ThrowTextError(source, field.position, Where(*spec, schema) + " is not repeated, so it cannot take a list");
      }
      const auto [first, inserted] = single_fields_seen.emplace(field.name, field.position);
      if (!inserted) {
        ThrowTextError(source, field.position,
                       Where(*spec, schema) + " is given twice (first at " + FormatPosition(first->second) + ")");
      }
    }
    if (!spec->oneof.empty()) {
      const auto [taken, inserted] = oneof_member_seen.emplace(spec->oneof, field.name);
      if (!inserted && taken->second != field.name) {
        ThrowTextError(source, field.position,
                       "fields \"" + taken->second + "\" and \"" + field.name + "\" in " + schema.name +
                           " are alternatives (" + spec->oneof + "); give only one");
      }
    }
    const ValueContext ctx{*spec, schema, source};
    for (const PbtxtValue& value : field.values) CheckValue(value, ctx);
  }
}

void CheckValue(const PbtxtValue& value, const ValueContext& ctx) {
  switch (ctx.field.type) {
    case FieldType::kMessage:
      if (value.kind != PbtxtValue::Kind::kMessage) ctx.WrongType(value);
      CheckMessage(*value.message, *ctx.field.message, ctx.source);
      return;
    case FieldType::kInt32:
    case FieldType::kInt64:
    case FieldType::kUInt32:
    case FieldType::kUInt64: IntegerValue(value, ctx); return;
    case FieldType::kDouble: DoubleValue(value, ctx); return;
    case FieldType::kBool: BoolValue(value, ctx); return;
    case FieldType::kString:
    case FieldType::kEnum: StringValue(value, ctx); return;
  }
}

constexpr std::initializer_list<FieldType> kIntegerTypes = {FieldType::kInt32, FieldType::kInt64, FieldType::kUInt32,
                                                            FieldType::kUInt64};
constexpr std::initializer_list<FieldType> kStringTypes = {FieldType::kString, FieldType::kEnum};

}  // namespace

void CheckAgainstSchema(const PbtxtMessage& message, const MessageSchema& schema, const std::string& source) {
  CheckMessage(message, schema, source);
}

bool PbtxtView::Has(std::string_view field) const {
  return std::any_of(message_->fields.begin(), message_->fields.end(),
                     [&](const PbtxtField& f) { return f.name == field; });
}

std::vector<const PbtxtValue*> PbtxtView::Values(std::string_view field, std::initializer_list<FieldType> types,
                                                 bool repeated, const FieldSchema** schema) const {
  const FieldSchema* spec = schema_->Find(field);
  if (spec == nullptr || spec->repeated != repeated ||
      std::find(types.begin(), types.end(), spec->type) == types.end()) {
    ThrowInternal("pbtxt schema " + schema_->name + " does not declare field \"" + std::string(field) +
                  "\" with the type or repetition its reader asks for");
  }
  *schema = spec;
  std::vector<const PbtxtValue*> values;
  for (const PbtxtField& f : message_->fields) {
    if (f.name != field) continue;
    for (const PbtxtValue& v : f.values) values.push_back(&v);
  }
  return values;
}

Located<int64_t> PbtxtView::Int(std::string_view field, int64_t fallback) const {
  const FieldSchema* spec = nullptr;
  const auto values = Values(field, kIntegerTypes, false, &spec);
  if (values.empty()) return {fallback, position()};
  return {IntegerValue(*values[0], ValueContext{*spec, *schema_, *source_}), values[0]->position};
}

Located<double> PbtxtView::Double(std::string_view field, double fallback) const {
  const FieldSchema* spec = nullptr;
  const auto values = Values(field, {FieldType::kDouble}, false, &spec);
  if (values.empty()) return {fallback, position()};
  return {DoubleValue(*values[0], ValueContext{*spec, *schema_, *source_}), values[0]->position};
}

Located<bool> PbtxtView::Bool(std::string_view field, bool fallback) const {
  const FieldSchema* spec = nullptr;
  const auto values = Values(field, {FieldType::kBool}, false, &spec);
  if (values.empty()) return {fallback, position()};
  return {BoolValue(*values[0], ValueContext{*spec, *schema_, *source_}), values[0]->position};
}

Located<std::string> PbtxtView::String(std::string_view field, std::string fallback) const {
  const FieldSchema* spec = nullptr;
  const auto values = Values(field, kStringTypes, false, &spec);
  if (values.empty()) return {std::move(fallback), position()};
  return {StringValue(*values[0], ValueContext{*spec, *schema_, *source_}), values[0]->position};
}

std::optional<PbtxtView> PbtxtView::Message(std::string_view field) const {
  const FieldSchema* spec = nullptr;
  const auto values = Values(field, {FieldType::kMessage}, false, &spec);
  if (values.empty()) return std::nullopt;
  return PbtxtView(*values[0]->message, *spec->message, *source_);
}

std::vector<Located<int64_t>> PbtxtView::Ints(std::string_view field) const {
  const FieldSchema* spec = nullptr;
  std::vector<Located<int64_t>> out;
  for (const PbtxtValue* v : Values(field, kIntegerTypes, true, &spec)) {
    out.push_back({IntegerValue(*v, ValueContext{*spec, *schema_, *source_}), v->position});
  }
  return out;
}

std::vector<Located<std::string>> PbtxtView::Strings(std::string_view field) const {
  const FieldSchema* spec = nullptr;
  std::vector<Located<std::string>> out;
  for (const PbtxtValue* v : Values(field, kStringTypes, true, &spec)) {
    out.push_back({StringValue(*v, ValueContext{*spec, *schema_, *source_}), v->position});
  }
  return out;
}

std::vector<PbtxtView> PbtxtView::Messages(std::string_view field) const {
  const FieldSchema* spec = nullptr;
  std::vector<PbtxtView> out;
  for (const PbtxtValue* v : Values(field, {FieldType::kMessage}, true, &spec)) {
    out.emplace_back(*v->message, *spec->message, *source_);
  }
  return out;
}

}  // namespace mms::io
