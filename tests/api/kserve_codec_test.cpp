// The KServe request parser and response encoder, fed request bodies written the way
// Triton's protocol documents them (and tritonclient / curl users send them).
#include "api/kserve_codec.h"

#include <gtest/gtest.h>

#include <cstring>
#include <functional>
#include <limits>
#include <nlohmann/json.hpp>

#include "base/base64.h"
#include "base/error.h"

namespace mms::api::kserve {
namespace {

using nlohmann::json;
using namespace std::string_literals;

const InputLimits kLimits;

InferRequest Parse(const std::string& body) { return ParseInferRequest(body, std::nullopt, kLimits); }

// Binary form of a BYTES tensor: each element a 4-byte little-endian length, then its bytes.
std::string BinaryBytes(const std::vector<std::string>& elements) {
  std::string out;
  for (const auto& e : elements) {
    const uint32_t n = static_cast<uint32_t>(e.size());
    for (int i = 0; i < 4; ++i) out += static_cast<char>((n >> (8 * i)) & 0xff);
    out += e;
  }
  return out;
}

// A request of JSON header + binary tail, as tritonclient.http builds it.
InferRequest ParseBinary(const json& header, const std::string& tail) {
  const std::string h = header.dump();
  return ParseInferRequest(h + tail, std::to_string(h.size()), kLimits);
}

void ExpectError(const std::function<void()>& fn, ErrorCode code, const std::string& part) {
  try {
    fn();
    ADD_FAILURE() << "no error; expected one containing \"" << part << "\"";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), code) << e.what();
    EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what();
  }
}

void ExpectBadRequest(const std::string& body, const std::string& part) {
  ExpectError([&] { Parse(body); }, ErrorCode::kInvalidArgument, part);
}

std::string Names(const InferRequest& r) {
  std::string s;
  for (const auto& o : r.outputs) s += (s.empty() ? "" : ",") + o.name + (o.binary ? "(b)" : "");
  return s;
}

const std::string kPng = std::string("\x89PNG\r\n\x1a\n", 8) + std::string("\0\xff\x10 data", 8);

TEST(KServeRequest, JsonImageAndTextWithEveryOutputByDefault) {
  const json body = {
      {"id", "req-7"},
      {"inputs",
       {{{"name", "IMAGE"}, {"datatype", "BYTES"}, {"shape", {1}}, {"data", {Base64Encode(kPng)}}},
        {{"name", "TEXT"}, {"datatype", "BYTES"}, {"shape", {2}}, {"data", {"a cat", "un chien \xc3\xa9"}}}}}};
  const InferRequest r = Parse(body.dump());
  EXPECT_EQ(r.id, "req-7");
  ASSERT_TRUE(r.images);
  ASSERT_EQ(r.images->size(), 1u);
  EXPECT_EQ((*r.images)[0], kPng);
  EXPECT_EQ(r.texts, (std::vector<std::string>{"a cat", "un chien \xc3\xa9"}));
  EXPECT_EQ(Names(r), "IMAGE_EMBEDS,TEXT_EMBEDS,LOGITS_PER_IMAGE,PROBS");
  EXPECT_FALSE(r.timeout);
}

TEST(KServeRequest, OneInputAllowsOnlyItsEmbeddings) {
  const InferRequest texts = Parse(R"({"inputs":[{"name":"TEXT","datatype":"BYTES","shape":[1],"data":["x"]}]})");
  EXPECT_FALSE(texts.images);
  EXPECT_FALSE(texts.id);
  EXPECT_EQ(Names(texts), "TEXT_EMBEDS");
  const InferRequest images =
      Parse(R"({"inputs":[{"name":"IMAGE","datatype":"BYTES","shape":[1],"data":[")" + Base64Encode("img") + "\"]}]}");
  EXPECT_FALSE(images.texts);
  EXPECT_EQ(Names(images), "IMAGE_EMBEDS");
}

