// Request side of the KServe codec: JSON header + binary tail -> InferRequest.
#include "api/kserve_codec.h"

#include <algorithm>
#include <charconv>
#include <nlohmann/json.hpp>

#include "api/json_body.h"
#include "base/base64.h"
#include "base/error.h"

namespace mms::api::kserve {

namespace {

using nlohmann::json;

// Far above any body the server accepts; only guards the shape product against overflow.
constexpr int64_t kMaxElements = int64_t{1} << 40;
constexpr int kMaxNesting = 16;  // data lists nested deeper than any real shape

const char* const kAllOutputs[] = {kImageEmbedsOutput, kTextEmbedsOutput, kLogitsPerImageOutput, kProbsOutput};

// A client's tensor name in single quotes, as Triton quotes them; cut and escaped.
std::string Quoted(const std::string& name) {
  std::string quoted = QuoteClientText(name);
  quoted.front() = quoted.back() = '\'';
  return quoted;
}

size_t ParseHeaderLength(std::string_view value, size_t body_size) {
  size_t n = 0;
  const auto r = std::from_chars(value.data(), value.data() + value.size(), n);
  if (value.empty() || r.ec != std::errc() || r.ptr != value.data() + value.size()) {
    ThrowInvalidArgument(std::string(kHeaderLengthHeader) + " must be a byte count, got " + QuoteClientText(value));
  }
  if (n > body_size) {
    ThrowInvalidArgument(std::string(kHeaderLengthHeader) + " is " + std::to_string(n) + " but the body has only " +
                         std::to_string(body_size) + " bytes");
  }
  return n;
}

json ParseJsonHeader(std::string_view text, bool has_header_length) {
  const std::string hint = has_header_length ? std::string()
                                             : "; a body with binary tensor data needs the " +
                                                   std::string(kHeaderLengthHeader) + " header";
  return ParseJsonBody(text, "the request", hint);
}

// A shape already checked by ElementCount, for messages: short ones in full.
std::string ShapeText(const json& shape) {
  if (shape.size() > 8) return "of " + std::to_string(shape.size()) + " dimensions";
  std::string out = "[";
  for (size_t i = 0; i < shape.size(); ++i) out += (i ? "," : "") + std::to_string(shape[i].get<int64_t>());
  return out + "]";
}

int64_t ElementCount(const json& shape, const std::string& where) {
  if (!shape.is_array()) ThrowInvalidArgument(where + ": \"shape\" must be a list of integers");
  int64_t count = 1;
  for (const auto& dim : shape) {
    if (!dim.is_number_integer() || dim.get<int64_t>() < 0) {
      ThrowInvalidArgument(where + ": \"shape\" has an invalid dimension " + DescribeClientValue(dim));
    }
    const int64_t d = dim.get<int64_t>();
    if (d != 0 && count > kMaxElements / d) ThrowInvalidArgument(where + ": \"shape\" is too large");
    count *= d;
  }
  return count;
}

// Nested lists of strings, row-major, into one list (Triton allows both flat and nested data).
void FlattenStrings(const json& data, int depth, const std::string& where, std::vector<std::string>& out) {
  if (depth > kMaxNesting) ThrowInvalidArgument(where + ": \"data\" is nested too deeply");
  for (const auto& item : data) {
    if (item.is_array()) {
      FlattenStrings(item, depth + 1, where, out);
    } else if (item.is_string()) {
      out.push_back(item.get<std::string>());
    } else {
      ThrowInvalidArgument(where + ": element " + std::to_string(out.size()) +
                           " of \"data\" is not a string (BYTES elements are JSON strings)");
    }
  }
}

uint32_t ReadLittleEndian32(const char* p) {
  const auto* u = reinterpret_cast<const unsigned char*>(p);
  return static_cast<uint32_t>(u[0]) | static_cast<uint32_t>(u[1]) << 8 | static_cast<uint32_t>(u[2]) << 16 |
         static_cast<uint32_t>(u[3]) << 24;
}

// BYTES in binary form: each element is a 4-byte little-endian length, then the bytes.
std::vector<std::string> SplitBinaryBytes(std::string_view data, const std::string& where) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos < data.size()) {
    if (data.size() - pos < 4) {
      ThrowInvalidArgument(where + ": binary data ends inside the 4-byte length of element " +
                           std::to_string(out.size()));
    }
    const uint32_t length = ReadLittleEndian32(data.data() + pos);
    pos += 4;
    if (length > data.size() - pos) {
      ThrowInvalidArgument(where + ": binary element " + std::to_string(out.size()) + " declares " +
                           std::to_string(length) + " bytes but only " + std::to_string(data.size() - pos) +
                           " remain in its binary_data_size");
    }
    out.emplace_back(data.substr(pos, length));
    pos += length;
  }
  return out;
}

// The unread part of the binary tail; inputs take from it in order.
struct BinaryTail {
  std::string_view rest;
  bool present = false;  // the request had Inference-Header-Content-Length
};

struct RawInput {
  std::string name;
  std::vector<std::string> elements;
  bool binary = false;
};

