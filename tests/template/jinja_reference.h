// Runs tests/template/render_reference.py (Jinja2 set up as transformers sets it up) on a
// batch of template + variables cases and compares our renderer's results with it.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace mms::tmpl::testing {

struct RefCase {
  std::string label;
  std::string template_text;  // or:
  std::string template_file;  // relative to the repository root
  // ordered_json: the variables reach both renderers with their keys in the written order.
  nlohmann::ordered_json vars = nlohmann::ordered_json::object();
};

// One entry per case: {"output": ...} or {"error": ..., "raised": bool}. Fails the test (and
// returns an empty list) when the reference cannot run.
std::vector<nlohmann::json> RenderWithJinja2(const std::vector<RefCase>& cases);

// Renders every case with ChatTemplate and expects the same bytes as Jinja2, or an error
// where Jinja2 errs (with raise_exception's message where the template raised).
// `skip` (optional) drops a case from the comparison given Jinja2's result and our error (empty
// when we rendered); returns how many cases were skipped.
using SkipCase = std::function<bool(const nlohmann::json& reference, const std::string& our_error)>;
size_t ExpectSameAsJinja2(const std::vector<RefCase>& cases, const SkipCase& skip = nullptr);

}  // namespace mms::tmpl::testing
