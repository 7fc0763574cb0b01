#include "api/predict_response.h"

#include <nlohmann/json.hpp>

namespace mms::api {

std::string PredictResponseJson(const std::vector<models::LabelScore>& scores) {
  // ordered_json keeps "status" first and "text" before "score", as documented.
  nlohmann::ordered_json results = nlohmann::ordered_json::array();
  for (const auto& s : scores) results.push_back({{"text", s.text}, {"score", s.score}});
  return nlohmann::ordered_json{{"status", "success"}, {"results", results}}.dump(
      -1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace mms::api