RawInput ParseInput(const json& input, size_t index, BinaryTail& tail) {
  std::string where = "inputs[" + std::to_string(index) + "]";
  if (!input.is_object()) ThrowInvalidArgument(where + " must be an object");
  const auto name = input.find("name");
  if (name == input.end() || !name->is_string()) ThrowInvalidArgument(where + " has no \"name\" string");
  RawInput out;
  out.name = name->get<std::string>();
  where = "input " + Quoted(out.name);
  if (out.name != kImageInput && out.name != kTextInput) {
    ThrowInvalidArgument("unknown input " + Quoted(out.name) + "; this model takes IMAGE and TEXT");
  }
  const auto datatype = input.find("datatype");
  if (datatype == input.end() || !datatype->is_string()) ThrowInvalidArgument(where + " has no \"datatype\" string");
  if (*datatype != "BYTES") {
    ThrowInvalidArgument(where + " has datatype " + DescribeClientValue(*datatype) + "; it must be \"BYTES\"");
  }
  const auto shape = input.find("shape");
  if (shape == input.end()) ThrowInvalidArgument(where + " has no \"shape\"");
  const int64_t count = ElementCount(*shape, where);

  std::optional<size_t> binary_size;
  if (const auto params = input.find("parameters"); params != input.end()) {
    if (!params->is_object()) ThrowInvalidArgument(where + ": \"parameters\" must be an object");
    if (const auto size = params->find("binary_data_size"); size != params->end()) {
      if (!size->is_number_integer() || size->get<int64_t>() < 0) {
        ThrowInvalidArgument(where + ": \"binary_data_size\" must be a non-negative integer");
      }
      binary_size = size->get<size_t>();
    }
  }
  const auto data = input.find("data");
  if (binary_size) {
    if (data != input.end()) ThrowInvalidArgument(where + " has both \"data\" and \"binary_data_size\"; give one");
    if (!tail.present) {
      ThrowInvalidArgument(where + " has \"binary_data_size\" but the request has no " +
                           std::string(kHeaderLengthHeader) + " header");
    }
    if (*binary_size > tail.rest.size()) {
      ThrowInvalidArgument(where + ": \"binary_data_size\" is " + std::to_string(*binary_size) + " but only " +
                           std::to_string(tail.rest.size()) + " bytes of binary data are left");
    }
    out.elements = SplitBinaryBytes(tail.rest.substr(0, *binary_size), where);
    tail.rest.remove_prefix(*binary_size);
    out.binary = true;
  } else {
    if (data == input.end()) ThrowInvalidArgument(where + " has no \"data\" (nor \"binary_data_size\")");
    if (!data->is_array()) ThrowInvalidArgument(where + ": \"data\" must be a list");
    FlattenStrings(*data, 0, where, out.elements);
  }
  if (static_cast<int64_t>(out.elements.size()) != count) {
    ThrowInvalidArgument(where + " has " + std::to_string(out.elements.size()) + " elements but its shape " +
                         ShapeText(*shape) + " holds " + std::to_string(count));
  }
  if (count == 0) ThrowInvalidArgument(where + " has no elements");
  return out;
}

// Images in JSON are base64 strings; binary ones are the file bytes as they are.
std::vector<std::string> ImageBytes(RawInput input, const InputLimits& limits) {
  try {
    CheckImageCount(input.elements.size(), limits);
  } catch (const Error& e) {
    throw Error(e.code(), std::string("input 'IMAGE': ") + e.what());
  }
  if (!input.binary) {
    for (size_t i = 0; i < input.elements.size(); ++i) {
      std::string why;
      auto decoded = Base64Decode(input.elements[i], &why);
      if (!decoded) {
        ThrowInvalidArgument("input 'IMAGE' element " + std::to_string(i) + " is not valid base64 (" + why +
                             "); in JSON, IMAGE elements are base64-encoded image files");
      }
      input.elements[i] = std::move(*decoded);
    }
  }
  for (size_t i = 0; i < input.elements.size(); ++i) {
    if (input.elements[i].empty()) ThrowInvalidArgument("input 'IMAGE' element " + std::to_string(i) + " is empty");
    try {
      CheckImageSize(input.elements[i].size(), limits);
    } catch (const Error& e) {
      throw Error(e.code(), "input 'IMAGE' element " + std::to_string(i) + ": " + e.what());
    }
  }
  return std::move(input.elements);
}

std::vector<std::string> Texts(RawInput input, const InputLimits& limits) {
  try {
    CheckTexts(input.elements, limits);
  } catch (const Error& e) {
    throw Error(e.code(), std::string("input 'TEXT': ") + e.what());
  }
  return std::move(input.elements);
}

bool ReadBool(const json& params, const char* key, bool fallback, const std::string& where) {
  const auto it = params.find(key);
  if (it == params.end()) return fallback;
  if (!it->is_boolean()) ThrowInvalidArgument(where + ": \"" + key + "\" must be true or false");
  return it->get<bool>();
}

