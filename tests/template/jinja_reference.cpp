#include "jinja_reference.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "base/error.h"
#include "template/chat_template.h"

namespace mms::tmpl::testing {

namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

std::vector<nlohmann::json> RenderWithJinja2(const std::vector<RefCase>& cases) {
  nlohmann::ordered_json doc;
  doc["cases"] = nlohmann::ordered_json::array();
  for (const RefCase& c : cases) {
    nlohmann::ordered_json j;
    if (!c.template_file.empty()) {
      j["template_file"] = c.template_file;
    } else {
      j["template"] = c.template_text;
    }
    j["vars"] = c.vars;
    doc["cases"].push_back(std::move(j));
  }
  char path[] = "/tmp/mms-jinja-cases-XXXXXX";
  const int fd = ::mkstemp(path);
  if (fd < 0) {
    ADD_FAILURE() << "mkstemp failed";
    return {};
  }
  const std::string body = doc.dump();
  const bool written = ::write(fd, body.data(), body.size()) == static_cast<ssize_t>(body.size());
  ::close(fd);
  if (!written) {
    ADD_FAILURE() << "could not write " << path;
    ::unlink(path);
    return {};
  }
  const std::string command =
      std::string("/usr/bin/python3 ") + MMS_SOURCE_DIR + "/tests/template/render_reference.py " + path;
  FILE* pipe = ::popen(command.c_str(), "r");
  std::string out;
  if (pipe != nullptr) {
    char buf[65536];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof(buf), pipe)) > 0) out.append(buf, n);
    const int status = ::pclose(pipe);
    if (status != 0) ADD_FAILURE() << command << " exited with status " << status;
  } else {
    ADD_FAILURE() << "could not run " << command;
  }
  ::unlink(path);
  const nlohmann::json results = nlohmann::json::parse(out, nullptr, false);
  if (!results.is_array() || results.size() != cases.size()) {
    ADD_FAILURE() << "the Jinja2 reference gave no usable answer: " << out.substr(0, 500);
    return {};
  }
  return results.get<std::vector<nlohmann::json>>();
}

size_t ExpectSameAsJinja2(const std::vector<RefCase>& cases, const SkipCase& skip) {
  const std::vector<nlohmann::json> expected = RenderWithJinja2(cases);
  size_t skipped = 0;
  EXPECT_EQ(expected.size(), cases.size());
  if (expected.size() != cases.size()) return skipped;
  for (size_t i = 0; i < cases.size(); ++i) {
    const RefCase& c = cases[i];
    const std::string source =
        c.template_file.empty() ? c.template_text : ReadFile(std::string(MMS_SOURCE_DIR) + "/" + c.template_file);
    SCOPED_TRACE("case " + std::to_string(i) + " [" + c.label + "]: " + source.substr(0, 300) +
                 "\nvars: " + c.vars.dump().substr(0, 300));
    std::string output;
    std::string error;
    ErrorCode code = ErrorCode::kInternal;
    try {
      output = ChatTemplate::Parse(source, c.label.empty() ? "case" : c.label).RenderOrdered(c.vars);
    } catch (const Error& e) {
      error = e.what();
      code = e.code();
    } catch (const std::exception& e) {
      ADD_FAILURE() << "escaped a non-mms exception: " << e.what();
      continue;
    }
    const nlohmann::json& want = expected[i];
    if (skip && skip(want, error)) {
      ++skipped;
      continue;
    }
    if (want.contains("output")) {
      EXPECT_TRUE(error.empty()) << "we failed where Jinja2 rendered " << want["output"].dump() << ": " << error;
      EXPECT_EQ(output, want["output"].get<std::string>());
    } else {
      EXPECT_FALSE(error.empty()) << "we rendered " << nlohmann::json(output).dump()
                                  << " where Jinja2 failed: " << want["error"].get<std::string>();
      if (!error.empty()) {
        EXPECT_TRUE(code == ErrorCode::kInvalidArgument || code == ErrorCode::kInvalidModel) << error;
      }
      if (want.value("raised", false)) {
        EXPECT_EQ(error, want["error"].get<std::string>());
        EXPECT_EQ(code, ErrorCode::kInvalidArgument);
      }
    }
  }
  return skipped;
}

}  // namespace mms::tmpl::testing
