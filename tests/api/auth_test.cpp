// API keys and HS256 JWTs: known-answer checks of the primitives, then every way a
// credential can be wrong, each with the status it maps to.
#include "api/auth.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "api/error_mapping.h"

namespace mms::api {
namespace {

using nlohmann::json;

std::string Hex(const std::string& bytes) {
  static const char* d = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out += d[c >> 4];
    out += d[c & 15];
  }
  return out;
}

constexpr int64_t kNow = 1'800'000'000;
const std::string kSecret = "0123456789abcdef0123456789abcdef-secret";

std::string Token(const json& payload, const std::string& secret = kSecret, const json& header = {{"alg", "HS256"}, {"typ", "JWT"}}) {
  const std::string input = Base64UrlEncode(header.dump()) + "." + Base64UrlEncode(payload.dump());
  return input + "." + Base64UrlEncode(HmacSha256(secret, input));
}

Authenticator Make(const std::string& keys_text = "", const std::string& issuer = "", const std::string& audience = "") {
  JwtOptions jwt;
  jwt.secret = kSecret;
  jwt.issuer = issuer;
  jwt.audience = audience;
  return Authenticator(ParseApiKeys(keys_text, "keys.txt"), jwt);
}

// The status the error maps to, or 200 when it authenticates.
int StatusOf(const Authenticator& auth, const std::string& authorization, const std::string& api_key = "") {
  try {
    auth.Authenticate(authorization, api_key, kNow);
    return 200;
  } catch (const Error& e) {
    return HttpStatusFor(e.code());
  }
}

TEST(Auth, HmacSha256KnownAnswer) {
  // RFC 4231, test case 2.
  EXPECT_EQ(Hex(HmacSha256("Jefe", "what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(Auth, VerifiesATokenSignedElsewhere) {
  // The widely published HS256 example token (secret "your-256-bit-secret"). It has no
  // exp, so it is refused for that reason: the signature itself checked out.
  JwtOptions jwt;
  jwt.secret = "your-256-bit-secret";
  const Authenticator auth({}, jwt);
  const std::string token =
      "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ."
      "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c";
  try {
    auth.Authenticate("Bearer " + token, "", kNow);
    FAIL();
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "token has no \"exp\" claim");
  }
  std::string tampered = token;
  tampered[tampered.size() - 2] = tampered[tampered.size() - 2] == 'A' ? 'B' : 'A';
  EXPECT_EQ(StatusOf(auth, "Bearer " + tampered), 401);
}

TEST(Auth, DisabledLetsEveryoneIn) {
  const Authenticator auth;
  EXPECT_FALSE(auth.enabled());
  const Principal p = auth.Authenticate("", "", kNow);
  EXPECT_FALSE(p.authenticated);
  EXPECT_NO_THROW(p.RequireModel("anything"));
}

TEST(Auth, ApiKeysByBearerOrHeader) {
  const auto auth = Make("# clients\nkey-aaaaaaaaaaaaaaaa alice\nkey-bbbbbbbbbbbbbbbb bob models=clip,other\n\nkey-cccccccccccccccc\n");
  const Principal a = auth.Authenticate("Bearer key-aaaaaaaaaaaaaaaa", "", kNow);
  EXPECT_EQ(a.client, "alice");
  EXPECT_FALSE(a.models);
  const Principal b = auth.Authenticate("", "key-bbbbbbbbbbbbbbbb", kNow);
  EXPECT_EQ(b.client, "bob");
  EXPECT_NO_THROW(b.RequireModel("clip"));
  try {
    b.RequireModel("secret-model");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(HttpStatusFor(e.code()), 403);
  }
  EXPECT_EQ(auth.Authenticate("bearer key-cccccccccccccccc", "", kNow).client, "key@5");
  EXPECT_EQ(StatusOf(auth, ""), 401);
  EXPECT_EQ(StatusOf(auth, "Bearer wrong-key-000000000"), 401);
  EXPECT_EQ(StatusOf(auth, "Basic a2V5OnZhbHVl"), 401);
  EXPECT_EQ(StatusOf(auth, "", "key-aaaaaaaaaaaaaaa"), 401);  // one character short
}

TEST(Auth, ApiKeysFileErrorsNameTheLine) {
  try {
    ParseApiKeys("key-aaaaaaaaaaaaaaaa a\nshort\n", "keys.txt");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("keys.txt:2"), std::string::npos) << e.what();
  }
  EXPECT_THROW(ParseApiKeys("key-aaaaaaaaaaaaaaaa a\nkey-aaaaaaaaaaaaaaaa b\n", "k"), Error);
  EXPECT_THROW(ParseApiKeys("key-aaaaaaaaaaaaaaaa a b\n", "k"), Error);
}

TEST(Auth, JwtClaims) {
  const auto auth = Make("", "issuer-1", "mmserve");
  const json good = {{"sub", "carol"}, {"exp", kNow + 60}, {"iss", "issuer-1"}, {"aud", "mmserve"}, {"models", {"clip"}}};
  const Principal p = auth.Authenticate("Bearer " + Token(good), "", kNow);
  EXPECT_EQ(p.client, "carol");
  ASSERT_TRUE(p.models);
  EXPECT_EQ(*p.models, std::set<std::string>{"clip"});

  auto with = [&](const char* key, const json& value) {
    json j = good;
    j[key] = value;
    return "Bearer " + Token(j);
  };
  EXPECT_EQ(StatusOf(auth, with("aud", json::array({"x", "mmserve"}))), 200);
  EXPECT_EQ(StatusOf(auth, with("exp", kNow - 31)), 401);   // past the 30 s leeway
  EXPECT_EQ(StatusOf(auth, with("exp", kNow - 10)), 200);   // within it
  EXPECT_EQ(StatusOf(auth, with("nbf", kNow + 300)), 401);
  EXPECT_EQ(StatusOf(auth, with("iss", "someone-else")), 401);
  EXPECT_EQ(StatusOf(auth, with("aud", "other")), 401);
  EXPECT_EQ(StatusOf(auth, with("sub", "")), 401);
  EXPECT_EQ(StatusOf(auth, with("models", "clip")), 401);
  EXPECT_EQ(StatusOf(auth, "Bearer " + Token(good, "another-secret-another-secret-123")), 401);
  EXPECT_EQ(StatusOf(auth, "Bearer " + Token(good, kSecret, {{"alg", "none"}})), 401);
  EXPECT_EQ(StatusOf(auth, "Bearer " + Token(good, kSecret, {{"alg", "HS512"}})), 401);
  EXPECT_EQ(StatusOf(auth, "Bearer a.b.c"), 401);
  EXPECT_EQ(StatusOf(auth, "Bearer !!.??.**"), 401);
}

}  // namespace
}  // namespace mms::api
