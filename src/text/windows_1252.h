// Windows-1252's assignments for bytes 0x80..0x9F, where it differs from Latin-1. Both Python's
// html.unescape (for &#128;..&#159;) and ftfy (for stray C1 control characters) use this table.
// The five bytes Windows-1252 leaves undefined (0x81, 0x8D, 0x8F, 0x90, 0x9D) map to the C1
// control of the same number, as in ftfy's "sloppy-windows-1252" codec.
#pragma once

namespace mms::text::internal {

inline char32_t SloppyWindows1252(char32_t c1_control) {
  static constexpr char32_t kTable[32] = {
      0x20AC, 0x0081, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021,  // 0x80..0x87
      0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0x008D, 0x017D, 0x008F,  // 0x88..0x8F
      0x0090, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,  // 0x90..0x97
      0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x009D, 0x017E, 0x0178,  // 0x98..0x9F
  };
  return c1_control >= 0x80 && c1_control <= 0x9F ? kTable[c1_control - 0x80] : c1_control;
}

inline bool IsC1Control(char32_t c) { return c >= 0x80 && c <= 0x9F; }

}  // namespace mms::text::internal
