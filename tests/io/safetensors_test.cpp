#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "base/error.h"
#include "io/checkpoint.h"
#include "io/safetensors.h"

namespace mms::io {
namespace {

namespace fs = std::filesystem;

class SafetensorsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("mms_st_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string Path(const std::string& name) const { return (dir_ / name).string(); }
  void WriteBytes(const std::string& name, const std::string& bytes) const {
    std::ofstream(Path(name), std::ios::binary) << bytes;
  }
  // Expects an Error(kInvalidModel) whose message contains every one of `parts`.
  template <typename F>
  void ExpectInvalidModel(F&& f, std::initializer_list<std::string> parts) {
    try {
      f();
      FAIL() << "no error";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kInvalidModel);
      for (const auto& p : parts) EXPECT_NE(std::string(e.what()).find(p), std::string::npos) << e.what() << " lacks " << p;
    }
  }
  fs::path dir_;
};

Tensor Filled(std::vector<int64_t> shape, float start) {
  Tensor t = Tensor::Empty(shape, DType::kF32);
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = start + i;
  return t;
}

TEST_F(SafetensorsTest, RoundTripAndConversion) {
  Tensor a = Filled({2, 3}, 1.0f);
  Tensor h = Tensor::Empty({2}, DType::kBF16);
  h.data<uint16_t>()[0] = FloatToBFloat16(1.5f);
  h.data<uint16_t>()[1] = FloatToBFloat16(-2.0f);
  WriteSafetensors(Path("model.safetensors"), {{"a", &a}, {"h", &h}});
  Checkpoint ckpt = Checkpoint::Open(dir_.string());
  Tensor got = ckpt.Float32("a", {2, 3});
  for (int i = 0; i < 6; ++i) EXPECT_EQ(got.data<float>()[i], 1.0f + i);
  Tensor hf = ckpt.Float32("h", {2});
  EXPECT_EQ(hf.data<float>()[0], 1.5f);
  EXPECT_EQ(hf.data<float>()[1], -2.0f);
}

// Int8 weights as `mmserve quantize` writes them: "<name>" I8 with per-row scales in
// "<name>_scale" F32.
TEST_F(SafetensorsTest, Int8TensorsWithScales) {
  Tensor q = Tensor::Empty({2, 3}, DType::kI8);
  const int8_t values[] = {1, -2, 127, -127, 0, 64};
  std::memcpy(q.raw(), values, sizeof(values));
  Tensor scales = Filled({2}, 0.5f);  // 0.5, 1.5
  Tensor odd = Tensor::Empty({2, 3}, DType::kI8);
  std::memcpy(odd.raw(), values, sizeof(values));
  Tensor bad_scale = Filled({3}, 1.0f);
  WriteSafetensors(Path("model.safetensors"),
                   {{"w", &q}, {"w_scale", &scales}, {"no_scale", &odd}, {"bad", &odd}, {"bad_scale", &bad_scale}});
  const Checkpoint ckpt = Checkpoint::Open(dir_.string());
  EXPECT_TRUE(ckpt.IsInt8("w"));
  EXPECT_FALSE(ckpt.IsInt8("w_scale"));
  const Int8Tensor t = ckpt.Int8("w", {2, 3});
  EXPECT_EQ(std::memcmp(t.values.raw(), values, sizeof(values)), 0);
  EXPECT_EQ(t.scales.data<float>()[1], 1.5f);
  const Tensor f = ckpt.Float32("w", {2, 3});  // dequantized, row by row
  const float expected[] = {0.5f, -1.0f, 63.5f, -190.5f, 0.0f, 96.0f};
  for (int i = 0; i < 6; ++i) EXPECT_EQ(f.data<float>()[i], expected[i]) << i;
  ExpectInvalidModel([&] { ckpt.Float32("no_scale", {2, 3}); }, {"no_scale_scale", "missing"});
  ExpectInvalidModel([&] { ckpt.Int8("bad", {2, 3}); }, {"bad_scale", "F32 [2]"});
  ExpectInvalidModel([&] { ckpt.Int8("w_scale", {2}); }, {"w_scale", "expected I8"});
}

TEST_F(SafetensorsTest, Float16Conversion) {
  EXPECT_EQ(HalfToFloat(0x3c00), 1.0f);
  EXPECT_EQ(HalfToFloat(0xc000), -2.0f);
  EXPECT_EQ(HalfToFloat(0x0001), std::ldexp(1.0f, -24));  // smallest subnormal
  EXPECT_TRUE(std::isinf(HalfToFloat(0x7c00)));
}

TEST_F(SafetensorsTest, WrongShapeNamesTensorAndFile) {
  Tensor a = Filled({2, 3}, 0);
  WriteSafetensors(Path("model.safetensors"), {{"layer.weight", &a}});
  Checkpoint ckpt = Checkpoint::Open(dir_.string());
  ExpectInvalidModel([&] { ckpt.Float32("layer.weight", {3, 2}); }, {"layer.weight", "model.safetensors", "[2, 3]"});
  ExpectInvalidModel([&] { ckpt.Float32("missing.weight", {1}); }, {"missing.weight"});
}

TEST_F(SafetensorsTest, WrongDtypeIsRejected) {
  Tensor ids = Tensor::Zeros({4}, DType::kI64);
  WriteSafetensors(Path("model.safetensors"), {{"ids", &ids}});
  Checkpoint ckpt = Checkpoint::Open(dir_.string());
  ExpectInvalidModel([&] { ckpt.Float32("ids", {4}); }, {"ids", "I64"});
}

TEST_F(SafetensorsTest, TruncatedFile) {
  Tensor a = Filled({64}, 0);
  WriteSafetensors(Path("full.safetensors"), {{"a", &a}});
  std::ifstream in(Path("full.safetensors"), std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), {});
  WriteBytes("model.safetensors", bytes.substr(0, bytes.size() - 10));
  ExpectInvalidModel([&] { Checkpoint::Open(dir_.string()); }, {"model.safetensors", "\"a\"", "truncated"});
  WriteBytes("model.safetensors", bytes.substr(0, 20));
  ExpectInvalidModel([&] { Checkpoint::Open(dir_.string()); }, {"model.safetensors", "header length"});
  WriteBytes("model.safetensors", "abc");
  ExpectInvalidModel([&] { Checkpoint::Open(dir_.string()); }, {"too short"});
}

