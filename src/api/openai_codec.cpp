#include "api/openai_codec.h"

#include <algorithm>
#include <bit>
#include <cctype>
#include <cmath>
#include <cstring>
#include <nlohmann/json.hpp>

#include "api/json_body.h"
#include "base/base64.h"
#include "base/error.h"
#include "base/float_json.h"

namespace mms::api::openai {

namespace {

using nlohmann::json;

// Client-supplied strings end up in messages; bytes that are not UTF-8 must not make
// the error body itself fail to serialize.
std::string Dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

bool StartsWithNoCase(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(s[i])) != prefix[i]) return false;
  }
  return true;
}

bool EqualsNoCase(std::string_view a, std::string_view b) { return a.size() == b.size() && StartsWithNoCase(a, b); }

std::string Where(size_t index) { return "input[" + std::to_string(index) + "]"; }

// An image after decoding: non-empty and within the byte limit. The index goes into the
// message so that the client knows which of its inputs was refused.
void CheckImage(const std::string& bytes, const std::string& where, const InputLimits& limits) {
  if (bytes.empty()) throw Error(ErrorCode::kUnsupportedMedia, where + ": the image is empty");
  try {
    CheckImageSize(bytes.size(), limits);
  } catch (const Error& e) {
    throw Error(e.code(), where + ": " + e.what());
  }
}

EmbeddingInput TextInput(std::string text) { return {EmbeddingInput::Kind::kText, std::move(text), {}}; }
EmbeddingInput ImageInput(std::string bytes) { return {EmbeddingInput::Kind::kImage, {}, std::move(bytes)}; }

// A plain string: an image when it is an image data URL, otherwise a text.
EmbeddingInput FromString(const std::string& s, const std::string& where) {
  if (LooksLikeImageDataUrl(s)) return ImageInput(DecodeImageReference(s, false, where));
  return TextInput(s);
}

const json& RequireField(const json& item, const char* key, const std::string& where) {
  const auto it = item.find(key);
  if (it == item.end()) ThrowInvalidArgument(where + ": missing field \"" + key + "\"");
  return *it;
}

std::string RequireString(const json& value, const std::string& where) {
  if (!value.is_string()) ThrowInvalidArgument(where + " must be a string");
  return value.get<std::string>();
}

// {"type":"text"|"image"|"image_url", ...}: the content-part shapes of OpenAI's chat API,
// which multimodal embedding servers reuse for images.
EmbeddingInput FromObject(const json& item, const std::string& where) {
  const std::string type = RequireString(RequireField(item, "type", where), where + ".type");
  if (type == "text") return TextInput(RequireString(RequireField(item, "text", where), where + ".text"));
  if (type == "image") {
    const std::string value = RequireString(RequireField(item, "image", where), where + ".image");
    return ImageInput(DecodeImageReference(value, true, where + ".image"));
  }
  if (type == "image_url") {
    const json& image_url = RequireField(item, "image_url", where);
    if (image_url.is_object()) {
      const std::string url = RequireString(RequireField(image_url, "url", where + ".image_url"), where + ".image_url.url");
      return ImageInput(DecodeImageReference(url, false, where + ".image_url.url"));
    }
    return ImageInput(DecodeImageReference(RequireString(image_url, where + ".image_url"), false, where + ".image_url"));
  }
  ThrowInvalidArgument(where + ".type is " + DescribeClientValue(type) + "; expected \"text\", \"image\" or \"image_url\"");
}

[[noreturn]] void ThrowTokenArrays() {
  ThrowInvalidArgument(
      "input: token arrays are not supported; send the texts as strings (they are tokenized with the model's "
      "CLIP tokenizer)");
}

