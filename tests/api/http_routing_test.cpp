// The pieces of the HTTP layer that need no socket: the route table, path decoding,
// multipart bodies, JSON bounds and strict UTF-8.
#include <gtest/gtest.h>

#include "api/input_limits.h"
#include "api/json_body.h"
#include "api/multipart.h"
#include "api/request_handler.h"
#include "base/error.h"

namespace mms::api {
namespace {

void Noop(const HttpRequest&, HttpResponse&, RequestInfo&) {}
std::string NoBody(int, const std::string&) { return ""; }

TEST(Router, LiteralsPlaceholdersAndMethods) {
  Router router;
  router.Add("GET", "/v2/models/stats", Noop, NoBody);
  router.Add("GET", "/v2/models/{model}", Noop, NoBody);
  router.Add("GET", "/v2/models/{model}/versions/{version}/ready", Noop, NoBody);
  router.Add("POST", "/v2/models/{model}/infer", Noop, NoBody);

  auto m = router.Find("GET", "/v2/models/stats");
  ASSERT_TRUE(m.route);
  EXPECT_EQ(m.route->pattern, "/v2/models/stats");  // the earlier literal wins
  m = router.Find("GET", "/v2/models/clip");
  ASSERT_TRUE(m.route);
  EXPECT_EQ(m.params, (std::vector<std::string>{"clip"}));
  m = router.Find("HEAD", "/v2/models/clip/versions/3/ready");  // HEAD is served by GET
  ASSERT_TRUE(m.route);
  EXPECT_EQ(m.params, (std::vector<std::string>{"clip", "3"}));
  m = router.Find("GET", "/v2/models/clip/infer");
  EXPECT_FALSE(m.route);
  EXPECT_TRUE(m.path_known);  // 405, not 404
  m = router.Find("GET", "/v2/models//infer");  // empty segments take no placeholder
  EXPECT_FALSE(m.route);
  EXPECT_FALSE(m.path_known);
  EXPECT_FALSE(router.Find("GET", "").route);
  EXPECT_FALSE(router.Find("GET", "v2/models/clip").route);
  EXPECT_FALSE(router.Find("GET", "/v2/models/clip/").route);
  // A long path is split, not matched by a recursive regex.
  EXPECT_FALSE(router.Find("GET", "/v2/models/" + std::string(1 << 20, 'a') + "/x").route);
}

TEST(HttpMessage, PathDecodingAndHeaders) {
  EXPECT_EQ(DecodePath("/v2/models/a%20b"), "/v2/models/a b");
  EXPECT_EQ(DecodePath("/a%2"), "/a%2");    // cut-off escape kept
  EXPECT_EQ(DecodePath("/a%zz%"), "/a%zz%");
  EXPECT_EQ(DecodePath("/a+b"), "/a+b");
  HttpRequest req;
  req.headers = {{"content-TYPE", "text/plain"}};
  EXPECT_EQ(req.HeaderOr("Content-Type"), "text/plain");
  EXPECT_FALSE(req.HasHeader("Content-Length"));
  EXPECT_EQ(req.PathParam(5), "");
}

std::string Form(const std::string& boundary) {
  return "preamble\r\n--" + boundary +
         "\r\nContent-Disposition: form-data; name=\"image\"; filename=\"a \\\"b\\\".png\"\r\n"
         "Content-Type: image/png\r\n\r\n\x89PNG\r\n--not the boundary\r\n--" + boundary +
         "\r\nContent-Disposition: form-data; name=texts\r\n\r\n[\"a cat\"]\r\n--" + boundary + "--\r\n";
}

TEST(Multipart, PartsPointIntoTheBody) {
  const auto boundary = MultipartBoundary("multipart/form-data; boundary=\"xyz\"");
  ASSERT_TRUE(boundary);
  EXPECT_EQ(*boundary, "xyz");
  const std::string body = Form("xyz");
  const auto parts = ParseMultipart(body, "xyz");
  ASSERT_EQ(parts.size(), 2u);
  EXPECT_EQ(parts[0].name, "image");
  EXPECT_EQ(parts[0].filename, "a \"b\".png");
  EXPECT_EQ(parts[0].content_type, "image/png");
  EXPECT_EQ(parts[0].content, "\x89PNG\r\n--not the boundary");
  ASSERT_TRUE(FindPart(parts, "texts"));
  EXPECT_EQ(FindPart(parts, "texts")->content, "[\"a cat\"]");
  EXPECT_FALSE(FindPart(parts, "other"));
  EXPECT_FALSE(MultipartBoundary("application/json"));
}

TEST(Multipart, MalformedBodiesSayWhere) {
  auto expect_bad = [](const std::string& body, const std::string& part, MultipartLimits limits = {}) {
    try {
      ParseMultipart(body, "b", limits);
      ADD_FAILURE() << "accepted: " << body;
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
      EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what();
    }
  };
  expect_bad("", "no boundary delimiter");
  expect_bad("--b\r\nContent-Disposition: form-data; name=x\r\n\r\nnever closed", "not closed");
  expect_bad("--b\r\nContent-Disposition: form-data; name=x\r\n", "headers do not end");
  expect_bad("--b\r\nX-Other: 1\r\n\r\nv\r\n--b--", "no Content-Disposition");
  expect_bad("--b\r\nContent-Disposition: attachment; name=x\r\n\r\nv\r\n--b--", "not form-data");
  expect_bad("--bXX", "not followed by CRLF");
  std::string many;
  for (int i = 0; i < 20; ++i) many += "--b\r\nContent-Disposition: form-data; name=p\r\n\r\nv\r\n";
  expect_bad(many + "--b--", "more than 16 parts");
  expect_bad("--b\r\nContent-Disposition: form-data; name=x\r\nX: " + std::string(9000, 'a') + "\r\n\r\nv\r\n--b--",
             "longer than 8192");
  EXPECT_THROW(MultipartBoundary("multipart/form-data"), Error);
  EXPECT_THROW(MultipartBoundary("multipart/form-data; boundary=" + std::string(71, 'a')), Error);
}

TEST(JsonBody, DepthAndSizeAreBoundedBeforeParsing) {
  EXPECT_NO_THROW(ParseJsonBody(std::string(32, '[') + std::string(32, ']'), "x"));
  try {
    ParseJsonBody(std::string(33, '[') + std::string(33, ']'), "the body");
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("the body is nested too deeply"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("at byte 32"), std::string::npos) << e.what();
  }
  EXPECT_NO_THROW(ParseJsonBody(R"(["[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\"]"])", "x"));  // brackets in strings
  std::string wide = "[";
  for (size_t i = 0; i <= kMaxJsonValues; ++i) wide += i ? ",0" : "0";
  EXPECT_THROW(ParseJsonBody(wide + "]", "x"), Error);
  EXPECT_THROW(ParseJsonBody("[\"\xff\"]", "x"), Error);
  EXPECT_EQ(QuoteClientText(std::string(100, 'a')).size(), 2u + 40 + 3);
  EXPECT_EQ(QuoteClientText("a\nb\"\x80"), "\"a\\x0ab\\x22\\x80\"");
  EXPECT_EQ(DescribeClientValue(nlohmann::json::array({1, 2})), "an array of 2");
}

TEST(InputLimits, StrictUtf8WithOffsets) {
  EXPECT_EQ(FindInvalidUtf8("plain"), std::string_view::npos);
  EXPECT_EQ(FindInvalidUtf8("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"), std::string_view::npos);
  EXPECT_EQ(FindInvalidUtf8("ab\x80"), 2u);            // stray continuation
  EXPECT_EQ(FindInvalidUtf8("a\xc0\xaf"), 1u);         // overlong '/'
  EXPECT_EQ(FindInvalidUtf8("a\xed\xa0\x80"), 1u);     // surrogate
  EXPECT_EQ(FindInvalidUtf8("a\xf4\x90\x80\x80"), 1u); // past U+10FFFF
  EXPECT_EQ(FindInvalidUtf8("a\xe2\x82"), 1u);         // truncated
  InputLimits limits;
  limits.max_text_chars = 3;
  EXPECT_NO_THROW(CheckTexts({"\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac"}, limits));  // 3 code points, 9 bytes
  EXPECT_THROW(CheckTexts({std::string(13, 'a')}, limits), Error);               // refused by length alone
  try {
    CheckTexts({"ok", "ab\xff"}, limits);
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("text 1 is not valid UTF-8 (byte offset 2)"), std::string::npos) << e.what();
  }
  limits.max_images = 2;
  EXPECT_NO_THROW(CheckImageCount(2, limits));
  EXPECT_THROW(CheckImageCount(3, limits), Error);
}

}  // namespace
}  // namespace mms::api
