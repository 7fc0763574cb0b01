// Base64 (RFC 4648) for binary blobs carried in JSON, e.g. encoded images in a KServe
// request. Decoding accepts what common encoders produce: the standard alphabet or the
// URL-safe one (-_), with or without '=' padding, with line breaks (MIME-style output
// wraps at 76 columns). Anything else is refused rather than skipped, so corrupt input
// is reported instead of silently turning into a different image.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace mms {

// Standard alphabet with '=' padding.
std::string Base64Encode(std::string_view bytes);

// The decoded bytes, or nullopt when `text` is not valid base64. On failure *error (when
// given) says why, e.g. "invalid character '!' at offset 12".
std::optional<std::string> Base64Decode(std::string_view text, std::string* error = nullptr);

}  // namespace mms
