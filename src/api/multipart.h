// multipart/form-data bodies (RFC 7578), as browsers, curl -F and Python's requests send
// them to /predict. The parts point into the body: nothing is copied.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mms::api {

struct MultipartPart {
  std::string name;          // Content-Disposition's name
  std::string filename;      // Content-Disposition's filename ("" when absent)
  std::string content_type;  // the part's Content-Type ("" when absent)
  std::string_view content;  // a view into the body
};

struct MultipartLimits {
  size_t max_parts = 16;          // /predict needs two
  size_t max_header_bytes = 8192;  // one part's header block
};

// The boundary of a multipart/form-data Content-Type, or nullopt when the type is another.
// Throws Error(kInvalidArgument) when the type is multipart/form-data without a usable boundary.
std::optional<std::string> MultipartBoundary(std::string_view content_type);

// Throws Error(kInvalidArgument) naming the byte offset for a malformed body, and for more
// parts or longer part headers than the limits allow.
std::vector<MultipartPart> ParseMultipart(std::string_view body, const std::string& boundary,
                                          const MultipartLimits& limits = {});

// The first part named `name`, or null.
const MultipartPart* FindPart(const std::vector<MultipartPart>& parts, std::string_view name);

}  // namespace mms::api
