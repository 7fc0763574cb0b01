// Log lines are one line per event whatever clients put in the fields: a URL-decoded
// path with %0a must not forge a second line, in either format, and bytes that are not
// UTF-8 must neither break the JSON nor reach the text log raw.
#include "base/logger.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <nlohmann/json.hpp>
#include <sstream>

namespace mms {
namespace {

class LoggerTest : public ::testing::Test {
 protected:
  LoggerTest() : file_(std::tmpfile()) {}
  ~LoggerTest() override { std::fclose(file_); }
  std::vector<std::string> Lines() const {
    std::fflush(file_);
    std::rewind(file_);
    std::string text;
    char buf[4096];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof(buf), file_)) > 0) text.append(buf, n);
    std::vector<std::string> lines;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
  }
  std::FILE* file_;
};

// What a client can put in a path once it is URL-decoded: a whole fake log line.
const std::string kForgedPath = "/v2/models/x\n2026-01-01T00:00:00.000Z info request status=200\r\t\x01\x7f";

TEST_F(LoggerTest, TextFormatEscapesControlCharactersInFieldsAndMessage) {
  Logger logger(LogLevel::kInfo, LogFormat::kText, file_);
  logger.Info("request " + kForgedPath, {{"path", kForgedPath}, {"status", 404}});
  const auto lines = Lines();
  ASSERT_EQ(lines.size(), 1u);  // before: the forged line was a line of its own
  const std::string& line = lines[0];
  for (char c : line) {
    EXPECT_FALSE(static_cast<unsigned char>(c) < 0x20 || c == 0x7f) << "raw control " << int(c) << " in " << line;
  }
  EXPECT_NE(line.find("x\\n2026-01-01"), std::string::npos) << line;
  EXPECT_NE(line.find("\\r\\t\\x01\\x7f"), std::string::npos) << line;
  // The value holds blanks and '=', so it is quoted: " status=200" inside it is no field.
  EXPECT_NE(line.find(" path=\"/v2/models/x\\n"), std::string::npos) << line;
  EXPECT_NE(line.find(" status=404"), std::string::npos) << line;
}

TEST_F(LoggerTest, TextFormatEscapesInvalidUtf8AndKeepsValidUtf8) {
  Logger logger(LogLevel::kInfo, LogFormat::kText, file_);
  logger.Info("bytes", {{"name", std::string("caf\xc3\xa9-\xff\xc3-\xed\xa0\x80")}});  // é, stray, truncated, surrogate
  const auto lines = Lines();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_NE(lines[0].find("name=caf\xc3\xa9-\\xff\\xc3-\\xed\\xa0\\x80"), std::string::npos) << lines[0];
}

TEST(TextLogValue, QuotesOnlyWhatCouldPoseAsAnotherField) {
  EXPECT_EQ(TextLogValue("clip"), "clip");
  EXPECT_EQ(TextLogValue(""), "\"\"");
  EXPECT_EQ(TextLogValue("a b"), "\"a b\"");
  EXPECT_EQ(TextLogValue("k=v"), "\"k=v\"");
  EXPECT_EQ(TextLogValue("say \"hi\""), "\"say \\\"hi\\\"\"");
  EXPECT_EQ(TextLogValue("back\\slash"), "back\\\\slash");  // a literal "\n" cannot fake an escape
}

TEST_F(LoggerTest, JsonFormatStaysOneValidLineWithInvalidUtf8) {
  Logger logger(LogLevel::kInfo, LogFormat::kJson, file_);
  logger.Info("request \xff", {{"path", kForgedPath + "\xc3"}, {"nested", {{"k", "\xfe"}}}});
  const auto lines = Lines();
  ASSERT_EQ(lines.size(), 1u);
  const auto j = nlohmann::json::parse(lines[0]);  // valid JSON, hence valid UTF-8
  EXPECT_EQ(j["path"].get<std::string>().substr(0, kForgedPath.size()), kForgedPath);
  EXPECT_NE(j["message"].get<std::string>().find("\xef\xbf\xbd"), std::string::npos);  // U+FFFD
}

TEST_F(LoggerTest, TextFormatDumpsNonStringFieldsWithInvalidUtf8WithoutThrowing) {
  Logger logger(LogLevel::kInfo, LogFormat::kText, file_);
  EXPECT_NO_THROW(logger.Info("m", {{"list", {"\xff", "\n"}}}));
  const auto lines = Lines();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0].find('\n'), std::string::npos);
}

}  // namespace
}  // namespace mms
