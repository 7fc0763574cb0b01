// The OpenAI API's wire format without a server: every input form of /v1/embeddings,
// every way a request can be wrong (and the error category it maps to), and the
// response, model list and error bodies.
#include "api/openai_codec.h"

#include <gtest/gtest.h>

#include <cstring>
#include <nlohmann/json.hpp>

#include "base/base64.h"
#include "base/error.h"

namespace mms::api::openai {
namespace {

using nlohmann::json;
using Kind = EmbeddingInput::Kind;

// Stand-in image bytes: the codec only carries them; the model's decoder judges them.
const std::string kImageBytes = std::string("\x89PNG\r\n\x1a\n", 8) + "not really a png";
const std::string kDataUrl = "data:image/png;base64," + Base64Encode(kImageBytes);

EmbeddingsRequest Parse(const json& body, const InputLimits& limits = {}) {
  return ParseEmbeddingsRequest(body.dump(), limits);
}

json Body(const json& input) { return {{"model", "clip"}, {"input", input}}; }
// Body({a, b}) is always a list input, even of one object (nlohmann would take a braced
// single object as the object itself).
json Body(std::initializer_list<json> items) {
  json list = json::array();
  for (const auto& item : items) list.push_back(item);
  return Body(list);
}

// Parsing `body` fails with `code` and a message containing `part`.
void ExpectError(const std::string& body, ErrorCode code, const std::string& part, const InputLimits& limits = {}) {
  try {
    ParseEmbeddingsRequest(body, limits);
    ADD_FAILURE() << "no error for " << body.substr(0, 200);
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), code) << e.what();
    EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << "message: " << e.what();
  }
}
void ExpectError(const json& body, ErrorCode code, const std::string& part, const InputLimits& limits = {}) {
  ExpectError(body.dump(), code, part, limits);
}

TEST(OpenAICodec, SingleString) {
  const auto r = Parse(Body("a photo of a cat"));
  EXPECT_EQ(r.model, "clip");
  ASSERT_EQ(r.inputs.size(), 1u);
  EXPECT_EQ(r.inputs[0].kind, Kind::kText);
  EXPECT_EQ(r.inputs[0].text, "a photo of a cat");
  EXPECT_EQ(r.encoding_format, EncodingFormat::kFloat);
  EXPECT_FALSE(r.dimensions.has_value());
}

TEST(OpenAICodec, EmptyStringIsAText) {
  const auto r = Parse(Body(""));
  ASSERT_EQ(r.inputs.size(), 1u);
  EXPECT_EQ(r.inputs[0].kind, Kind::kText);
  EXPECT_EQ(r.inputs[0].text, "");
  EXPECT_EQ(Parse(Body({""})).inputs.size(), 1u);
}

TEST(OpenAICodec, ListOfStringsKeepsOrder) {
  const auto r = Parse(Body({"one", "two", "three"}));
  ASSERT_EQ(r.inputs.size(), 3u);
  EXPECT_EQ(r.inputs[0].text, "one");
  EXPECT_EQ(r.inputs[1].text, "two");
  EXPECT_EQ(r.inputs[2].text, "three");
}

TEST(OpenAICodec, EveryItemFormInOneList) {
  const json input = {
      "plain text",
      {{"type", "text"}, {"text", "typed text"}},
      {{"type", "image"}, {"image", kDataUrl}},
      {{"type", "image"}, {"image", Base64Encode(kImageBytes)}},  // bare base64
      {{"type", "image_url"}, {"image_url", {{"url", kDataUrl}}}},
      {{"type", "image_url"}, {"image_url", kDataUrl}},  // url given directly
      kDataUrl,                                           // a string that is an image data URL
  };
  const auto r = Parse(Body(input));
  ASSERT_EQ(r.inputs.size(), 7u);
  EXPECT_EQ(r.inputs[0].kind, Kind::kText);
  EXPECT_EQ(r.inputs[0].text, "plain text");
  EXPECT_EQ(r.inputs[1].kind, Kind::kText);
  EXPECT_EQ(r.inputs[1].text, "typed text");
  for (size_t i = 2; i < 7; ++i) {
    EXPECT_EQ(r.inputs[i].kind, Kind::kImage) << i;
    EXPECT_EQ(r.inputs[i].image, kImageBytes) << i;
  }
}

TEST(OpenAICodec, SingleStringDataUrlIsAnImage) {
  const auto r = Parse(Body(kDataUrl));
  ASSERT_EQ(r.inputs.size(), 1u);
  EXPECT_EQ(r.inputs[0].kind, Kind::kImage);
  EXPECT_EQ(r.inputs[0].image, kImageBytes);
}