TEST(KServeRequest, AnyShapeWithTheRightElementCountAndNestedData) {
  for (const char* shape : {"[3]", "[3,1]", "[1,3]", "[1,3,1]"}) {
    const InferRequest r = Parse(std::string(R"({"inputs":[{"name":"TEXT","datatype":"BYTES","shape":)") + shape +
                                 R"(,"data":["a","b","c"]}]})");
    EXPECT_EQ(r.texts, (std::vector<std::string>{"a", "b", "c"})) << shape;
  }
  const InferRequest nested =
      Parse(R"({"inputs":[{"name":"TEXT","datatype":"BYTES","shape":[2,2],"data":[["a","b"],["c","d"]]}]})");
  EXPECT_EQ(nested.texts, (std::vector<std::string>{"a", "b", "c", "d"}));
  const InferRequest scalar = Parse(R"({"inputs":[{"name":"TEXT","datatype":"BYTES","shape":[],"data":["s"]}]})");
  EXPECT_EQ(scalar.texts, (std::vector<std::string>{"s"}));
}

TEST(KServeRequest, OutputsSelectOrderAndBinaryFlags) {
  const std::string inputs = R"("inputs":[{"name":"TEXT","datatype":"BYTES","shape":[1],"data":["t"]},)"
                             R"({"name":"IMAGE","datatype":"BYTES","shape":[1],"data":["aW1n"]}])";
  EXPECT_EQ(Names(Parse("{" + inputs + R"(,"outputs":[{"name":"PROBS"},{"name":"TEXT_EMBEDS"}]})")),
            "PROBS,TEXT_EMBEDS");
  EXPECT_EQ(Names(Parse("{" + inputs + R"(,"outputs":[{"name":"PROBS","parameters":{"binary_data":true}},)"
                                       R"({"name":"LOGITS_PER_IMAGE","parameters":{"binary_data":false}}]})")),
            "PROBS(b),LOGITS_PER_IMAGE");
  // Request-level binary_data_output applies to every output that does not say otherwise.
  EXPECT_EQ(Names(Parse("{" + inputs + R"(,"parameters":{"binary_data_output":true},)"
                                       R"("outputs":[{"name":"PROBS"},{"name":"IMAGE_EMBEDS","parameters":{"binary_data":false}}]})")),
            "PROBS(b),IMAGE_EMBEDS");
  EXPECT_EQ(Names(Parse("{" + inputs + R"(,"parameters":{"binary_data_output":true}})")),
            "IMAGE_EMBEDS(b),TEXT_EMBEDS(b),LOGITS_PER_IMAGE(b),PROBS(b)");
  EXPECT_EQ(Names(Parse("{" + inputs + R"(,"outputs":[]})")), "IMAGE_EMBEDS,TEXT_EMBEDS,LOGITS_PER_IMAGE,PROBS");
}

TEST(KServeRequest, TimeoutIsMicroseconds) {
  const std::string inputs = R"("inputs":[{"name":"TEXT","datatype":"BYTES","shape":[1],"data":["t"]}])";
  const InferRequest r = Parse(R"({"parameters":{"timeout":250000,"priority":1},)" + inputs + "}");
  ASSERT_TRUE(r.timeout);
  EXPECT_EQ(r.timeout->count(), 250000);
  EXPECT_FALSE(Parse(R"({"parameters":{"timeout":0},)" + inputs + "}").timeout);  // 0: the model's default
  ExpectBadRequest(R"({"parameters":{"timeout":-1},)" + inputs + "}", "timeout");
  ExpectBadRequest(R"({"parameters":{"timeout":"1s"},)" + inputs + "}", "timeout");
  ExpectBadRequest(R"({"parameters":{"binary_data_output":1},)" + inputs + "}", "binary_data_output");
  ExpectBadRequest(R"({"parameters":[],)" + inputs + "}", "\"parameters\" must be an object");
}

