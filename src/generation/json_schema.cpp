// Schema → node graph. Recursion follows the schema's nesting, which is capped.
#include "generation/json_schema.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "base/error.h"

namespace mms::generation {
namespace {

using nlohmann::json;

// The automaton counts offsets into keys and literals in 16 bits.
constexpr size_t kMaxKeyBytes = 1024;
constexpr size_t kMaxLiteralBytes = 8192;

std::string PointerPart(const std::string& key) {
  std::string out;
  for (char c : key) {
    if (c == '~') out += "~0";
    else if (c == '/') out += "~1";
    else out += c;
  }
  return out;
}

[[noreturn]] void Refuse(const std::string& pointer, const std::string& what) {
  ThrowInvalidArgument("json_schema at '" + (pointer.empty() ? std::string("/") : pointer) + "': " + what);
}

uint8_t TypeBit(const json& name, const std::string& pointer) {
  if (!name.is_string()) Refuse(pointer, "a type must be a string");
  const std::string& s = name.get_ref<const std::string&>();
  if (s == "object") return kTypeObject;
  if (s == "array") return kTypeArray;
  if (s == "string") return kTypeString;
  if (s == "number") return kTypeNumber;
  if (s == "integer") return kTypeInteger;
  if (s == "boolean") return kTypeBoolean;
  if (s == "null") return kTypeNull;
  Refuse(pointer, "unknown type '" + s.substr(0, 64) + "'");
}

uint8_t TypeOfValue(const json& v) {
  switch (v.type()) {
    case json::value_t::object: return kTypeObject;
    case json::value_t::array: return kTypeArray;
    case json::value_t::string: return kTypeString;
    case json::value_t::number_integer:
    case json::value_t::number_unsigned: return kTypeInteger | kTypeNumber;
    case json::value_t::number_float: return kTypeNumber;
    case json::value_t::boolean: return kTypeBoolean;
    default: return kTypeNull;
  }
}

uint32_t Count(const json& v, const std::string& pointer) {
  if (!v.is_number_unsigned() && !(v.is_number_integer() && v.get<int64_t>() >= 0)) {
    Refuse(pointer, "must be a non-negative integer");
  }
  const uint64_t n = v.get<uint64_t>();
  return n > UINT32_MAX ? UINT32_MAX : static_cast<uint32_t>(n);
}

class Compiler {
 public:
  explicit Compiler(const JsonSchemaLimits& limits) : limits_(limits) {}

  CompiledSchema Run(const json* schema) {
    out_.any_node = NewNode();  // node 0: any value
    if (!schema) {
      const int32_t root = NewNode();
      out_.nodes[root].types = kTypeObject;
      out_.root = root;
    } else {
      out_.root = Compile(*schema, "", 0);
    }
    return std::move(out_);
  }

 private:
  int32_t NewNode() {
    if (out_.nodes.size() >= limits_.max_nodes) {
      ThrowInvalidArgument("json_schema: more than " + std::to_string(limits_.max_nodes) + " schemas");
    }
    out_.nodes.emplace_back();
    return static_cast<int32_t>(out_.nodes.size() - 1);
  }

