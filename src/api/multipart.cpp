#include "api/multipart.h"

#include "api/http_message.h"
#include "base/error.h"

namespace mms::api {

namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool StartsWithNoCase(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && HeaderNameEquals(s.substr(0, prefix.size()), prefix);
}

// `; key=value; key="quoted \" value"` parameters of a header value, after its first token.
// Returns the value of `key`, unquoted, or nullopt.
std::optional<std::string> HeaderParameter(std::string_view value, std::string_view key) {
  size_t i = value.find(';');
  while (i != std::string_view::npos && i < value.size()) {
    ++i;  // past ';'
    while (i < value.size() && (value[i] == ' ' || value[i] == '\t')) ++i;
    const size_t eq = value.find('=', i);
    if (eq == std::string_view::npos) return std::nullopt;
    const std::string_view name = Trim(value.substr(i, eq - i));
    size_t j = eq + 1;
    while (j < value.size() && (value[j] == ' ' || value[j] == '\t')) ++j;
    std::string parsed;
    if (j < value.size() && value[j] == '"') {
      ++j;
      bool closed = false;
      for (; j < value.size(); ++j) {
        if (value[j] == '\\' && j + 1 < value.size()) {
          parsed.push_back(value[++j]);
        } else if (value[j] == '"') {
          closed = true;
          ++j;
          break;
        } else {
          parsed.push_back(value[j]);
        }
      }
      if (!closed) return std::nullopt;
      i = value.find(';', j);
    } else {
      const size_t end = std::min(value.find(';', j), value.size());
      parsed = std::string(Trim(value.substr(j, end - j)));
      i = end == value.size() ? std::string_view::npos : end;
    }
    if (HeaderNameEquals(name, key)) return parsed;
  }
  return std::nullopt;
}

[[noreturn]] void Malformed(const std::string& what, size_t offset) {
  ThrowInvalidArgument("malformed multipart/form-data body: " + what + " (at byte " + std::to_string(offset) + ")");
}

// One part's header block (between the delimiter line and the blank line).
void ParsePartHeaders(std::string_view block, size_t offset, MultipartPart& part) {
  bool has_disposition = false;
  size_t pos = 0;
  while (pos < block.size()) {
    size_t end = block.find("\r\n", pos);
    if (end == std::string_view::npos) end = block.size();
    const std::string_view line = block.substr(pos, end - pos);
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos) Malformed("a part header line has no ':'", offset + pos);
    const std::string_view name = Trim(line.substr(0, colon));
    const std::string_view value = Trim(line.substr(colon + 1));
    if (HeaderNameEquals(name, "Content-Disposition")) {
      if (!StartsWithNoCase(value, "form-data")) Malformed("a part's Content-Disposition is not form-data", offset + pos);
      const auto field = HeaderParameter(value, "name");
      if (!field) Malformed("a part's Content-Disposition has no name", offset + pos);
      part.name = *field;
      part.filename = HeaderParameter(value, "filename").value_or("");
      has_disposition = true;
    } else if (HeaderNameEquals(name, "Content-Type")) {
      part.content_type = std::string(value);
    }
    pos = end + 2;
  }
  if (!has_disposition) Malformed("a part has no Content-Disposition header", offset);
}

}  // namespace

std::optional<std::string> MultipartBoundary(std::string_view content_type) {
  const size_t semicolon = content_type.find(';');
  const std::string_view type = Trim(content_type.substr(0, semicolon));
  if (!HeaderNameEquals(type, "multipart/form-data")) return std::nullopt;
  const auto boundary = HeaderParameter(content_type, "boundary");
  // RFC 2046: 1 to 70 characters.
  if (!boundary || boundary->empty() || boundary->size() > 70) {
    ThrowInvalidArgument("multipart/form-data needs a boundary of 1 to 70 characters in its Content-Type");
  }
  return boundary;
}

std::vector<MultipartPart> ParseMultipart(std::string_view body, const std::string& boundary,
                                          const MultipartLimits& limits) {
  const std::string delimiter = "--" + boundary;
  const std::string next_delimiter = "\r\n" + delimiter;
  std::vector<MultipartPart> parts;
  // The first delimiter may follow a preamble (ignored) or start the body.
  size_t pos;
  if (body.substr(0, delimiter.size()) == delimiter) {
    pos = delimiter.size();
  } else {
    const size_t found = body.find(next_delimiter);
    if (found == std::string_view::npos) Malformed("no boundary delimiter", 0);
    pos = found + next_delimiter.size();
  }
  while (true) {
    // After a delimiter: "--" ends the body; otherwise optional whitespace and CRLF.
    if (body.substr(pos, 2) == "--") return parts;
    while (pos < body.size() && (body[pos] == ' ' || body[pos] == '\t')) ++pos;
    if (body.substr(pos, 2) != "\r\n") Malformed("a boundary delimiter is not followed by CRLF", pos);
    pos += 2;
    if (parts.size() == limits.max_parts) {
      ThrowInvalidArgument("the multipart/form-data body has more than " + std::to_string(limits.max_parts) + " parts");
    }
    MultipartPart part;
    size_t headers_end;
    if (body.substr(pos, 2) == "\r\n") {  // no headers at all
      headers_end = pos;
    } else {
      headers_end = body.find("\r\n\r\n", pos);
      if (headers_end == std::string_view::npos) Malformed("a part's headers do not end", pos);
    }
    if (headers_end - pos > limits.max_header_bytes) {
      ThrowInvalidArgument("a multipart part's headers are longer than " + std::to_string(limits.max_header_bytes) +
                           " bytes (at byte " + std::to_string(pos) + ")");
    }
    ParsePartHeaders(body.substr(pos, headers_end - pos), pos, part);
    const size_t content_start = headers_end + (headers_end == pos ? 2 : 4);
    const size_t content_end = body.find(next_delimiter, content_start);
    if (content_end == std::string_view::npos) Malformed("a part is not closed by the boundary", content_start);
    part.content = body.substr(content_start, content_end - content_start);
    parts.push_back(std::move(part));
    pos = content_end + next_delimiter.size();
  }
}

const MultipartPart* FindPart(const std::vector<MultipartPart>& parts, std::string_view name) {
  for (const auto& part : parts) {
    if (part.name == name) return &part;
  }
  return nullptr;
}

}  // namespace mms::api
