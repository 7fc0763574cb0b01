// Who is calling: API keys and HS256 JWT bearer tokens, checked before a route runs.
//
// Keys come from --api-keys-file, one per line: `KEY [CLIENT] [models=m1,m2]` ('#' starts
// a comment). Tokens are signed with the secret in --jwt-secret-file; the subject names
// the client, `exp`/`nbf` are enforced, `iss`/`aud` when configured, and a `models` claim
// (a list of names) scopes what the client may use. Clients send either form as
// `Authorization: Bearer <key or token>` (what OpenAI and KServe clients do) or a key as
// `X-API-Key: <key>`.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>

#include "base/error.h"

namespace mms::api {

struct Principal {
  bool authenticated = false;  // false: authentication is off, the caller is anonymous
  std::string client;          // key's client name, token's subject
  std::optional<std::set<std::string>> models;  // nullopt: every model

  // Throws Error(kPermissionDenied) unless this caller may use `model`.
  void RequireModel(const std::string& model) const;
};

struct JwtOptions {
  std::string secret;    // HMAC-SHA256 key; empty: tokens are not accepted
  std::string issuer;    // required `iss` when not empty
  std::string audience;  // required in `aud` (a string or a list) when not empty
  int64_t leeway_seconds = 30;  // clock skew allowed on exp and nbf
};

class Authenticator {
 public:
  // No keys and no JWT secret: every request is let in anonymously.
  Authenticator() = default;
  Authenticator(std::unordered_map<std::string, Principal> keys, JwtOptions jwt);
  // Reads the files (either path may be empty). Errors name the file and line.
  static Authenticator FromFiles(const std::string& api_keys_file, const std::string& jwt_secret_file,
                                 const std::string& jwt_issuer, const std::string& jwt_audience);

  bool enabled() const { return !keys_.empty() || !jwt_.secret.empty(); }

  // The caller named by the request's headers (empty view: header absent). Throws
  // Error(kUnauthenticated) saying what was wrong, without echoing the credential.
  Principal Authenticate(std::string_view authorization, std::string_view api_key_header, int64_t now_unix) const;

 private:
  Principal VerifyJwt(std::string_view token, int64_t now_unix) const;

  std::unordered_map<std::string, Principal> keys_;
  JwtOptions jwt_;
};

// Parses the API keys file's text (exposed for tests); `source` names it in errors.
std::unordered_map<std::string, Principal> ParseApiKeys(std::string_view text, const std::string& source);

// HMAC-SHA256 of `data` with `key` (raw 32 bytes).
std::string HmacSha256(std::string_view key, std::string_view data);

// Base64url without padding, as JWTs use.
std::string Base64UrlEncode(std::string_view bytes);

}  // namespace mms::api