std::vector<EmbeddingInput> ParseInput(const json& input, const InputLimits& limits) {
  std::vector<EmbeddingInput> out;
  if (input.is_string()) {
    out.push_back(FromString(input.get<std::string>(), Where(0)));
  } else if (input.is_array()) {
    if (input.empty()) ThrowInvalidArgument("input is an empty list; give at least one input");
    if (input.size() > limits.max_texts) {
      ThrowInvalidArgument("too many inputs: " + std::to_string(input.size()) + " (limit " +
                           std::to_string(limits.max_texts) + ")");
    }
    out.reserve(input.size());
    for (size_t i = 0; i < input.size(); ++i) {
      const json& item = input[i];
      if (item.is_string()) {
        out.push_back(FromString(item.get<std::string>(), Where(i)));
      } else if (item.is_object()) {
        out.push_back(FromObject(item, Where(i)));
      } else if (item.is_number() || item.is_array()) {
        ThrowTokenArrays();  // [1,2,3] or [[1,2],[3]]
      } else {
        ThrowInvalidArgument(Where(i) + " must be a string or an object with a \"type\"");
      }
    }
  } else {
    ThrowInvalidArgument("input must be a string or a list of strings or {\"type\":...} items");
  }
  size_t images = 0;
  for (const auto& item : out) images += item.kind == EmbeddingInput::Kind::kImage;
  CheckImageCount(images, limits);
  for (size_t i = 0; i < out.size(); ++i) {
    if (out[i].kind == EmbeddingInput::Kind::kText) {
      CheckText(out[i].text, limits, Where(i) + ": the text");
    } else {
      CheckImage(out[i].image, Where(i), limits);
    }
  }
  return out;
}

// A field that is absent or JSON null takes its default, as OpenAI's API treats them.
const json* OptionalField(const json& body, const char* key) {
  const auto it = body.find(key);
  if (it == body.end() || it->is_null()) return nullptr;
  return &*it;
}

}  // namespace

bool LooksLikeImageDataUrl(std::string_view value) { return StartsWithNoCase(value, "data:image/"); }

std::string DecodeImageReference(std::string_view value, bool allow_bare_base64, const std::string& where) {
  std::string_view payload = value;
  if (StartsWithNoCase(value, "data:")) {
    // data:[<media type>][;<parameter>]*[;base64],<data>
    const size_t comma = value.find(',');
    if (comma == std::string_view::npos) ThrowInvalidArgument(where + ": malformed data URL (no ',')");
    const std::string_view meta = value.substr(5, comma - 5);
    const std::string_view media_type = meta.substr(0, meta.find(';'));
    if (!StartsWithNoCase(media_type, "image/")) {
      ThrowInvalidArgument(where + ": the data URL's media type is \"" + std::string(media_type) +
                           "\"; expected an image/... type");
    }
    const size_t last_semicolon = meta.rfind(';');
    if (last_semicolon == std::string_view::npos || !EqualsNoCase(meta.substr(last_semicolon + 1), "base64")) {
      ThrowInvalidArgument(where + ": the data URL must be base64-encoded (data:image/png;base64,...)");
    }
    payload = value.substr(comma + 1);
  } else if (StartsWithNoCase(value, "http://") || StartsWithNoCase(value, "https://")) {
    // Fetching would let clients make the server open arbitrary connections.
    ThrowInvalidArgument(where + ": remote image URLs are not fetched; send the image inline as a data URL");
  } else if (!allow_bare_base64) {
    ThrowInvalidArgument(where + ": expected a data URL such as data:image/png;base64,...");
  }
  std::string why;
  auto bytes = Base64Decode(payload, &why);
  if (!bytes) ThrowInvalidArgument(where + ": the image is not valid base64: " + why);
  return std::move(*bytes);
}