TEST(KServeRequest, BinaryInputsFollowTheJsonHeaderInInputOrder) {
  const std::string png2 = "second\0image"s;
  const json header = {
      {"inputs",
       {{{"name", "IMAGE"}, {"datatype", "BYTES"}, {"shape", {2, 1}},
         {"parameters", {{"binary_data_size", BinaryBytes({kPng, png2}).size()}}}},
        {{"name", "TEXT"}, {"datatype", "BYTES"}, {"shape", {1}}, {"parameters", {{"binary_data_size", 9}}}}}},
      {"outputs", {{{"name", "PROBS"}, {"parameters", {{"binary_data", true}}}}}}};
  const InferRequest r = ParseBinary(header, BinaryBytes({kPng, png2}) + BinaryBytes({"a dog"}));
  ASSERT_TRUE(r.images);
  EXPECT_EQ(*r.images, (std::vector<std::string>{kPng, png2}));  // raw bytes, no base64
  EXPECT_EQ(r.texts, (std::vector<std::string>{"a dog"}));
  EXPECT_EQ(Names(r), "PROBS(b)");
}

TEST(KServeRequest, BinaryAndJsonInputsMix) {
  const json header = {
      {"inputs",
       {{{"name", "TEXT"}, {"datatype", "BYTES"}, {"shape", {1}}, {"data", {"json text"}}},
        {{"name", "IMAGE"}, {"datatype", "BYTES"}, {"shape", {1}},
         {"parameters", {{"binary_data_size", 4 + kPng.size()}}}}}}};
  const InferRequest r = ParseBinary(header, BinaryBytes({kPng}));
  EXPECT_EQ(*r.images, std::vector<std::string>{kPng});
  EXPECT_EQ(*r.texts, std::vector<std::string>{"json text"});
  // The header length may also cover the whole body when nothing is binary.
  const std::string plain = R"({"inputs":[{"name":"TEXT","datatype":"BYTES","shape":[1],"data":["x"]}]})";
  EXPECT_EQ(*ParseInferRequest(plain, std::to_string(plain.size()), kLimits).texts, std::vector<std::string>{"x"});
}

TEST(KServeRequest, BinarySizesThatDoNotAddUpAreRefused) {
  auto header = [](size_t size) {
    return json{{"inputs", {{{"name", "TEXT"}, {"datatype", "BYTES"}, {"shape", {1}},
                             {"parameters", {{"binary_data_size", size}}}}}}};
  };
  const std::string one = BinaryBytes({"abc"});  // 7 bytes
  auto bad = [&](const json& h, const std::string& tail, const std::string& part) {
    ExpectError([&] { ParseBinary(h, tail); }, ErrorCode::kInvalidArgument, part);
  };
  bad(header(7), one + "xx", "2 bytes of binary data follow");
  bad(header(9), one, "\"binary_data_size\" is 9 but only 7 bytes");
  bad(header(3), "abc", "ends inside the 4-byte length");
  bad(header(6), one.substr(0, 6), "declares 3 bytes but only 2 remain");
  bad(header(14), one + one, "has 2 elements but its shape [1] holds 1");
  bad(header(0), "", "has 0 elements");
  bad(json{{"inputs", {{{"name", "TEXT"}, {"datatype", "BYTES"}, {"shape", {1}}, {"data", {"a"}},
                        {"parameters", {{"binary_data_size", 7}}}}}}},
      one, "both \"data\" and \"binary_data_size\"");
  bad(json{{"inputs", {{{"name", "TEXT"}, {"datatype", "BYTES"}, {"shape", {1}},
                        {"parameters", {{"binary_data_size", -1}}}}}}},
      "", "non-negative integer");
  // binary_data_size without the header that says where the JSON ends
  ExpectBadRequest(header(7).dump(), "no Inference-Header-Content-Length header");
}