TEST(OpenAICodec, TextThatOnlyMentionsDataIsAText) {
  const auto r = Parse(Body({"data: a table", "data:text/plain;base64,aGk="}));
  EXPECT_EQ(r.inputs[0].kind, Kind::kText);
  EXPECT_EQ(r.inputs[1].kind, Kind::kText);  // only image data URLs are images
}

TEST(OpenAICodec, DataUrlVariants) {
  const std::string b64 = Base64Encode(kImageBytes);
  EXPECT_EQ(DecodeImageReference("DATA:IMAGE/JPEG;BASE64," + b64, false, "x"), kImageBytes);
  EXPECT_EQ(DecodeImageReference("data:image/png;name=a.png;base64," + b64, false, "x"), kImageBytes);
  EXPECT_EQ(DecodeImageReference(b64, true, "x"), kImageBytes);
  EXPECT_TRUE(LooksLikeImageDataUrl("Data:Image/webp;base64,"));
  EXPECT_FALSE(LooksLikeImageDataUrl("data:text/plain;base64,"));
  EXPECT_FALSE(LooksLikeImageDataUrl("a photo"));
}

TEST(OpenAICodec, Options) {
  json body = Body("x");
  body["encoding_format"] = "base64";
  body["dimensions"] = 32;
  body["user"] = "someone";
  body["something_new"] = {1, 2};  // unknown fields are ignored
  auto r = Parse(body);
  EXPECT_EQ(r.encoding_format, EncodingFormat::kBase64);
  EXPECT_EQ(r.dimensions, 32);
  body["encoding_format"] = "float";
  body["dimensions"] = nullptr;  // null means "not given"
  r = Parse(body);
  EXPECT_EQ(r.encoding_format, EncodingFormat::kFloat);
  EXPECT_FALSE(r.dimensions.has_value());
  body["encoding_format"] = nullptr;
  EXPECT_EQ(Parse(body).encoding_format, EncodingFormat::kFloat);
}

TEST(OpenAICodec, MalformedBodies) {
  ExpectError(std::string("{\"model\":"), ErrorCode::kInvalidArgument, "not valid JSON");
  ExpectError(std::string(""), ErrorCode::kInvalidArgument, "not valid JSON");
  ExpectError(json::array({1}), ErrorCode::kInvalidArgument, "JSON object");
  ExpectError(json{{"input", "x"}}, ErrorCode::kInvalidArgument, "\"model\"");
  ExpectError(json{{"model", nullptr}, {"input", "x"}}, ErrorCode::kInvalidArgument, "\"model\"");
  ExpectError(json{{"model", 3}, {"input", "x"}}, ErrorCode::kInvalidArgument, "\"model\" must be");
  ExpectError(json{{"model", ""}, {"input", "x"}}, ErrorCode::kInvalidArgument, "\"model\" must be");
  ExpectError(json{{"model", "clip"}}, ErrorCode::kInvalidArgument, "\"input\"");
  ExpectError(Body(nullptr), ErrorCode::kInvalidArgument, "\"input\"");
}

// nlohmann refuses a number beyond a double's range with out_of_range, not parse_error: it
// escaped as a 500 (fuzz/corpus/openai_embeddings/crash-number-beyond-double).
TEST(OpenAICodec, NumberBeyondDoubleRangeIsABadRequest) {
  ExpectError(std::string(R"({"model":"clip","input":[-1e400]})"), ErrorCode::kInvalidArgument, "number too large");
  ExpectError(std::string(R"({"model":"clip","input":"x","dimensions":1e400})"), ErrorCode::kInvalidArgument,
              "number too large");
}

// Error messages are logged; a syntax error must not quote the texts (or image data) around it.
TEST(OpenAICodec, MalformedJsonMessageDoesNotQuoteTheInput) {
  const std::string body = "{\"model\":\"clip\",\"input\":\"my private caption\x01\"}";
  try {
    ParseEmbeddingsRequest(body, {});
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("not valid JSON (error at byte"), std::string::npos) << e.what();
    EXPECT_EQ(std::string(e.what()).find("private"), std::string::npos) << e.what();
  }
}

TEST(OpenAICodec, BadInputShapes) {
  ExpectError(Body(42), ErrorCode::kInvalidArgument, "input must be");
  ExpectError(Body(json{{"type", "text"}, {"text", "x"}}), ErrorCode::kInvalidArgument, "input must be");
  ExpectError(Body(json::array()), ErrorCode::kInvalidArgument, "empty list");
  ExpectError(Body({"ok", true}), ErrorCode::kInvalidArgument, "input[1] must be");
  ExpectError(Body({"ok", nullptr}), ErrorCode::kInvalidArgument, "input[1] must be");
}

