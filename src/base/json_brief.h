// A JSON value from a file or a client, quoted in an error message: short, valid UTF-8,
// and never a recursive dump. A deeply nested array ([[[[...) would overflow the stack in
// json::dump(), and a large one would turn the message into a copy of the input.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace mms {

inline std::string BriefJson(const nlohmann::json& v) {
  if (v.is_array()) return "an array of " + std::to_string(v.size());
  if (v.is_object()) return "an object of " + std::to_string(v.size()) + " keys";
  std::string s = v.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  if (s.size() > 40) {
    size_t cut = 40;
    while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xc0) == 0x80) --cut;  // not inside a character
    s = s.substr(0, cut) + "...";
  }
  return s;
}

}  // namespace mms