TEST(KServeRequest, HeaderLengthMustBeANumberWithinTheBody) {
  const std::string body = R"({"inputs":[]})";
  ExpectError([&] { ParseInferRequest(body, "100", kLimits); }, ErrorCode::kInvalidArgument,
              "Inference-Header-Content-Length is 100 but the body has only 13 bytes");
  for (const char* v : {"", "abc", "-1", "12x", " 5", "99999999999999999999999"}) {
    ExpectError([&] { ParseInferRequest(body, v, kLimits); }, ErrorCode::kInvalidArgument, "must be a byte count");
  }
  // A header length that cuts the JSON short leaves invalid JSON.
  ExpectError([&] { ParseInferRequest(body, "5", kLimits); }, ErrorCode::kInvalidArgument, "not valid JSON");
}

TEST(KServeRequest, MalformedJsonSaysWhereAndHintsAtTheBinaryHeader) {
  ExpectBadRequest("", "not valid JSON");
  ExpectBadRequest("{\"inputs\": [", "not valid JSON (error at byte");
  ExpectBadRequest("{\"inputs\":[]}\x01\x02\x03", "needs the Inference-Header-Content-Length header");
  ExpectBadRequest("[1,2]", "must be a JSON object");
  ExpectBadRequest("{}", "no \"inputs\" list");
  ExpectBadRequest(R"({"inputs":{}})", "\"inputs\" must be a list");
  ExpectBadRequest(R"({"inputs":[]})", "\"inputs\" is empty");
  ExpectBadRequest(R"({"id":5,"inputs":[]})", "\"id\" must be a string");
}

// nlohmann refuses a number beyond a double's range with out_of_range, not parse_error: it
// escaped as a 500 quoting the number (fuzz/corpus/kserve_*/crash-number-beyond-double).
TEST(KServeRequest, NumberBeyondDoubleRangeIsABadRequest) {
  ExpectBadRequest(R"({"inputs":1e400})", "number too large");
  ExpectError([&] { ParseInferRequest("{\"inputs\":[-1e400]}", "19", kLimits); }, ErrorCode::kInvalidArgument,
              "number too large");
}

TEST(KServeRequest, EachInputDefectIsNamed) {
  auto input = [](const std::string& fields) { return R"({"inputs":[)" + fields + "]}"; };
  ExpectBadRequest(input("7"), "inputs[0] must be an object");
  ExpectBadRequest(input(R"({"datatype":"BYTES","shape":[1],"data":["a"]})"), "inputs[0] has no \"name\"");
  ExpectBadRequest(input(R"({"name":"INPUT0","datatype":"BYTES","shape":[1],"data":["a"]})"),
                   "unknown input 'INPUT0'; this model takes IMAGE and TEXT");
  ExpectBadRequest(input(R"({"name":"TEXT","shape":[1],"data":["a"]})"), "input 'TEXT' has no \"datatype\"");
  ExpectBadRequest(input(R"({"name":"TEXT","datatype":"FP32","shape":[1],"data":[1.0]})"),
                   "input 'TEXT' has datatype \"FP32\"; it must be \"BYTES\"");
  ExpectBadRequest(input(R"({"name":"TEXT","datatype":"BYTES","data":["a"]})"), "input 'TEXT' has no \"shape\"");
  ExpectBadRequest(input(R"({"name":"TEXT","datatype":"BYTES","shape":3,"data":["a"]})"), "list of integers");
  ExpectBadRequest(input(R"({"name":"TEXT","datatype":"BYTES","shape":[-1],"data":["a"]})"), "invalid dimension -1");
  ExpectBadRequest(input(R"({"name":"TEXT","datatype":"BYTES","shape":[1.5],"data":["a"]})"), "invalid dimension 1.5");
  ExpectBadRequest(input(R"({"name":"TEXT","datatype":"BYTES","shape":[1099511627776,1099511627776],"data":["a"]})"),
                   "too large");
  ExpectBadRequest(input(R"({"name":"TEXT","datatype":"BYTES","shape":[1]})"), "has no \"data\"");
  ExpectBadRequest(input(R"({"name":"TEXT","datatype":"BYTES","shape":[1],"data":"a"})"), "\"data\" must be a list");
  ExpectBadRequest(input(R"({"name":"TEXT","datatype":"BYTES","shape":[2],"data":["a"]})"),
                   "input 'TEXT' has 1 elements but its shape [2] holds 2");
  ExpectBadRequest(input(R"({"name":"TEXT","datatype":"BYTES","shape":[2],"data":["a",3]})"),
                   "element 1 of \"data\" is not a string");
  ExpectBadRequest(input(R"({"name":"TEXT","datatype":"BYTES","shape":[0],"data":[]})"), "has no elements");
  ExpectBadRequest(input(R"({"name":"TEXT","datatype":"BYTES","shape":[1],"data":["a"],"parameters":5})"),
                   "\"parameters\" must be an object");
  ExpectBadRequest(input(R"({"name":"TEXT","datatype":"BYTES","shape":[1],"data":["a"]},)"
                         R"({"name":"TEXT","datatype":"BYTES","shape":[1],"data":["b"]})"),
                   "input 'TEXT' is given twice");
  std::string deep = "\"a\"";
  for (int i = 0; i < 40; ++i) deep = "[" + deep + "]";
  ExpectBadRequest(input(R"({"name":"TEXT","datatype":"BYTES","shape":[1],"data":)" + deep + "}"), "nested too deeply");
}

