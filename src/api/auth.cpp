#include "api/auth.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <nlohmann/json.hpp>
#include <sstream>
#include <vector>

#include "base/base64.h"
#include "base/file_util.h"

namespace mms::api {

namespace {

[[noreturn]] void Unauthenticated(const std::string& why) { throw Error(ErrorCode::kUnauthenticated, why); }

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

std::set<std::string> SplitModels(std::string_view list) {
  std::set<std::string> models;
  size_t start = 0;
  while (start <= list.size()) {
    const size_t comma = list.find(',', start);
    const auto name = Trim(list.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start));
    if (!name.empty()) models.emplace(name);
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return models;
}

// Keys and signatures are compared in constant time, so that response timing does not
// reveal how many leading bytes of a guess were right.
bool SecureEquals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string FirstLine(const std::string& text) { return text.substr(0, text.find('\n')); }

}  // namespace

void Principal::RequireAdmin() const {
  if (!authenticated || admin) return;
  throw Error(ErrorCode::kPermissionDenied,
              "client \"" + client + "\" lacks the admin scope needed to load, unload or list repository models");
}

void RefusePlaceholderSecret(std::string_view secret, const std::string& where) {
  std::string upper(secret);
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (upper.find(kPlaceholderSecretMarker) == std::string::npos) return;
  ThrowInvalidArgument(where + ": holds the placeholder marker \"" + std::string(kPlaceholderSecretMarker) +
                       "\" from the example deployment files; put a real secret there (e.g. openssl rand -hex 32)");
}

std::string ReadSecretFile(const std::string& path, const std::string& flag) {
  const std::string secret(Trim(FirstLine(ReadFileBytes(path))));
  if (secret.size() < 32) {
    ThrowInvalidArgument("--" + flag + " " + path + ": the secret on its first line is " + std::to_string(secret.size()) +
                         " bytes; an HMAC-SHA256 key must be at least 32 bytes (e.g. openssl rand -hex 32)");
  }
  RefusePlaceholderSecret(secret, "--" + flag + " " + path);
  return secret;
}

void Principal::RequireModel(const std::string& model) const {
  if (!models || models->count(model)) return;
  throw Error(ErrorCode::kPermissionDenied,
              "client \"" + client + "\" is not allowed to use model \"" + model + "\"");
}

std::string HmacSha256(std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (!HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()),
            data.size(), out, &len)) {
    ThrowInternal("HMAC-SHA256 failed");
  }
  return std::string(reinterpret_cast<const char*>(out), len);
}

std::string Base64UrlEncode(std::string_view bytes) {
  std::string s = Base64Encode(bytes);
  while (!s.empty() && s.back() == '=') s.pop_back();
  for (char& c : s) {
    if (c == '+') c = '-';
    if (c == '/') c = '_';
  }
  return s;
}

std::unordered_map<std::string, Principal> ParseApiKeys(std::string_view text, const std::string& source) {
  std::unordered_map<std::string, Principal> keys;
  std::istringstream in{std::string(text)};
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (const size_t hash = line.find('#'); hash != std::string::npos) line.erase(hash);
    std::istringstream fields(line);
    std::string key, word;
    if (!(fields >> key)) continue;
    const std::string where = source + ":" + std::to_string(number);
    if (key.size() < 16) ThrowInvalidArgument(where + ": API key is shorter than 16 characters");
    RefusePlaceholderSecret(key, where + ": API key");
    Principal p;
    p.authenticated = true;
    int field = 1;
    while (fields >> word) {
      ++field;
      if (word.rfind("models=", 0) == 0) {
        p.models = SplitModels(std::string_view(word).substr(7));
      } else if (word.rfind("scope=", 0) == 0) {
        for (const auto& scope : SplitModels(std::string_view(word).substr(6))) {
          if (scope != "admin") ThrowInvalidArgument(where + ": unknown scope \"" + scope + "\" (known: admin)");
          p.admin = true;
        }
      } else if (p.client.empty()) {
        p.client = word;
      } else {
        // Not echoed: a stray field may be a second key pasted onto the line.
        ThrowInvalidArgument(where + ": unexpected field " + std::to_string(field) +
                             " (expected KEY [CLIENT] [models=a,b] [scope=admin])");
      }
    }
    // A key without a name is logged by its line, never by its value.
    if (p.client.empty()) p.client = "key@" + std::to_string(number);
    if (!keys.emplace(key, std::move(p)).second) ThrowInvalidArgument(where + ": duplicate API key");
  }
  return keys;
}

