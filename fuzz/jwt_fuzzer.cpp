// Bearer credentials checked by the Authenticator with a fixed HS256 secret. The first
// byte picks what the rest is:
//   even: the token as the client sends it (any bytes after "Bearer ");
//   odd:  "<header JSON>\n<payload JSON>", which the harness signs with the secret, so
//         that claim checking (alg, exp, nbf, iss, aud, sub, models) is reached with any
//         JSON, as only a holder of the secret could send it.
#include "api/auth.h"
#include "fuzz_support.h"

namespace {

constexpr char kSecret[] = "fuzz-secret-fuzz-secret-fuzz-secret!";
constexpr int64_t kNow = 1'700'000'000;

const mms::api::Authenticator& TheAuthenticator() {
  static const mms::api::Authenticator auth = [] {
    mms::api::JwtOptions jwt;
    jwt.secret = kSecret;
    jwt.issuer = "mmserve-fuzz";
    jwt.audience = "clip-clients";
    // One API key, so that the key comparison runs before the token path as in production.
    std::unordered_map<std::string, mms::api::Principal> keys;
    mms::api::Principal key_client;
    key_client.authenticated = true;
    key_client.client = "key-client";
    keys["fuzz-api-key-0123456789"] = key_client;
    return mms::api::Authenticator(std::move(keys), std::move(jwt));
  }();
  return auth;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string_view rest = mms::fuzz::AsText(data + 1, size - 1);
  std::string token;
  if (data[0] % 2 == 0) {
    token = std::string(rest);
  } else {
    const size_t newline = rest.find('\n');
    if (newline == std::string_view::npos) return 0;
    using mms::api::Base64UrlEncode;
    const std::string signing_input =
        Base64UrlEncode(rest.substr(0, newline)) + "." + Base64UrlEncode(rest.substr(newline + 1));
    token = signing_input + "." + Base64UrlEncode(mms::api::HmacSha256(kSecret, signing_input));
  }
  mms::fuzz::ExpectCleanRefusal("Authenticator::Authenticate", [&] {
    const auto principal = TheAuthenticator().Authenticate("Bearer " + token, "", kNow);
    if (!principal.authenticated || principal.client.empty()) {
      mms::fuzz::Finding("Authenticator::Authenticate", "let a caller in without naming it");
    }
  });
  return 0;
}