TEST(OpenAICodec, TokenArraysAreRefused) {
  ExpectError(Body({49406, 320, 49407}), ErrorCode::kInvalidArgument, "token arrays are not supported");
  ExpectError(Body(json::array({json::array({49406, 49407}), json::array({1})})), ErrorCode::kInvalidArgument,
              "token arrays are not supported");
  ExpectError(Body(json::array({"text", json::array({1})})), ErrorCode::kInvalidArgument, "token arrays");
}

TEST(OpenAICodec, BadItems) {
  ExpectError(Body({json{{"text", "x"}}}), ErrorCode::kInvalidArgument, "input[0]: missing field \"type\"");
  ExpectError(Body({json{{"type", 1}}}), ErrorCode::kInvalidArgument, "input[0].type must be a string");
  ExpectError(Body({json{{"type", "audio"}}}), ErrorCode::kInvalidArgument, "expected \"text\", \"image\"");
  ExpectError(Body({json{{"type", "text"}}}), ErrorCode::kInvalidArgument, "missing field \"text\"");
  ExpectError(Body({json{{"type", "text"}, {"text", 5}}}), ErrorCode::kInvalidArgument, "input[0].text must be");
  ExpectError(Body({"a", json{{"type", "image"}}}), ErrorCode::kInvalidArgument, "input[1]: missing field \"image\"");
  ExpectError(Body({json{{"type", "image"}, {"image", 7}}}), ErrorCode::kInvalidArgument, ".image must be a string");
  ExpectError(Body({json{{"type", "image_url"}}}), ErrorCode::kInvalidArgument, "missing field \"image_url\"");
  ExpectError(Body({json{{"type", "image_url"}, {"image_url", json::object()}}}), ErrorCode::kInvalidArgument,
              "missing field \"url\"");
  ExpectError(Body({json{{"type", "image_url"}, {"image_url", {{"url", 1}}}}}), ErrorCode::kInvalidArgument,
              "image_url.url must be a string");
}

TEST(OpenAICodec, BadImageReferences) {
  const auto image_url = [](const std::string& url) { return Body({json{{"type", "image_url"}, {"image_url", {{"url", url}}}}}); };
  ExpectError(image_url("https://example.com/cat.png"), ErrorCode::kInvalidArgument, "remote image URLs are not fetched");
  ExpectError(Body({json{{"type", "image"}, {"image", "http://example.com/a.png"}}}), ErrorCode::kInvalidArgument,
              "remote image URLs");
  ExpectError(image_url(Base64Encode(kImageBytes)), ErrorCode::kInvalidArgument, "expected a data URL");
  ExpectError(image_url("data:text/plain;base64,aGk="), ErrorCode::kInvalidArgument, "expected an image/");
  ExpectError(image_url("data:;base64,aGk="), ErrorCode::kInvalidArgument, "expected an image/");
  ExpectError(image_url("data:image/png,%89PNG"), ErrorCode::kInvalidArgument, "must be base64-encoded");
  ExpectError(image_url("data:image/png;base64"), ErrorCode::kInvalidArgument, "no ','");
  ExpectError(Body({"x", "data:image/png;base64,!!!!"}), ErrorCode::kInvalidArgument, "input[1]: the image is not valid base64");
  ExpectError(Body({json{{"type", "image"}, {"image", "abc$"}}}), ErrorCode::kInvalidArgument, "not valid base64");
}

TEST(OpenAICodec, EmptyImageIsUnsupportedMedia) {
  ExpectError(Body({"data:image/png;base64,"}), ErrorCode::kUnsupportedMedia, "input[0]: the image is empty");
}

TEST(OpenAICodec, Limits) {
  InputLimits limits;
  limits.max_texts = 2;
  limits.max_text_chars = 3;
  limits.max_image_bytes = kImageBytes.size();
  EXPECT_EQ(Parse(Body({"abc", kDataUrl}), limits).inputs.size(), 2u);
  EXPECT_EQ(Parse(Body("\xc3\xa9\xc3\xa9\xc3\xa9"), limits).inputs.size(), 1u);  // 3 code points, 6 bytes
  ExpectError(Body({"a", "b", "c"}), ErrorCode::kInvalidArgument, "too many inputs: 3 (limit 2)", limits);
  ExpectError(Body({"ok", "abcd"}), ErrorCode::kInvalidArgument, "input[1]: the text has 4 characters; the limit is 3",
              limits);
  const std::string big = "data:image/png;base64," + Base64Encode(kImageBytes + "!");
  try {
    Parse(Body({"ok", big}), limits);
    ADD_FAILURE() << "no error for an image over the limit";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kTooLarge);
    EXPECT_NE(std::string(e.what()).find("input[1]: image is"), std::string::npos) << e.what();
  }
}