TEST(KServeRequest, ImagesMustBeBase64InJsonAndNotEmpty) {
  auto image = [](const std::string& data) {
    return R"({"inputs":[{"name":"IMAGE","datatype":"BYTES","shape":[2],"data":[")" + Base64Encode("ok") + "\",\"" +
           data + "\"]}]}";
  };
  ExpectBadRequest(image("not base64!"), "input 'IMAGE' element 1 is not valid base64 (invalid character ' ' at offset 3)");
  ExpectBadRequest(image("not base64!"), "base64-encoded image files");
  ExpectBadRequest(image(""), "input 'IMAGE' element 1 is empty");
  EXPECT_EQ((*Parse(image(Base64Encode("two"))).images)[1], "two");
}

TEST(KServeRequest, InputLimitsApply) {
  InputLimits limits;
  limits.max_image_bytes = 4;
  limits.max_texts = 2;
  limits.max_text_chars = 3;
  auto parse = [&](const std::string& body) { return ParseInferRequest(body, std::nullopt, limits); };
  ExpectError([&] { parse(R"({"inputs":[{"name":"IMAGE","datatype":"BYTES","shape":[1],"data":[")" +
                          Base64Encode("12345") + "\"]}]}"); },
              ErrorCode::kTooLarge, "input 'IMAGE' element 0: image is 5 bytes; the limit is 4");
  ExpectError([&] { parse(R"({"inputs":[{"name":"TEXT","datatype":"BYTES","shape":[3],"data":["a","b","c"]}]})"); },
              ErrorCode::kInvalidArgument, "input 'TEXT': too many texts");
  ExpectError([&] { parse(R"({"inputs":[{"name":"TEXT","datatype":"BYTES","shape":[1],"data":["abcd"]}]})"); },
              ErrorCode::kInvalidArgument, "input 'TEXT': text 0 has 4 characters");
  EXPECT_NO_THROW(parse(R"({"inputs":[{"name":"TEXT","datatype":"BYTES","shape":[1],"data":["abc"]}]})"));
}

