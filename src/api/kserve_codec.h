// The body of a KServe v2 (Triton HTTP) inference request and response, kept apart from
// routing so that it can be tested without a server.
//
// Request: a JSON object, or (Triton's binary tensor data extension, what tritonclient
// sends) a JSON header of Inference-Header-Content-Length bytes followed by the raw
// tensor data of the inputs that carry "parameters":{"binary_data_size":K}, in input
// order. CLIP models take two BYTES inputs, IMAGE (encoded image files; base64 strings
// in JSON) and TEXT (UTF-8 strings), either or both, any shape whose element count
// matches the data.
//
// Response: model_name, model_version, id (when the request had one) and the requested
// FP32 outputs, each either inline JSON data or, when asked for in binary, appended
// after the JSON header as little-endian floats.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/input_limits.h"

namespace mms::api::kserve {

// Tensor names of the CLIP models, as model metadata reports them.
inline constexpr char kImageInput[] = "IMAGE";
inline constexpr char kTextInput[] = "TEXT";
inline constexpr char kImageEmbedsOutput[] = "IMAGE_EMBEDS";        // [n_images, dim]
inline constexpr char kTextEmbedsOutput[] = "TEXT_EMBEDS";          // [n_texts, dim]
inline constexpr char kLogitsPerImageOutput[] = "LOGITS_PER_IMAGE";  // [n_images, n_texts]
inline constexpr char kProbsOutput[] = "PROBS";                      // softmax over texts per image

// The response header carrying the JSON length when a body has a binary tail (both ways).
inline constexpr char kHeaderLengthHeader[] = "Inference-Header-Content-Length";

struct OutputRequest {
  std::string name;
  bool binary = false;  // return as binary data after the JSON header
};

struct InferRequest {
  std::optional<std::string> id;                  // echoed in the response
  std::optional<std::vector<std::string>> images;  // present iff IMAGE was given: decoded file bytes
  std::optional<std::vector<std::string>> texts;   // present iff TEXT was given
  // What to return, in response order: the request's `outputs`, or when it names none,
  // every output the given inputs allow.
  std::vector<OutputRequest> outputs;
  std::optional<std::chrono::microseconds> timeout;  // parameters.timeout (0 = the model's default)

  bool Wants(std::string_view output) const;
};

// Parses a request body. `header_length` is the Inference-Header-Content-Length header's
// value, nullopt when the header is absent (then the whole body is JSON). Every defect is
// Error(kInvalidArgument) naming the field at fault, except an image over the byte limit,
// which is Error(kTooLarge).
InferRequest ParseInferRequest(std::string_view body, std::optional<std::string_view> header_length,
                               const InputLimits& limits);

// A row-major FP32 result.
struct Matrix {
  int64_t rows = 0, cols = 0;
  std::vector<float> values;
};
Matrix MatrixFromRows(const std::vector<std::vector<float>>& rows, int64_t cols);

struct InferResponseBody {
  std::string body;
  size_t json_length = 0;  // == body.size() unless some output is binary
  bool has_binary = false;  // then send kHeaderLengthHeader: json_length
};

// Builds the response for `request.outputs`, taking each output's data from `results`
// (by name). A requested output missing from `results` is Error(kInternal): the route
// computes what was asked for.
InferResponseBody EncodeInferResponse(const InferRequest& request, const std::string& model_name,
                                      int64_t model_version, const std::map<std::string, Matrix>& results);

}  // namespace mms::api::kserve
