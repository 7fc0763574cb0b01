// Who is calling: API keys and HS256 JWT bearer tokens, checked before a route runs.
//
// Keys come from --api-keys-file, one per line: `KEY [CLIENT] [models=m1,m2] [scope=admin]`
// ('#' starts a comment). Tokens are signed with the secret in --jwt-secret-file; the
// subject names the client, `exp`/`nbf` are enforced, `iss`/`aud` when configured, a
// `models` claim (a list of names) scopes what the client may use, and a `scope` claim
// (OAuth's space-separated string) holding `admin` grants the administrative scope. A
// registered claim of the wrong JSON type is a 401, as is any other malformed token.
//
// Secrets (keys, the JWT secret) are never echoed in errors or logs; a secret that still
// holds the deployment files' placeholder marker is refused at start.
//
// Clients send either form as
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
  // The administrative scope (repository load/unload/index): granted by `scope=admin` on a
  // key's line or `admin` in a token's `scope` claim; everyone has it when authentication is off.
  bool admin = false;

  // Throws Error(kPermissionDenied) unless this caller may use `model`.
  void RequireModel(const std::string& model) const;
  // Throws Error(kPermissionDenied) unless this caller holds the administrative scope.
  void RequireAdmin() const;
};

// What the deployment files (deploy/k8s/secret.yaml) put where a real secret belongs. A
// key or secret containing it (any letter case) is refused, so an example file applied as
// it is cannot open the server to whoever read the example.
inline constexpr std::string_view kPlaceholderSecretMarker = "REPLACE-ME";
// Throws Error(kInvalidArgument) "<where>: ... placeholder ..." when `secret` holds the marker.
void RefusePlaceholderSecret(std::string_view secret, const std::string& where);
// The secret on the first line of `path` (surrounding blanks trimmed): at least 32 bytes
// (HMAC-SHA256 keys), not a placeholder. Errors name `flag` and the file, never the secret.
std::string ReadSecretFile(const std::string& path, const std::string& flag);

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
