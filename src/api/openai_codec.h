// The OpenAI-compatible API's wire format, apart from HTTP: parsing a /v1/embeddings
// request into plain structs and writing the response, model list and error bodies.
// Kept free of the server and the model so that every input form and every error can be
// unit-tested on its own; openai_routes.cpp joins it to the repository.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/input_limits.h"

namespace mms::api::openai {

// One thing to embed. Images arrive base64-encoded and are held here decoded (the
// encoded file: PNG, JPEG, ...); whether the bytes really are an image is found out by
// the decoder when the model embeds them (415 if not).
struct EmbeddingInput {
  enum class Kind { kText, kImage };
  Kind kind = Kind::kText;
  std::string text;   // kText: the UTF-8 text
  std::string image;  // kImage: the encoded image file
};

enum class EncodingFormat { kFloat, kBase64 };

struct EmbeddingsRequest {
  std::string model;
  std::vector<EmbeddingInput> inputs;  // in request order, never empty
  EncodingFormat encoding_format = EncodingFormat::kFloat;
  std::optional<int64_t> dimensions;   // checked against the model by the route
};

// Parses a POST /v1/embeddings body. `input` may be a string, a list of strings, or a
// list whose items are strings, {"type":"text","text":...}, {"type":"image","image":
// DATA_URL_OR_BASE64} or {"type":"image_url","image_url":{"url":DATA_URL}} (or
// "image_url": DATA_URL). A string that is a data:image/...;base64 URL is an image.
// Token-id arrays are refused. Errors: kInvalidArgument (malformed, token arrays, too many
// inputs, a text over the length limit), kTooLarge (an image over the byte limit),
// kUnsupportedMedia (an empty image).
EmbeddingsRequest ParseEmbeddingsRequest(std::string_view body, const InputLimits& limits);

// The bytes of an image given as a data URL ("data:image/png;base64,...") or, when
// `allow_bare_base64`, as plain base64. Throws Error(kInvalidArgument) naming `where`.
std::string DecodeImageReference(std::string_view value, bool allow_bare_base64, const std::string& where);

// True for "data:image/...": how a plain string input is told apart from a text.
bool LooksLikeImageDataUrl(std::string_view value);

// Scales v to unit L2 length in place (a zero vector is left as it is).
void NormalizeL2(std::vector<float>& v);

// Float32 values as little-endian bytes, base64-encoded: OpenAI's encoding_format=base64.
std::string EncodeFloatsBase64(const std::vector<float>& values);

// {"object":"list","data":[{"object":"embedding","index":i,"embedding":...}],"model":...,
//  "usage":{"prompt_tokens":N,"total_tokens":N}}
std::string EmbeddingsResponseJson(const std::string& model, const std::vector<std::vector<float>>& embeddings,
                                   EncodingFormat format, int64_t prompt_tokens);

struct ModelInfo {
  std::string id;
  int64_t created = 0;  // unix seconds; 0 when unknown
  // Generative models: what they do and their context length (vLLM's max_model_len);
  // empty / 0 for the others.
  std::string family;
  bool generates = false;
  bool vision = false;  // takes images in chat messages (image_url parts)
  int64_t max_model_len = 0;
};

// {"id":...,"object":"model","created":...,"owned_by":"mmserve"}
std::string ModelJson(const ModelInfo& model);
// {"object":"list","data":[model, ...]}
std::string ModelListJson(const std::vector<ModelInfo>& models);

// {"error":{"message":...,"type":...,"param":null,"code":null}}, the type chosen from the
// status as OpenAI does (invalid_request_error for 4xx, not_found_error for 404,
// server_error for 5xx). Matches request_handler's ErrorBodyFormatter.
std::string ErrorBody(int http_status, const std::string& message);
const char* ErrorTypeFor(int http_status);

}  // namespace mms::api::openai