TEST_F(SafetensorsTest, CorruptHeader) {
  std::string header = "{not json";
  std::string bytes(8, '\0');
  bytes[0] = static_cast<char>(header.size());
  WriteBytes("model.safetensors", bytes + header);
  ExpectInvalidModel([&] { Checkpoint::Open(dir_.string()); }, {"not valid JSON"});
  header = R"({"x":{"dtype":"Q7","shape":[1],"data_offsets":[0,4]}})";
  bytes.assign(8, '\0');
  bytes[0] = static_cast<char>(header.size());
  WriteBytes("model.safetensors", bytes + header + "abcd");
  ExpectInvalidModel([&] { Checkpoint::Open(dir_.string()); }, {"\"x\"", "dtype"});
  header = R"({"x":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}})";
  bytes[0] = static_cast<char>(header.size());
  WriteBytes("model.safetensors", bytes + header + "abcd");
  ExpectInvalidModel([&] { Checkpoint::Open(dir_.string()); }, {"\"x\"", "needs 8"});
}

// A header whose JSON is `header`, then `data`.
std::string SafetensorsBytes(const std::string& header, const std::string& data) {
  std::string bytes(8, '\0');
  for (int i = 0; i < 8; ++i) bytes[i] = static_cast<char>(static_cast<uint64_t>(header.size()) >> (8 * i));
  return bytes + header + data;
}

// The attack of issue 9: [2^62, 64] F32 needs 2^70 bytes, which wraps to 0 in 64 bits and
// so "matched" an empty data span; the model then read past a 64-byte buffer.
TEST_F(SafetensorsTest, ShapeWhoseSizeOverflowsIsRefused) {
  const std::string data(64, 'x');
  WriteBytes("model.safetensors",
             SafetensorsBytes(R"({"big":{"dtype":"F32","shape":[4611686018427387904,64],"data_offsets":[64,64]},)"
                              R"("small":{"dtype":"F32","shape":[16],"data_offsets":[0,64]}})",
                              data));
  ExpectInvalidModel([&] { Checkpoint::Open(dir_.string()); }, {"model.safetensors", "\"big\"", "overflows 64 bits"});
  // The element count alone fits, the bytes do not: 2^62 × 4.
  WriteBytes("model.safetensors",
             SafetensorsBytes(R"({"big":{"dtype":"F32","shape":[4611686018427387904],"data_offsets":[0,0]}})", ""));
  ExpectInvalidModel([&] { Checkpoint::Open(dir_.string()); }, {"\"big\"", "overflows 64 bits"});
  // A dimension past INT64_MAX would become negative in the tensor's shape.
  WriteBytes("model.safetensors",
             SafetensorsBytes(R"({"neg":{"dtype":"I8","shape":[18446744073709551615],"data_offsets":[0,0]}})", ""));
  ExpectInvalidModel([&] { Checkpoint::Open(dir_.string()); }, {"\"neg\"", "bad dimension"});
}