TEST(OpenAICodec, BadOptions) {
  json body = Body("x");
  body["encoding_format"] = "int8";
  ExpectError(body, ErrorCode::kInvalidArgument, "\"encoding_format\" is \"int8\"");
  body["encoding_format"] = 1;
  ExpectError(body, ErrorCode::kInvalidArgument, "\"encoding_format\"");
  body.erase("encoding_format");
  for (const json& bad : {json(0), json(-5), json(1.5), json("32")}) {
    body["dimensions"] = bad;
    ExpectError(body, ErrorCode::kInvalidArgument, "\"dimensions\" must be a positive integer");
  }
}

TEST(OpenAICodec, NormalizeL2) {
  std::vector<float> v = {3, 4};
  NormalizeL2(v);
  EXPECT_FLOAT_EQ(v[0], 0.6f);
  EXPECT_FLOAT_EQ(v[1], 0.8f);
  std::vector<float> zero = {0, 0, 0};
  NormalizeL2(zero);
  EXPECT_EQ(zero, std::vector<float>({0, 0, 0}));
}

TEST(OpenAICodec, Base64FloatsAreLittleEndianFloat32) {
  EXPECT_EQ(EncodeFloatsBase64({1.0f}), "AACAPw==");  // 0x3f800000 stored as 00 00 80 3f
  const std::vector<float> values = {0.25f, -1.5f, 3.0e-8f, 12345.678f};
  const auto bytes = Base64Decode(EncodeFloatsBase64(values));
  ASSERT_TRUE(bytes);
  ASSERT_EQ(bytes->size(), values.size() * 4);
  std::vector<float> back(values.size());
  std::memcpy(back.data(), bytes->data(), bytes->size());
  EXPECT_EQ(back, values);
}

TEST(OpenAICodec, EmbeddingsResponseFloat) {
  const std::vector<std::vector<float>> e = {{0.6f, 0.8f}, {1.0f, 0.0f}};
  const json r = json::parse(EmbeddingsResponseJson("clip", e, EncodingFormat::kFloat, 14));
  EXPECT_EQ(r["object"], "list");
  EXPECT_EQ(r["model"], "clip");
  EXPECT_EQ(r["usage"], json({{"prompt_tokens", 14}, {"total_tokens", 14}}));
  ASSERT_EQ(r["data"].size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(r["data"][i]["object"], "embedding");
    EXPECT_EQ(r["data"][i]["index"], i);
    ASSERT_EQ(r["data"][i]["embedding"].size(), 2u);
    for (size_t k = 0; k < 2; ++k) EXPECT_EQ(r["data"][i]["embedding"][k].get<float>(), e[i][k]);
  }
}

TEST(OpenAICodec, EmbeddingsResponseBase64) {
  const std::vector<std::vector<float>> e = {{0.1f, -0.2f, 0.3f}};
  const json r = json::parse(EmbeddingsResponseJson("m\"odel", e, EncodingFormat::kBase64, 0));
  EXPECT_EQ(r["model"], "m\"odel");  // escaped
  EXPECT_EQ(r["data"][0]["embedding"], EncodeFloatsBase64(e[0]));
  EXPECT_EQ(r["usage"]["prompt_tokens"], 0);
}

TEST(OpenAICodec, Models) {
  EXPECT_EQ(json::parse(ModelJson({"clip", 1700000000})),
            json({{"id", "clip"}, {"object", "model"}, {"created", 1700000000}, {"owned_by", "mmserve"}}));
  const json list = json::parse(ModelListJson({{"a", 0}, {"b", 0}}));
  EXPECT_EQ(list["object"], "list");
  ASSERT_EQ(list["data"].size(), 2u);
  EXPECT_EQ(list["data"][1]["id"], "b");
  EXPECT_EQ(json::parse(ModelListJson({})), json({{"object", "list"}, {"data", json::array()}}));
}

TEST(OpenAICodec, ErrorBodies) {
  const json e = json::parse(ErrorBody(400, "bad thing"));
  EXPECT_EQ(e, json({{"error", {{"message", "bad thing"}, {"type", "invalid_request_error"}, {"param", nullptr},
                                {"code", nullptr}}}}));
  EXPECT_STREQ(ErrorTypeFor(404), "not_found_error");
  EXPECT_STREQ(ErrorTypeFor(413), "invalid_request_error");
  EXPECT_STREQ(ErrorTypeFor(415), "invalid_request_error");
  EXPECT_STREQ(ErrorTypeFor(500), "server_error");
  EXPECT_STREQ(ErrorTypeFor(503), "server_error");
  // A message quoting a client's bytes that are not UTF-8 still makes a valid body.
  EXPECT_NO_THROW(json::parse(ErrorBody(400, "bad \xff byte")));
}

}  // namespace
}  // namespace mms::api::openai