TEST(KServeRequest, OutputDefectsAreNamed) {
  const std::string text_only = R"("inputs":[{"name":"TEXT","datatype":"BYTES","shape":[1],"data":["t"]}])";
  auto outputs = [&](const std::string& list) { return "{" + text_only + R"(,"outputs":)" + list + "}"; };
  ExpectBadRequest(outputs(R"([{"name":"OUTPUT0"}])"),
                   "unknown output 'OUTPUT0'; this model's outputs are IMAGE_EMBEDS, TEXT_EMBEDS");
  ExpectBadRequest(outputs(R"([{"name":"PROBS"}])"), "output 'PROBS' needs the input both IMAGE and TEXT");
  ExpectBadRequest(outputs(R"([{"name":"IMAGE_EMBEDS"}])"), "output 'IMAGE_EMBEDS' needs the input IMAGE");
  ExpectBadRequest(outputs(R"([{"name":"TEXT_EMBEDS"},{"name":"TEXT_EMBEDS"}])"), "requested twice");
  ExpectBadRequest(outputs(R"([{"name":"TEXT_EMBEDS","parameters":{"classification":3}}])"),
                   "classification extension is not supported");
  ExpectBadRequest(outputs(R"([{"name":"TEXT_EMBEDS","parameters":{"binary_data":"yes"}}])"),
                   "\"binary_data\" must be true or false");
  ExpectBadRequest(outputs(R"([{"parameters":{}}])"), "outputs[0] has no \"name\"");
  ExpectBadRequest(outputs(R"(["TEXT_EMBEDS"])"), "outputs[0] must be an object");
  ExpectBadRequest(outputs(R"({"name":"TEXT_EMBEDS"})"), "\"outputs\" must be a list");
}

// ---- responses ----

InferRequest RequestFor(std::vector<OutputRequest> outputs, std::optional<std::string> id = {}) {
  InferRequest r;
  r.outputs = std::move(outputs);
  r.id = std::move(id);
  return r;
}

std::map<std::string, Matrix> SampleResults() {
  return {{"PROBS", {1, 3, {0.25f, 0.5f, 0.25f}}}, {"TEXT_EMBEDS", {3, 2, {1.5f, -2.0f, 0.1f, 3e-8f, 7.0f, 8.0f}}}};
}

TEST(KServeResponse, JsonOutputsCarryShapeAndExactFloats) {
  const auto out = EncodeInferResponse(RequestFor({{"TEXT_EMBEDS", false}, {"PROBS", false}}, "abc"), "clip", 3,
                                       SampleResults());
  EXPECT_FALSE(out.has_binary);
  EXPECT_EQ(out.json_length, out.body.size());
  const json j = json::parse(out.body);
  EXPECT_EQ(j["model_name"], "clip");
  EXPECT_EQ(j["model_version"], "3");
  EXPECT_EQ(j["id"], "abc");
  ASSERT_EQ(j["outputs"].size(), 2u);
  EXPECT_EQ(j["outputs"][0]["name"], "TEXT_EMBEDS");
  EXPECT_EQ(j["outputs"][0]["datatype"], "FP32");
  EXPECT_EQ(j["outputs"][0]["shape"], json({3, 2}));
  const auto data = j["outputs"][0]["data"].get<std::vector<float>>();
  EXPECT_EQ(data, (std::vector<float>{1.5f, -2.0f, 0.1f, 3e-8f, 7.0f, 8.0f}));
  EXPECT_EQ(j["outputs"][1]["name"], "PROBS");
  EXPECT_EQ(j["outputs"][1]["shape"], json({1, 3}));
  EXPECT_FALSE(j["outputs"][1].contains("parameters"));
}

TEST(KServeResponse, NoIdWhenTheRequestHadNone) {
  const auto out = EncodeInferResponse(RequestFor({{"PROBS", false}}), "m\"x", 1, SampleResults());
  const json j = json::parse(out.body);
  EXPECT_FALSE(j.contains("id"));
  EXPECT_EQ(j["model_name"], "m\"x");  // escaped
}

