// mmserve reports failures with one exception type that carries a category.
// The category decides the HTTP status (in one place: api/error_mapping) and the
// CLI exit code; the message says what failed and where (file, tensor, field).
#pragma once

#include <stdexcept>
#include <string>

namespace mms {

enum class ErrorCode {
  kInvalidArgument,   // malformed request or input value           -> 400
  kNotFound,          // unknown model, version, file                -> 404
  kTooLarge,          // input over a configured limit               -> 413
  kUnsupportedMedia,  // an image/audio format we cannot decode      -> 415
  kUnauthenticated,   // no or bad credentials                       -> 401
  kPermissionDenied,  // valid credentials, not for this model       -> 403
  kRateLimited,       // over the client's request rate              -> 429
  kUnavailable,       // not ready, queue full, breaker open         -> 503
  kTimeout,           // waited longer than allowed                  -> 504
  kInvalidModel,      // checkpoint files missing or inconsistent    -> 500 at load
  kInternal,          // a bug or resource failure                   -> 500
};

class Error : public std::runtime_error {
 public:
  Error(ErrorCode code, const std::string& message) : std::runtime_error(message), code_(code) {}
  ErrorCode code() const { return code_; }

 private:
  ErrorCode code_;
};

// Short helpers so that throw sites stay one line.
[[noreturn]] inline void ThrowInvalidArgument(const std::string& m) { throw Error(ErrorCode::kInvalidArgument, m); }
[[noreturn]] inline void ThrowInvalidModel(const std::string& m) { throw Error(ErrorCode::kInvalidModel, m); }
[[noreturn]] inline void ThrowUnsupportedMedia(const std::string& m) { throw Error(ErrorCode::kUnsupportedMedia, m); }
[[noreturn]] inline void ThrowInternal(const std::string& m) { throw Error(ErrorCode::kInternal, m); }

const char* ErrorCodeName(ErrorCode code);

}  // namespace mms