Authenticator::Authenticator(std::unordered_map<std::string, Principal> keys, JwtOptions jwt)
    : keys_(std::move(keys)), jwt_(std::move(jwt)) {}

Authenticator Authenticator::FromFiles(const std::string& api_keys_file, const std::string& jwt_secret_file,
                                       const std::string& jwt_issuer, const std::string& jwt_audience) {
  std::unordered_map<std::string, Principal> keys;
  if (!api_keys_file.empty()) {
    keys = ParseApiKeys(ReadFileBytes(api_keys_file), api_keys_file);
    if (keys.empty()) ThrowInvalidArgument(api_keys_file + ": no API key in the file");
  }
  JwtOptions jwt;
  jwt.issuer = jwt_issuer;
  jwt.audience = jwt_audience;
  if (!jwt_secret_file.empty()) jwt.secret = ReadSecretFile(jwt_secret_file, "jwt-secret-file");
  return Authenticator(std::move(keys), std::move(jwt));
}

Principal Authenticator::Authenticate(std::string_view authorization, std::string_view api_key_header,
                                      int64_t now_unix) const {
  if (!enabled()) {
    Principal anyone;
    anyone.admin = true;  // no authentication: nothing to restrict administration to
    return anyone;
  }
  std::string_view credential;
  bool from_bearer = false;
  if (!api_key_header.empty()) {
    credential = Trim(api_key_header);
  } else if (!authorization.empty()) {
    constexpr std::string_view kBearer = "Bearer ";
    if (authorization.size() <= kBearer.size() ||
        !std::equal(kBearer.begin(), kBearer.end(), authorization.begin(),
                    [](char a, char b) { return std::tolower(a) == std::tolower(b); })) {
      Unauthenticated("the Authorization header must be \"Bearer <API key or token>\"");
    }
    credential = Trim(authorization.substr(kBearer.size()));
    from_bearer = true;
  } else {
    Unauthenticated("credentials required: send \"Authorization: Bearer <API key or token>\" or \"X-API-Key: <key>\"");
  }
  for (const auto& [key, principal] : keys_) {
    if (SecureEquals(key, credential)) return principal;
  }
  // Three dot-separated parts: a JWT, when tokens are accepted.
  if (from_bearer && !jwt_.secret.empty() && std::count(credential.begin(), credential.end(), '.') == 2) {
    return VerifyJwt(credential, now_unix);
  }
  Unauthenticated("invalid API key");
}