  int32_t Compile(const json& s, const std::string& pointer, int depth) {
    if (depth > limits_.max_depth) {
      Refuse(pointer, "nested deeper than " + std::to_string(limits_.max_depth) + " levels");
    }
    if (s.is_boolean()) {
      if (!s.get<bool>()) Refuse(pointer, "the schema false allows no value");
      return out_.any_node;
    }
    if (!s.is_object()) Refuse(pointer, "a schema must be an object or a boolean");
    static const char* kIgnored[] = {"title", "description", "default", "examples", "$schema", "$id", "$comment"};
    static const char* kKnown[] = {"type", "enum", "const", "properties", "required", "additionalProperties",
                                   "items", "minItems", "maxItems", "minLength", "maxLength"};
    for (auto entry = s.begin(); entry != s.end(); ++entry) {
      const std::string& key = entry.key();  // not a structured binding: clang 14 cannot capture one
      const bool known = std::any_of(std::begin(kKnown), std::end(kKnown), [&](const char* k) { return key == k; }) ||
                         std::any_of(std::begin(kIgnored), std::end(kIgnored), [&](const char* k) { return key == k; });
      if (!known) Refuse(pointer + "/" + PointerPart(key), "unsupported keyword '" + key.substr(0, 64) + "'");
    }
    const int32_t id = NewNode();
    SchemaNode node;  // filled here, stored at the end (children may grow the vector)
    if (auto it = s.find("type"); it != s.end()) {
      node.types = 0;
      if (it->is_array()) {
        if (it->empty()) Refuse(pointer + "/type", "an empty list of types");
        for (size_t i = 0; i < it->size(); ++i) node.types |= TypeBit((*it)[i], pointer + "/type/" + std::to_string(i));
      } else {
        node.types = TypeBit(*it, pointer + "/type");
      }
    }
    if (node.types & kTypeNumber) node.types |= kTypeInteger;
    if (s.contains("enum") || s.contains("const")) {
      std::vector<const json*> values;
      if (auto it = s.find("enum"); it != s.end()) {
        if (!it->is_array() || it->empty()) Refuse(pointer + "/enum", "must be a non-empty array");
        if (it->size() > limits_.max_literals) {
          Refuse(pointer + "/enum", "more than " + std::to_string(limits_.max_literals) + " values");
        }
        for (const auto& v : *it) values.push_back(&v);
      }
      if (auto it = s.find("const"); it != s.end()) {
        if (s.contains("enum")) Refuse(pointer + "/const", "enum and const together");
        values.push_back(&*it);
      }
      for (const json* v : values) {
        if (!(TypeOfValue(*v) & node.types)) continue;
        std::string text;
        try {
          text = v->dump();
        } catch (const json::exception&) {
          Refuse(pointer + "/enum", "a value that is not valid UTF-8");
        }
        if (text.size() > kMaxLiteralBytes) {
          Refuse(pointer, "an enum/const value over " + std::to_string(kMaxLiteralBytes) + " bytes");
        }
        literal_bytes_ += text.size();
        if (literal_bytes_ > limits_.max_literal_bytes) {
          Refuse(pointer, "enum/const values over " + std::to_string(limits_.max_literal_bytes) + " bytes in all");
        }
        node.literals.push_back(std::move(text));
      }
      if (node.literals.empty()) Refuse(pointer, "no enum/const value has an allowed type");
      std::sort(node.literals.begin(), node.literals.end());
      node.literals.erase(std::unique(node.literals.begin(), node.literals.end()), node.literals.end());
      node.has_literals = true;
    }
    if (auto it = s.find("properties"); it != s.end()) {
      if (!it->is_object()) Refuse(pointer + "/properties", "must be an object");
      if (it->size() > limits_.max_properties) {
        Refuse(pointer + "/properties", "more than " + std::to_string(limits_.max_properties) + " properties");
      }
      node.free_object = false;
      for (const auto& [name, sub] : it->items()) {
        std::string quoted;
        try {
          quoted = json(name).dump();
        } catch (const json::exception&) {
          Refuse(pointer + "/properties", "a property name that is not valid UTF-8");
        }
        if (quoted.size() - 2 > kMaxKeyBytes) {
          Refuse(pointer + "/properties", "a property name over " + std::to_string(kMaxKeyBytes) + " bytes");
        }
        const int32_t child = Compile(sub, pointer + "/properties/" + PointerPart(name), depth + 1);
        node.properties.push_back({quoted.substr(1, quoted.size() - 2), child});
      }
    }
    if (auto it = s.find("required"); it != s.end()) {
      if (!it->is_array()) Refuse(pointer + "/required", "must be an array of names");
      for (size_t i = 0; i < it->size(); ++i) {
        const json& name = (*it)[i];
        const std::string where = pointer + "/required/" + std::to_string(i);
        if (!name.is_string()) Refuse(where, "must be a string");
        const auto* props = s.contains("properties") ? &s.at("properties") : nullptr;
        size_t index = 0;
        bool found = false;
        if (props && props->is_object()) {
          for (const auto& [pname, unused] : props->items()) {
            if (pname == name.get_ref<const std::string&>()) {
              found = true;
              break;
            }
            ++index;
          }
        }
        if (!found) Refuse(where, "required property is not listed in properties");
        node.required |= uint64_t{1} << index;
      }
    }
    if (auto it = s.find("additionalProperties"); it != s.end()) {
      if (!it->is_boolean()) Refuse(pointer + "/additionalProperties", "only true or false is supported");
      if (!it->get<bool>()) node.free_object = false;
    }
    if (auto it = s.find("items"); it != s.end()) {
      if (it->is_array()) Refuse(pointer + "/items", "tuple items (an array of schemas) are not supported");
      node.items = Compile(*it, pointer + "/items", depth + 1);
    }
    if (auto it = s.find("minItems"); it != s.end()) node.min_items = Count(*it, pointer + "/minItems");
    if (auto it = s.find("maxItems"); it != s.end()) node.max_items = Count(*it, pointer + "/maxItems");
    if (auto it = s.find("minLength"); it != s.end()) node.min_length = Count(*it, pointer + "/minLength");
    if (auto it = s.find("maxLength"); it != s.end()) node.max_length = Count(*it, pointer + "/maxLength");
    if (node.min_items > node.max_items) Refuse(pointer + "/minItems", "greater than maxItems");
    if (node.min_length > node.max_length) Refuse(pointer + "/minLength", "greater than maxLength");
    out_.nodes[id] = std::move(node);
    return id;
  }

  const JsonSchemaLimits& limits_;
  CompiledSchema out_;
  size_t literal_bytes_ = 0;
};

}  // namespace

CompiledSchema CompileJsonSchema(const nlohmann::json* schema, const JsonSchemaLimits& limits) {
  return Compiler(limits).Run(schema);
}

}  // namespace mms::generation