// Which inputs an output needs, as a message fragment; empty when the request has them.
std::string MissingInputsFor(const std::string& output, const InferRequest& r) {
  if (output == kImageEmbedsOutput) return r.images ? "" : "IMAGE";
  if (output == kTextEmbedsOutput) return r.texts ? "" : "TEXT";
  return r.images && r.texts ? "" : "both IMAGE and TEXT";
}

void ParseOutputs(const json& header, bool binary_default, InferRequest& r) {
  const auto outputs = header.find("outputs");
  if (outputs == header.end() || (outputs->is_array() && outputs->empty())) {
    for (const char* name : kAllOutputs) {
      if (MissingInputsFor(name, r).empty()) r.outputs.push_back({name, binary_default});
    }
    return;
  }
  if (!outputs->is_array()) ThrowInvalidArgument("\"outputs\" must be a list");
  for (size_t i = 0; i < outputs->size(); ++i) {
    const json& output = (*outputs)[i];
    std::string where = "outputs[" + std::to_string(i) + "]";
    if (!output.is_object()) ThrowInvalidArgument(where + " must be an object");
    const auto name = output.find("name");
    if (name == output.end() || !name->is_string()) ThrowInvalidArgument(where + " has no \"name\" string");
    OutputRequest o{name->get<std::string>(), binary_default};
    where = "output " + Quoted(o.name);
    if (std::find(std::begin(kAllOutputs), std::end(kAllOutputs), o.name) == std::end(kAllOutputs)) {
      ThrowInvalidArgument("unknown output " + Quoted(o.name) +
                           "; this model's outputs are IMAGE_EMBEDS, TEXT_EMBEDS, LOGITS_PER_IMAGE and PROBS");
    }
    if (r.Wants(o.name)) ThrowInvalidArgument(where + " is requested twice");
    if (const std::string missing = MissingInputsFor(o.name, r); !missing.empty()) {
      ThrowInvalidArgument(where + " needs the input " + missing);
    }
    if (const auto params = output.find("parameters"); params != output.end()) {
      if (!params->is_object()) ThrowInvalidArgument(where + ": \"parameters\" must be an object");
      if (params->contains("classification")) {
        ThrowInvalidArgument(where + ": the classification extension is not supported; read PROBS instead");
      }
      o.binary = ReadBool(*params, "binary_data", binary_default, where);
    }
    r.outputs.push_back(std::move(o));
  }
}

}  // namespace

bool InferRequest::Wants(std::string_view output) const {
  return std::any_of(outputs.begin(), outputs.end(), [&](const OutputRequest& o) { return o.name == output; });
}

InferRequest ParseInferRequest(std::string_view body, std::optional<std::string_view> header_length,
                               const InputLimits& limits) {
  BinaryTail tail;
  std::string_view json_text = body;
  if (header_length) {
    const size_t n = ParseHeaderLength(*header_length, body.size());
    json_text = body.substr(0, n);
    tail = {body.substr(n), true};
  }
  const json header = ParseJsonHeader(json_text, header_length.has_value());
  if (!header.is_object()) ThrowInvalidArgument("the request must be a JSON object");

  InferRequest r;
  if (const auto id = header.find("id"); id != header.end()) {
    if (!id->is_string()) ThrowInvalidArgument("\"id\" must be a string");
    r.id = id->get<std::string>();
  }
  bool binary_default = false;
  if (const auto params = header.find("parameters"); params != header.end()) {
    if (!params->is_object()) ThrowInvalidArgument("\"parameters\" must be an object");
    if (const auto timeout = params->find("timeout"); timeout != params->end()) {
      if (!timeout->is_number_integer() || timeout->get<int64_t>() < 0) {
        ThrowInvalidArgument("parameters.timeout must be a non-negative integer (microseconds)");
      }
      if (const int64_t us = timeout->get<int64_t>(); us > 0) r.timeout = std::chrono::microseconds(us);
    }
    binary_default = ReadBool(*params, "binary_data_output", false, "parameters");
  }

  const auto inputs = header.find("inputs");
  if (inputs == header.end()) ThrowInvalidArgument("the request has no \"inputs\" list");
  if (!inputs->is_array()) ThrowInvalidArgument("\"inputs\" must be a list");
  if (inputs->empty()) ThrowInvalidArgument("\"inputs\" is empty; give IMAGE, TEXT or both");
  for (size_t i = 0; i < inputs->size(); ++i) {
    RawInput input = ParseInput((*inputs)[i], i, tail);
    const bool is_image = input.name == kImageInput;
    if (is_image ? r.images.has_value() : r.texts.has_value()) {
      ThrowInvalidArgument("input " + Quoted(input.name) + " is given twice");
    }
    if (is_image) {
      r.images = ImageBytes(std::move(input), limits);
    } else {
      r.texts = Texts(std::move(input), limits);
    }
  }
  if (!tail.rest.empty()) {
    ThrowInvalidArgument(std::to_string(tail.rest.size()) +
                         " bytes of binary data follow the inputs' binary_data_size total; the sizes must add up "
                         "to the body length minus " + std::string(kHeaderLengthHeader));
  }
  ParseOutputs(header, binary_default, r);
  return r;
}

}  // namespace mms::api::kserve
