#include "base/base64.h"

#include <array>
#include <cstdint>

namespace mms {

namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

constexpr int8_t kSkip = -2;  // line breaks: ignored
constexpr int8_t kBad = -1;

// Value of each input byte: 0..63, kSkip or kBad. Both alphabets map to the same values,
// so a client's choice of flavour does not matter.
constexpr std::array<int8_t, 256> MakeDecodeTable() {
  std::array<int8_t, 256> table{};
  for (auto& v : table) v = kBad;
  for (int i = 0; i < 64; ++i) table[static_cast<unsigned char>(kAlphabet[i])] = static_cast<int8_t>(i);
  table['-'] = 62;
  table['_'] = 63;
  table['\r'] = kSkip;
  table['\n'] = kSkip;
  return table;
}
constexpr auto kDecode = MakeDecodeTable();

std::string Describe(unsigned char c) {
  if (c >= 0x20 && c < 0x7f) return std::string("'") + static_cast<char>(c) + "'";
  static const char* hex = "0123456789abcdef";
  return std::string("byte 0x") + hex[c >> 4] + hex[c & 15];
}

void Fail(std::string* error, std::string message) {
  if (error) *error = std::move(message);
}

}  // namespace

std::string Base64Encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const uint32_t v = static_cast<uint32_t>(static_cast<unsigned char>(bytes[i])) << 16 |
                       static_cast<uint32_t>(static_cast<unsigned char>(bytes[i + 1])) << 8 |
                       static_cast<unsigned char>(bytes[i + 2]);
    out += kAlphabet[v >> 18];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  const size_t rest = bytes.size() - i;
  if (rest > 0) {
    uint32_t v = static_cast<uint32_t>(static_cast<unsigned char>(bytes[i])) << 16;
    if (rest == 2) v |= static_cast<uint32_t>(static_cast<unsigned char>(bytes[i + 1])) << 8;
    out += kAlphabet[v >> 18];
    out += kAlphabet[(v >> 12) & 63];
    out += rest == 2 ? kAlphabet[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

std::optional<std::string> Base64Decode(std::string_view text, std::string* error) {
  std::string out;
  out.reserve(text.size() / 4 * 3 + 3);
  uint32_t acc = 0;  // bits not yet written, 6 per symbol
  int symbols = 0;   // symbols in the current group of four
  size_t padding = 0;
  for (size_t pos = 0; pos < text.size(); ++pos) {
    const unsigned char c = static_cast<unsigned char>(text[pos]);
    if (c == '=') {
      ++padding;
      continue;
    }
    const int8_t v = kDecode[c];
    if (v == kSkip) continue;
    if (v == kBad) {
      Fail(error, "invalid character " + Describe(c) + " at offset " + std::to_string(pos));
      return std::nullopt;
    }
    if (padding > 0) {
      Fail(error, "data after '=' padding at offset " + std::to_string(pos));
      return std::nullopt;
    }
    acc = acc << 6 | static_cast<uint32_t>(v);
    if (++symbols == 4) {
      out += static_cast<char>(acc >> 16);
      out += static_cast<char>((acc >> 8) & 0xff);
      out += static_cast<char>(acc & 0xff);
      acc = 0;
      symbols = 0;
    }
  }
  // A final group of 2 or 3 symbols carries 1 or 2 bytes; padding, when present, must
  // complete it to four. One lone symbol cannot encode a whole byte.
  if (symbols == 1) {
    Fail(error, "truncated input (" + std::to_string(text.size()) + " characters is not a whole number of bytes)");
    return std::nullopt;
  }
  if (padding > 0 && (symbols == 0 || symbols + padding != 4)) {
    Fail(error, "wrong '=' padding");
    return std::nullopt;
  }
  if (symbols == 2) {
    out += static_cast<char>(acc >> 4);
  } else if (symbols == 3) {
    out += static_cast<char>(acc >> 10);
    out += static_cast<char>((acc >> 2) & 0xff);
  }
  return out;
}

}  // namespace mms