Principal Authenticator::VerifyJwt(std::string_view token, int64_t now_unix) const {
  const size_t dot1 = token.find('.'), dot2 = token.find('.', dot1 + 1);
  const std::string_view header_b64 = token.substr(0, dot1), payload_b64 = token.substr(dot1 + 1, dot2 - dot1 - 1);
  const std::string_view signature_b64 = token.substr(dot2 + 1);
  const auto header_json = Base64Decode(header_b64), payload_json = Base64Decode(payload_b64);
  const auto signature = Base64Decode(signature_b64);
  if (!header_json || !payload_json || !signature) Unauthenticated("malformed token: a part is not base64url");
  nlohmann::json header, payload;
  try {
    header = nlohmann::json::parse(*header_json);
    payload = nlohmann::json::parse(*payload_json);
  } catch (const nlohmann::json::exception&) {
    Unauthenticated("malformed token: header or payload is not JSON");
  }
  if (!header.is_object() || !payload.is_object()) Unauthenticated("malformed token: header and payload must be objects");
  // Only HS256: a token must not choose its own verification ("none", or another key type).
  const auto alg = header.find("alg");
  if (alg == header.end() || !alg->is_string() || *alg != "HS256") Unauthenticated("token algorithm must be HS256");
  const std::string signing_input(token.substr(0, dot2));
  if (!SecureEquals(HmacSha256(jwt_.secret, signing_input), *signature)) Unauthenticated("token signature is invalid");

  // Every registered claim that is present must have its JSON type, whether or not this
  // server checks its value: a wrong type is a bad token (401), never a server error.
  auto string_claim = [&](const char* name) -> std::optional<std::string> {
    const auto it = payload.find(name);
    if (it == payload.end()) return std::nullopt;
    if (!it->is_string()) Unauthenticated(std::string("token claim \"") + name + "\" must be a string");
    return it->get<std::string>();
  };
  auto time_claim = [&](const char* name) -> std::optional<int64_t> {
    const auto it = payload.find(name);
    if (it == payload.end()) return std::nullopt;
    if (!it->is_number()) Unauthenticated(std::string("token claim \"") + name + "\" must be a number");
    // Seconds since 1970 within ±10^12 (31,000 years): converting anything larger to
    // int64, or adding the leeway to it, would overflow.
    const double v = it->get<double>();
    if (!(std::fabs(v) <= 1e12)) Unauthenticated(std::string("token claim \"") + name + "\" is out of range");
    return static_cast<int64_t>(v);
  };
  const auto exp = time_claim("exp");
  const auto nbf = time_claim("nbf");
  time_claim("iat");
  const auto iss = string_claim("iss");
  const auto sub = string_claim("sub");
  // `scope`: OAuth's space-separated string; some issuers write a list of strings instead.
  std::vector<std::string> scopes;
  if (const auto it = payload.find("scope"); it != payload.end()) {
    if (it->is_string()) {
      std::istringstream words(it->get<std::string>());
      for (std::string word; words >> word;) scopes.push_back(word);
    } else if (it->is_array()) {
      for (const auto& w : *it) {
        if (!w.is_string()) Unauthenticated("token claim \"scope\" must be a string or a list of strings");
        scopes.push_back(w.get<std::string>());
      }
    } else {
      Unauthenticated("token claim \"scope\" must be a string or a list of strings");
    }
  }
  std::vector<std::string> audiences;
  if (const auto aud = payload.find("aud"); aud != payload.end()) {
    if (aud->is_string()) {
      audiences.push_back(aud->get<std::string>());
    } else if (aud->is_array()) {
      for (const auto& a : *aud) {
        if (!a.is_string()) Unauthenticated("token claim \"aud\" must be a string or a list of strings");
        audiences.push_back(a.get<std::string>());
      }
    } else {
      Unauthenticated("token claim \"aud\" must be a string or a list of strings");
    }
  }

  if (!exp) Unauthenticated("token has no \"exp\" claim");
  if (now_unix > *exp + jwt_.leeway_seconds) Unauthenticated("token has expired");
  if (nbf && now_unix + jwt_.leeway_seconds < *nbf) Unauthenticated("token is not valid yet (nbf)");
  if (!jwt_.issuer.empty() && iss != jwt_.issuer) Unauthenticated("token issuer is not accepted");
  if (!jwt_.audience.empty() && std::find(audiences.begin(), audiences.end(), jwt_.audience) == audiences.end()) {
    Unauthenticated("token audience is not accepted");
  }
  Principal p;
  p.authenticated = true;
  if (!sub || sub->empty()) Unauthenticated("token has no \"sub\" claim naming the client");
  p.client = *sub;
  p.admin = std::find(scopes.begin(), scopes.end(), "admin") != scopes.end();
  if (const auto models = payload.find("models"); models != payload.end()) {
    if (!models->is_array()) Unauthenticated("token claim \"models\" must be a list of model names");
    p.models.emplace();
    for (const auto& m : *models) {
      if (!m.is_string()) Unauthenticated("token claim \"models\" must be a list of model names");
      p.models->insert(m.get<std::string>());
    }
  }
  return p;
}

}  // namespace mms::api