EmbeddingsRequest ParseEmbeddingsRequest(std::string_view body, const InputLimits& limits) {
  const json j = ParseJsonBody(body, "the request body");
  if (!j.is_object()) ThrowInvalidArgument("the request body must be a JSON object");

  EmbeddingsRequest request;
  const json* model = OptionalField(j, "model");
  if (!model) ThrowInvalidArgument("missing required field \"model\"");
  if (!model->is_string() || model->get_ref<const std::string&>().empty()) {
    ThrowInvalidArgument("\"model\" must be a non-empty string (a model name; see GET /v1/models)");
  }
  request.model = model->get<std::string>();

  const json* input = OptionalField(j, "input");
  if (!input) ThrowInvalidArgument("missing required field \"input\"");
  request.inputs = ParseInput(*input, limits);

  if (const json* format = OptionalField(j, "encoding_format")) {
    if (*format == "float") {
      request.encoding_format = EncodingFormat::kFloat;
    } else if (*format == "base64") {
      request.encoding_format = EncodingFormat::kBase64;
    } else {
      ThrowInvalidArgument("\"encoding_format\" is " + DescribeClientValue(*format) + "; expected \"float\" or \"base64\"");
    }
  }
  if (const json* dims = OptionalField(j, "dimensions")) {
    if (!dims->is_number_integer() || dims->get<int64_t>() <= 0) {
      ThrowInvalidArgument("\"dimensions\" must be a positive integer");
    }
    request.dimensions = dims->get<int64_t>();
  }
  // "user" is accepted and ignored: it only serves OpenAI's abuse monitoring.
  return request;
}

void NormalizeL2(std::vector<float>& v) {
  double sum = 0;
  for (float x : v) sum += static_cast<double>(x) * x;
  if (sum <= 0 || !std::isfinite(sum)) return;
  const double scale = 1.0 / std::sqrt(sum);
  for (float& x : v) x = static_cast<float>(x * scale);
}

std::string EncodeFloatsBase64(const std::vector<float>& values) {
  std::string bytes(values.size() * sizeof(float), '\0');
  std::memcpy(bytes.data(), values.data(), bytes.size());
  if constexpr (std::endian::native == std::endian::big) {
    for (size_t i = 0; i < bytes.size(); i += 4) std::reverse(bytes.begin() + i, bytes.begin() + i + 4);
  }
  return Base64Encode(bytes);
}

std::string EmbeddingsResponseJson(const std::string& model, const std::vector<std::vector<float>>& embeddings,
                                   EncodingFormat format, int64_t prompt_tokens) {
  // Written by hand: nlohmann would print each float32 widened to 17 digits.
  std::string out = R"({"object":"list","data":[)";
  for (size_t i = 0; i < embeddings.size(); ++i) {
    if (i) out += ',';
    out += R"({"object":"embedding","index":)" + std::to_string(i) + R"(,"embedding":)";
    if (format == EncodingFormat::kBase64) {
      out += '"' + EncodeFloatsBase64(embeddings[i]) + '"';
    } else {
      AppendFloatArrayJson(out, embeddings[i].data(), static_cast<int64_t>(embeddings[i].size()));
    }
    out += '}';
  }
  out += R"(],"model":)" + Dump(model);
  out += R"(,"usage":{"prompt_tokens":)" + std::to_string(prompt_tokens) +
         R"(,"total_tokens":)" + std::to_string(prompt_tokens) + "}}";
  return out;
}

namespace {

json ModelObject(const ModelInfo& model) {
  json j = {{"id", model.id}, {"object", "model"}, {"created", model.created}, {"owned_by", "mmserve"}};
  if (!model.family.empty()) j["family"] = model.family;
  if (model.generates) {
    j["capabilities"] = model.vision ? json{"completions", "chat", "vision"} : json{"completions", "chat"};
    j["max_model_len"] = model.max_model_len;
  } else if (!model.family.empty()) {
    j["capabilities"] = {"embeddings"};
  }
  return j;
}

}  // namespace

std::string ModelJson(const ModelInfo& model) { return Dump(ModelObject(model)); }

std::string ModelListJson(const std::vector<ModelInfo>& models) {
  json data = json::array();
  for (const auto& m : models) data.push_back(ModelObject(m));
  return Dump({{"object", "list"}, {"data", data}});
}

const char* ErrorTypeFor(int http_status) {
  switch (http_status) {
    case 401: return "authentication_error";
    case 404: return "not_found_error";
    case 429: return "rate_limit_error";
    default: return http_status >= 500 ? "server_error" : "invalid_request_error";
  }
}

std::string ErrorBody(int http_status, const std::string& message) {
  return Dump({{"error", {{"message", message}, {"type", ErrorTypeFor(http_status)}, {"param", nullptr},
                          {"code", nullptr}}}});
}

}  // namespace mms::api::openai