TEST(KServeResponse, BinaryOutputsFollowTheJsonInOrder) {
  const auto out = EncodeInferResponse(RequestFor({{"TEXT_EMBEDS", true}, {"PROBS", false}}), "clip", 1, SampleResults());
  ASSERT_TRUE(out.has_binary);
  const json j = json::parse(out.body.substr(0, out.json_length));
  EXPECT_FALSE(j["outputs"][0].contains("data"));
  EXPECT_EQ(j["outputs"][0]["parameters"]["binary_data_size"], 24);
  EXPECT_EQ(j["outputs"][1]["data"].size(), 3u);
  ASSERT_EQ(out.body.size(), out.json_length + 24);
  std::vector<float> floats(6);
  std::memcpy(floats.data(), out.body.data() + out.json_length, 24);
  EXPECT_EQ(floats, SampleResults()["TEXT_EMBEDS"].values);
  // Little-endian: 1.5f is 0x3fc00000.
  EXPECT_EQ(out.body.substr(out.json_length, 4), std::string("\x00\x00\xc0\x3f", 4));

  const auto two = EncodeInferResponse(RequestFor({{"PROBS", true}, {"TEXT_EMBEDS", true}}), "clip", 1, SampleResults());
  ASSERT_EQ(two.body.size(), two.json_length + 12 + 24);
  float first;
  std::memcpy(&first, two.body.data() + two.json_length + 4, 4);
  EXPECT_EQ(first, 0.5f);
  std::memcpy(&first, two.body.data() + two.json_length + 12, 4);
  EXPECT_EQ(first, 1.5f);
}

TEST(KServeResponse, NonFiniteValuesAreNullInJson) {
  std::map<std::string, Matrix> r = {{"PROBS", {1, 2, {std::numeric_limits<float>::quiet_NaN(), 1.0f}}}};
  const json j = json::parse(EncodeInferResponse(RequestFor({{"PROBS", false}}), "m", 1, r).body);
  EXPECT_TRUE(j["outputs"][0]["data"][0].is_null());
}

TEST(KServeResponse, AnOutputNotComputedIsAnInternalError) {
  ExpectError([] { EncodeInferResponse(RequestFor({{"IMAGE_EMBEDS", false}}), "m", 1, SampleResults()); },
              ErrorCode::kInternal, "IMAGE_EMBEDS");
}

TEST(KServeResponse, MatrixFromRowsFlattensRowMajor) {
  const Matrix m = MatrixFromRows({{1, 2, 3}, {4, 5, 6}}, 3);
  EXPECT_EQ(m.rows, 2);
  EXPECT_EQ(m.cols, 3);
  EXPECT_EQ(m.values, (std::vector<float>{1, 2, 3, 4, 5, 6}));
  EXPECT_EQ(MatrixFromRows({}, 5).values.size(), 0u);
  EXPECT_THROW(MatrixFromRows({{1, 2}, {3}}, 2), Error);
}

TEST(KServeCodec, RoundTripOfABinaryRequestAndResponse) {
  // What a tritonclient user does: binary IMAGE in, binary PROBS out.
  const json header = {
      {"id", "42"},
      {"inputs",
       {{{"name", "IMAGE"}, {"datatype", "BYTES"}, {"shape", {1}},
         {"parameters", {{"binary_data_size", 4 + kPng.size()}}}},
        {{"name", "TEXT"}, {"datatype", "BYTES"}, {"shape", {3}}, {"data", {"a", "b", "c"}}}}},
      {"outputs", {{{"name", "PROBS"}, {"parameters", {{"binary_data", true}}}}}}};
  const InferRequest r = ParseBinary(header, BinaryBytes({kPng}));
  const auto out = EncodeInferResponse(r, "clip", 2, SampleResults());
  const json j = json::parse(out.body.substr(0, out.json_length));
  EXPECT_EQ(j["id"], "42");
  EXPECT_EQ(j["outputs"].size(), 1u);
  EXPECT_EQ(out.body.size() - out.json_length, j["outputs"][0]["parameters"]["binary_data_size"].get<size_t>());
}

}  // namespace
}  // namespace mms::api::kserve