TEST_F(SafetensorsTest, TensorsSharingBytesAreRefused) {
  WriteBytes("model.safetensors", SafetensorsBytes(R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},)"
                                                   R"("b":{"dtype":"F32","shape":[4],"data_offsets":[8,24]}})",
                                                   std::string(24, '\0')));
  ExpectInvalidModel([&] { Checkpoint::Open(dir_.string()); }, {"model.safetensors", "\"a\"", "\"b\"", "overlap", "byte offset"});
}

TEST_F(SafetensorsTest, HugeHeaderIsRefusedBeforeParsing) {
  // A sparse file: 101 MiB of header length costs no disk, and must not be parsed.
  const uint64_t header_len = (100ull << 20) + 1;
  std::string len(8, '\0');
  for (int i = 0; i < 8; ++i) len[i] = static_cast<char>(header_len >> (8 * i));
  WriteBytes("model.safetensors", len);
  fs::resize_file(Path("model.safetensors"), 8 + header_len + 8);
  ExpectInvalidModel([&] { Checkpoint::Open(dir_.string()); }, {"model.safetensors", "header length", "limit"});
}

TEST_F(SafetensorsTest, ATensorInTwoShardsIsRefused) {
  Tensor a = Filled({2}, 1), b = Filled({2}, 5);
  WriteSafetensors(Path("one.safetensors"), {{"a", &a}});
  WriteSafetensors(Path("two.safetensors"), {{"a", &b}, {"b", &b}});
  WriteBytes("model.safetensors.index.json", R"({"weight_map":{"a":"one.safetensors","b":"two.safetensors"}})");
  ExpectInvalidModel([&] { Checkpoint::Open(dir_.string()); }, {"\"a\"", "one.safetensors", "two.safetensors"});
}

TEST_F(SafetensorsTest, MissingWeights) {
  ExpectInvalidModel([&] { Checkpoint::Open(dir_.string()); }, {"model.safetensors"});
  WriteBytes("pytorch_model.bin", "x");
  ExpectInvalidModel([&] { Checkpoint::Open(dir_.string()); }, {"pytorch_model.bin"});
}

TEST_F(SafetensorsTest, ShardedIndex) {
  Tensor a = Filled({2}, 1), b = Filled({3}, 10);
  WriteSafetensors(Path("model-00001-of-00002.safetensors"), {{"a", &a}});
  WriteSafetensors(Path("model-00002-of-00002.safetensors"), {{"b", &b}});
  WriteBytes("model.safetensors.index.json",
             R"({"metadata":{},"weight_map":{"a":"model-00001-of-00002.safetensors","b":"model-00002-of-00002.safetensors"}})");
  Checkpoint ckpt = Checkpoint::Open(dir_.string());
  EXPECT_EQ(ckpt.Float32("b", {3}).data<float>()[2], 12.0f);
  EXPECT_EQ(ckpt.Float32("a", {2}).data<float>()[0], 1.0f);

  WriteBytes("model.safetensors.index.json", R"({"weight_map":{"a":"model-00001-of-00002.safetensors","c":"model-00002-of-00002.safetensors"}})");
  ExpectInvalidModel([&] { Checkpoint::Open(dir_.string()); }, {"\"c\"", "00002"});
  WriteBytes("model.safetensors.index.json", R"({"weight_map":{"a":"gone.safetensors"}})");
  ExpectInvalidModel([&] { Checkpoint::Open(dir_.string()); }, {"gone.safetensors"});
}

}  // namespace
}  // namespace mms::io
