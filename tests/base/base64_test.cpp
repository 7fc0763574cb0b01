#include "base/base64.h"

#include <gtest/gtest.h>

#include <random>

namespace mms {
namespace {

// RFC 4648 section 10 test vectors.
TEST(Base64, EncodesRfcVectors) {
  EXPECT_EQ(Base64Encode(""), "");
  EXPECT_EQ(Base64Encode("f"), "Zg==");
  EXPECT_EQ(Base64Encode("fo"), "Zm8=");
  EXPECT_EQ(Base64Encode("foo"), "Zm9v");
  EXPECT_EQ(Base64Encode("foob"), "Zm9vYg==");
  EXPECT_EQ(Base64Encode("fooba"), "Zm9vYmE=");
  EXPECT_EQ(Base64Encode("foobar"), "Zm9vYmFy");
}

TEST(Base64, DecodesRfcVectors) {
  EXPECT_EQ(Base64Decode(""), "");
  EXPECT_EQ(Base64Decode("Zg=="), "f");
  EXPECT_EQ(Base64Decode("Zm8="), "fo");
  EXPECT_EQ(Base64Decode("Zm9v"), "foo");
  EXPECT_EQ(Base64Decode("Zm9vYg=="), "foob");
  EXPECT_EQ(Base64Decode("Zm9vYmE="), "fooba");
  EXPECT_EQ(Base64Decode("Zm9vYmFy"), "foobar");
}

TEST(Base64, AcceptsMissingPaddingUrlSafeAlphabetAndLineBreaks) {
  EXPECT_EQ(Base64Decode("Zg"), "f");
  EXPECT_EQ(Base64Decode("Zm8"), "fo");
  EXPECT_EQ(Base64Decode("Zm9v\r\nYmFy\n"), "foobar");
  // 0xfb 0xff encodes as "+/8=" in the standard alphabet and "-_8" URL-safe.
  EXPECT_EQ(Base64Decode("+/8="), std::string("\xfb\xff"));
  EXPECT_EQ(Base64Decode("-_8"), std::string("\xfb\xff"));
}

TEST(Base64, RoundTripsEveryByteValueAndLength) {
  std::mt19937 rng(7);
  for (size_t n = 0; n < 70; ++n) {
    std::string bytes(n, '\0');
    for (auto& b : bytes) b = static_cast<char>(rng());
    const std::string encoded = Base64Encode(bytes);
    EXPECT_EQ(encoded.size() % 4, 0u);
    EXPECT_EQ(Base64Decode(encoded), bytes) << n;
  }
  std::string all;
  for (int i = 0; i < 256; ++i) all += static_cast<char>(i);
  EXPECT_EQ(Base64Decode(Base64Encode(all)), all);
}

TEST(Base64, RefusesInvalidInputAndSaysWhy) {
  std::string error;
  EXPECT_FALSE(Base64Decode("Zm9v!mFy", &error));
  EXPECT_NE(error.find("'!' at offset 4"), std::string::npos) << error;
  EXPECT_FALSE(Base64Decode("Zm 9v", &error));  // spaces are not line breaks
  EXPECT_FALSE(Base64Decode(std::string("Zm9\0v", 5), &error));
  EXPECT_NE(error.find("byte 0x00"), std::string::npos) << error;
  EXPECT_FALSE(Base64Decode("Z", &error));  // one symbol is not a whole byte
  EXPECT_NE(error.find("truncated"), std::string::npos) << error;
  EXPECT_FALSE(Base64Decode("Zm9vY", &error));
  EXPECT_FALSE(Base64Decode("Zg=a", &error));  // data after padding
  EXPECT_NE(error.find("after '='"), std::string::npos) << error;
  EXPECT_FALSE(Base64Decode("Zg===", &error));  // too much padding
  EXPECT_FALSE(Base64Decode("Zm8==", &error));
  EXPECT_FALSE(Base64Decode("====", &error));
  EXPECT_FALSE(Base64Decode("Zm9v=", &error));
  EXPECT_FALSE(Base64Decode("Zg==Zg==", &error));  // padding in the middle
  EXPECT_FALSE(Base64Decode("\xff\xfe", nullptr));  // no error pointer is fine
}

}  // namespace
}  // namespace mms
