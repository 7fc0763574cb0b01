// Seeded random templates (tests/template/random_templates.py: nested operators, filters,
// tests, methods, loops, conditions and whitespace control over fixed variables) rendered by
// ChatTemplate and by Jinja2, compared byte for byte. Skipped, and counted: outputs in which
// Python prints an object's identity (generators, dict views, iterators) and printf-style
// `str % value`, which this renderer does not implement.
#include <gtest/gtest.h>

#include <cstdio>

#include "jinja_reference.h"

namespace mms::tmpl::testing {
namespace {

std::vector<RefCase> RandomCases(int seed, int count) {
  const std::string command = std::string("/usr/bin/python3 ") + MMS_SOURCE_DIR + "/tests/template/random_templates.py " +
                              std::to_string(seed) + " " + std::to_string(count);
  std::string out;
  if (FILE* pipe = ::popen(command.c_str(), "r")) {
    char buf[65536];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof(buf), pipe)) > 0) out.append(buf, n);
    ::pclose(pipe);
  }
  const auto doc = nlohmann::ordered_json::parse(out, nullptr, false);
  std::vector<RefCase> cases;
  if (!doc.is_object() || !doc.contains("cases")) {
    ADD_FAILURE() << command << " gave no cases";
    return cases;
  }
  for (const auto& c : doc["cases"]) {
    RefCase rc;
    rc.label = "random-" + std::to_string(seed);
    rc.template_text = c["template"].get<std::string>();
    rc.vars = c["vars"];
    cases.push_back(std::move(rc));
  }
  return cases;
}

bool PythonIdentityOrPrintf(const nlohmann::json& reference, const std::string& our_error) {
  if (our_error.find("printf-style") != std::string::npos) return true;
  if (!reference.contains("output")) return false;
  const std::string out = reference["output"].get<std::string>();
  for (const char* marker : {"<generator object", "dict_keys(", "dict_values(", "dict_items(", "<reversed object",
                             " object at 0x"}) {
    if (out.find(marker) != std::string::npos) return true;
  }
  return false;
}

class RandomTemplates : public ::testing::TestWithParam<int> {};

TEST_P(RandomTemplates, MatchJinja2) {
  const std::vector<RefCase> cases = RandomCases(GetParam(), 400);
  ASSERT_EQ(cases.size(), 400u);
  const size_t skipped = ExpectSameAsJinja2(cases, PythonIdentityOrPrintf);
  EXPECT_LT(skipped, cases.size() / 20) << "too few cases compared";
}

INSTANTIATE_TEST_SUITE_P(Seeds, RandomTemplates, ::testing::Values(1, 2, 3, 4, 5));

}  // namespace
}  // namespace mms::tmpl::testing
