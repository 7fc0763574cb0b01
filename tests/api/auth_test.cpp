// API keys and HS256 JWTs: known-answer checks of the primitives, then every way a
// credential can be wrong, each with the status it maps to.
#include "api/auth.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <functional>
#include <nlohmann/json.hpp>
#include <unistd.h>

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

// Any other exception (a JSON type error from a claim read as the wrong type) reaches
// the client as a 500: the status here says which.
int StatusOrCrash(const Authenticator& auth, const std::string& authorization) {
  try {
    auth.Authenticate(authorization, "", kNow);
    return 200;
  } catch (const Error& e) {
    return HttpStatusFor(e.code());
  } catch (...) {
    return 500;
  }
}

TEST(Auth, ClaimsOfTheWrongTypeAre401Never500) {
  const auto auth = Make("", "issuer-1", "mmserve");
  const auto plain = Make();  // no issuer or audience configured: the types are checked all the same
  const json good = {{"sub", "carol"}, {"exp", kNow + 60}, {"iss", "issuer-1"}, {"aud", "mmserve"}};
  ASSERT_EQ(StatusOrCrash(auth, "Bearer " + Token(good)), 200);
  const json wrong_values[] = {json::array({"HS256"}), json::object(), 256, nullptr, true};
  for (const char* claim : {"iss", "aud", "sub", "exp", "nbf", "models", "scope", "iat"}) {
    for (const json& v : wrong_values) {
      // A list of strings is a valid aud, scope and models.
      const std::string c = claim;
      if ((c == "aud" || c == "scope" || c == "models") && v.is_array()) continue;
      if ((c == "exp" || c == "nbf" || c == "iat") && v.is_number()) continue;
      json j = good;
      j[claim] = v;
      EXPECT_EQ(StatusOrCrash(auth, "Bearer " + Token(j)), 401) << claim << "=" << v.dump();
      EXPECT_EQ(StatusOrCrash(plain, "Bearer " + Token(j)), 401) << claim << "=" << v.dump() << " (nothing configured)";
    }
  }
  for (const json& alg : {json(256), json::array({"HS256"}), json::object(), json(nullptr)}) {
    EXPECT_EQ(StatusOrCrash(auth, "Bearer " + Token(good, kSecret, {{"alg", alg}})), 401) << alg.dump();
  }
  EXPECT_EQ(StatusOrCrash(auth, "Bearer " + Token(good, kSecret, {{"typ", "JWT"}})), 401);  // no alg at all
  // Times beyond int64 seconds would overflow when the leeway is added.
  json j = good;
  j["exp"] = 1e300;
  EXPECT_EQ(StatusOrCrash(auth, "Bearer " + Token(j)), 401);
  j["exp"] = 9223372036854775807LL;
  EXPECT_EQ(StatusOrCrash(auth, "Bearer " + Token(j)), 401);
  j = good;
  j["aud"] = json::array({"mmserve", 7});
  EXPECT_EQ(StatusOrCrash(auth, "Bearer " + Token(j)), 401);
}

