// A JSON Schema, reduced to what constrained decoding can generate: a graph of nodes,
// each the set of JSON values one position of the document may take.
//
// The supported subset (anything else is refused, naming the keyword and its JSON
// pointer, so that a client never gets output that silently ignores part of its schema):
//   type: "object" | "array" | "string" | "number" | "integer" | "boolean" | "null", or a
//     list of them (no type: any JSON value);
//   properties, required, additionalProperties (false or true): only listed properties
//     are generated, in any order, each at most once, every required one before the
//     object closes; an object with no properties takes any keys and values unless
//     additionalProperties is false (then it is "{}");
//   items (one schema), minItems, maxItems; minLength, maxLength (in code points);
//   enum, const: the values written in compact form (nlohmann's dump), filtered by type;
//   annotations that change nothing: title, description, default, examples, $schema,
//     $id, $comment.
// Generated text is compact JSON apart from short runs of whitespace between tokens;
// integers have no fraction or exponent; strings use no \u escape of a surrogate.
#pragma once

#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

namespace mms::generation {

// Bit per JSON type in SchemaNode::types.
enum JsonTypeBit : uint8_t {
  kTypeObject = 1, kTypeArray = 2, kTypeString = 4, kTypeNumber = 8, kTypeInteger = 16,
  kTypeBoolean = 32, kTypeNull = 64,
  kTypeAny = 127,
};

struct SchemaProperty {
  std::string key;  // the name as it appears between the quotes (JSON-escaped)
  int32_t node = 0;
};

struct SchemaNode {
  uint8_t types = kTypeAny;
  bool has_literals = false;          // enum/const: only `literals` may appear
  std::vector<std::string> literals;  // compact JSON texts, sorted, unique
  // Objects.
  bool free_object = true;            // any keys; values of node `any_node`
  std::vector<SchemaProperty> properties;
  uint64_t required = 0;              // bit i: properties[i] is required
  // Arrays.
  int32_t items = -1;                 // -1: any value
  uint32_t min_items = 0, max_items = UINT32_MAX;
  // Strings.
  uint32_t min_length = 0, max_length = UINT32_MAX;
};

struct CompiledSchema {
  std::vector<SchemaNode> nodes;
  int32_t root = 0;
  int32_t any_node = 0;  // any JSON value (free objects' values, arrays without items)
};

struct JsonSchemaLimits {
  size_t max_nodes = 1024;
  int max_depth = 16;             // nesting of schemas (properties/items) below the root
  size_t max_properties = 64;     // per object
  size_t max_literals = 256;      // per enum
  size_t max_literal_bytes = 65536;  // all enum/const texts together
};

// schema == nullptr: json_object mode (the document is one object, any keys and values).
// Throws Error(kInvalidArgument) naming the keyword and JSON pointer of what is refused.
CompiledSchema CompileJsonSchema(const nlohmann::json* schema, const JsonSchemaLimits& limits = {});

}  // namespace mms::generation
