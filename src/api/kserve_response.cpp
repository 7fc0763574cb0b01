// Response side of the KServe codec: result matrices -> JSON (+ binary tail).
#include <bit>
#include <cstring>
#include <nlohmann/json.hpp>

#include "api/kserve_codec.h"
#include "base/error.h"
#include "base/float_json.h"

namespace mms::api::kserve {

namespace {

// Binary outputs are raw float32 in little-endian order, which is the memory layout here.
static_assert(std::endian::native == std::endian::little, "binary tensor output assumes a little-endian host");

std::string JsonString(const std::string& s) {
  return nlohmann::json(s).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace

Matrix MatrixFromRows(const std::vector<std::vector<float>>& rows, int64_t cols) {
  Matrix m;
  m.rows = static_cast<int64_t>(rows.size());
  m.cols = cols;
  m.values.reserve(rows.size() * static_cast<size_t>(cols));
  for (const auto& row : rows) {
    if (static_cast<int64_t>(row.size()) != cols) ThrowInternal("result rows have different lengths");
    m.values.insert(m.values.end(), row.begin(), row.end());
  }
  return m;
}

InferResponseBody EncodeInferResponse(const InferRequest& request, const std::string& model_name,
                                      int64_t model_version, const std::map<std::string, Matrix>& results) {
  // Written by hand rather than through nlohmann so that floats print in their shortest
  // exact float32 form and large outputs are not built as a JSON tree first.
  std::string json = "{\"model_name\":" + JsonString(model_name) + ",\"model_version\":\"" +
                     std::to_string(model_version) + "\"";
  if (request.id) json += ",\"id\":" + JsonString(*request.id);
  json += ",\"outputs\":[";
  std::vector<const Matrix*> binary;
  for (size_t i = 0; i < request.outputs.size(); ++i) {
    const OutputRequest& output = request.outputs[i];
    const auto it = results.find(output.name);
    if (it == results.end()) ThrowInternal("output " + output.name + " was requested but not computed");
    const Matrix& m = it->second;
    if (i) json += ',';
    json += "{\"name\":" + JsonString(output.name) + ",\"datatype\":\"FP32\",\"shape\":[" + std::to_string(m.rows) +
            "," + std::to_string(m.cols) + "]";
    if (output.binary) {
      json += ",\"parameters\":{\"binary_data_size\":" + std::to_string(m.values.size() * sizeof(float)) + "}}";
      binary.push_back(&m);
    } else {
      json += ",\"data\":";
      AppendFloatArrayJson(json, m.values.data(), static_cast<int64_t>(m.values.size()));
      json += '}';
    }
  }
  json += "]}";

  InferResponseBody out;
  out.json_length = json.size();
  out.has_binary = !binary.empty();
  out.body = std::move(json);
  for (const Matrix* m : binary) {
    const size_t at = out.body.size();
    out.body.resize(at + m->values.size() * sizeof(float));
    if (!m->values.empty()) std::memcpy(out.body.data() + at, m->values.data(), m->values.size() * sizeof(float));
  }
  return out;
}

}  // namespace mms::api::kserve