TEST(Auth, AdminScopeFromKeysFileAndToken) {
  const auto auth = Make(
      "key-admin-aaaaaaaaaaaa ops scope=admin\n"
      "key-scoped-bbbbbbbbbbb svc models=clip\n"
      "key-both-ccccccccccccc scope=admin models=clip\n");
  const Principal ops = auth.Authenticate("Bearer key-admin-aaaaaaaaaaaa", "", kNow);
  EXPECT_TRUE(ops.admin);
  EXPECT_NO_THROW(ops.RequireAdmin());
  const Principal svc = auth.Authenticate("Bearer key-scoped-bbbbbbbbbbb", "", kNow);
  EXPECT_FALSE(svc.admin);
  try {
    svc.RequireAdmin();
    FAIL() << "a key scoped to models=clip may not administer the repository";
  } catch (const Error& e) {
    EXPECT_EQ(HttpStatusFor(e.code()), 403);
    EXPECT_NE(std::string(e.what()).find("svc"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("admin"), std::string::npos) << e.what();
  }
  const Principal both = auth.Authenticate("", "key-both-ccccccccccccc", kNow);
  EXPECT_TRUE(both.admin);
  EXPECT_EQ(both.client, "key@3");
  ASSERT_TRUE(both.models);

  const json token = {{"sub", "dave"}, {"exp", kNow + 60}};
  EXPECT_FALSE(auth.Authenticate("Bearer " + Token(token), "", kNow).admin);
  json admin_token = token;
  admin_token["scope"] = "openid admin profile";
  EXPECT_TRUE(auth.Authenticate("Bearer " + Token(admin_token), "", kNow).admin);
  admin_token["scope"] = json::array({"read", "admin"});
  EXPECT_TRUE(auth.Authenticate("Bearer " + Token(admin_token), "", kNow).admin);
  admin_token["scope"] = "administrator";
  EXPECT_FALSE(auth.Authenticate("Bearer " + Token(admin_token), "", kNow).admin);

  // Authentication off: everyone administers, as before the scope existed.
  const Principal anyone = Authenticator().Authenticate("", "", kNow);
  EXPECT_TRUE(anyone.admin);
  EXPECT_NO_THROW(anyone.RequireAdmin());

  EXPECT_THROW(ParseApiKeys("key-aaaaaaaaaaaaaaaa a scope=root\n", "k"), Error);
}

TEST(Auth, ErrorsNeverEchoAKey) {
  // Two keys pasted on one line: the second must not appear in the message.
  try {
    ParseApiKeys("key-aaaaaaaaaaaaaaaa client key-secret-zzzzzzzzzzzz\n", "keys.txt");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()).find("zzzz"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("keys.txt:1"), std::string::npos) << e.what();
  }
}

class SecretFileTest : public ::testing::Test {
 protected:
  std::string Write(const std::string& name, const std::string& text) {
    const std::string path = ::testing::TempDir() + "/mms_auth_" + std::to_string(::getpid()) + "_" + name;
    FILE* f = std::fopen(path.c_str(), "w");
    std::fputs(text.c_str(), f);
    std::fclose(f);
    paths_.push_back(path);
    return path;
  }
  ~SecretFileTest() override {
    for (const auto& p : paths_) std::remove(p.c_str());
  }
  static std::string ErrorOf(const std::function<void()>& f) {
    try {
      f();
    } catch (const Error& e) {
      return e.what();
    }
    return "";
  }
  std::vector<std::string> paths_;
};

// The placeholders of deploy/k8s/secret.yaml, applied as they are, must not start a server.
TEST_F(SecretFileTest, PlaceholderSecretsAreRefusedNamingTheFile) {
  const std::string keys = Write("keys", "# PLACEHOLDER\nREPLACE-ME-placeholder-key-0000000000 example-client\n");
  std::string what = ErrorOf([&] { Authenticator::FromFiles(keys, "", "", ""); });
  EXPECT_NE(what.find(keys + ":2"), std::string::npos) << what;
  EXPECT_NE(what.find("REPLACE-ME"), std::string::npos) << what;
  EXPECT_EQ(what.find("placeholder-key-0000000000"), std::string::npos) << what;  // the key itself is not echoed

  const std::string lower = Write("lower", "my-replace-me-key-000000000000\n");
  EXPECT_NE(ErrorOf([&] { Authenticator::FromFiles(lower, "", "", ""); }).find("placeholder"), std::string::npos);

  const std::string jwt = Write("jwt", "REPLACE-ME-placeholder-jwt-secret-at-least-32-bytes-long\n");
  what = ErrorOf([&] { Authenticator::FromFiles("", jwt, "", ""); });
  EXPECT_NE(what.find(jwt), std::string::npos) << what;
  EXPECT_NE(what.find("REPLACE-ME"), std::string::npos) << what;
}

TEST_F(SecretFileTest, ShortJwtSecretIsRefusedWithoutEchoingIt) {
  const std::string jwt = Write("short", "tooshort-secret-31-bytes-xxxxxx\n");
  const std::string what = ErrorOf([&] { Authenticator::FromFiles("", jwt, "", ""); });
  EXPECT_NE(what.find("at least 32"), std::string::npos) << what;
  EXPECT_NE(what.find(jwt), std::string::npos) << what;
  EXPECT_EQ(what.find("tooshort"), std::string::npos) << what;
  const std::string ok = Write("ok", "  " + kSecret + "  \nsecond line ignored\n");
  EXPECT_TRUE(Authenticator::FromFiles("", ok, "", "").enabled());
  EXPECT_EQ(ReadSecretFile(ok, "jwt-secret-file"), kSecret);
}

}  // namespace
}  // namespace mms::api
