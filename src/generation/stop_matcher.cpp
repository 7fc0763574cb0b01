// The held text is short (under the longest stop string plus one delta), so plain
// searches over it are cheap: a match is looked for anywhere in it, and otherwise the
// longest suffix that begins some stop string is kept back.
#include "generation/stop_matcher.h"

#include <algorithm>

#include "base/error.h"

namespace mms::generation {
namespace {

// Length of the shortest tail of `s` to hold back so that what precedes it never ends
// inside a UTF-8 sequence (a lead byte whose continuation bytes have not all arrived).
size_t IncompleteUtf8Tail(std::string_view s) {
  const size_t n = s.size();
  for (size_t back = 1; back <= std::min<size_t>(n, 4); ++back) {
    const unsigned char c = static_cast<unsigned char>(s[n - back]);
    if ((c & 0xC0) == 0x80) continue;  // continuation byte: keep looking for the lead
    size_t need = 1;
    if ((c & 0xE0) == 0xC0) need = 2;
    else if ((c & 0xF0) == 0xE0) need = 3;
    else if ((c & 0xF8) == 0xF0) need = 4;
    return need > back ? back : 0;
  }
  return 0;  // no lead byte in the last four: not UTF-8 we can repair by waiting
}

}  // namespace

StopMatcher::StopMatcher(std::vector<std::string> stops) {
  if (stops.size() > kMaxStops) {
    ThrowInvalidArgument("stop: at most " + std::to_string(kMaxStops) + " stop strings, got " +
                         std::to_string(stops.size()));
  }
  for (size_t i = 0; i < stops.size(); ++i) {
    if (stops[i].size() > kMaxStopBytes) {
      ThrowInvalidArgument("stop[" + std::to_string(i) + "]: longer than " + std::to_string(kMaxStopBytes) +
                           " bytes (" + std::to_string(stops[i].size()) + ")");
    }
    if (!stops[i].empty()) stops_.push_back(std::move(stops[i]));
  }
}

StopMatcher::Result StopMatcher::Push(std::string_view delta) {
  Result result;
  if (stopped_) {
    result.stopped = true;
    return result;
  }
  held_.append(delta);
  // The earliest match of any stop string wins: nothing from its start on is emitted.
  size_t first = std::string::npos;
  for (const std::string& stop : stops_) {
    const size_t at = held_.find(stop);
    if (at < first) first = at;
  }
  if (first != std::string::npos) {
    result.emit = held_.substr(0, first);
    result.stopped = stopped_ = true;
    held_.clear();
    return result;
  }
  // Hold back the longest tail that is a proper prefix of a stop string.
  size_t hold = 0;
  for (const std::string& stop : stops_) {
    for (size_t k = std::min(stop.size() - 1, held_.size()); k > hold; --k) {
      if (std::string_view(held_).substr(held_.size() - k) == std::string_view(stop).substr(0, k)) {
        hold = k;
        break;
      }
    }
  }
  size_t cut = held_.size() - hold;
  cut -= IncompleteUtf8Tail(std::string_view(held_).substr(0, cut));
  result.emit = held_.substr(0, cut);
  held_.erase(0, cut);
  return result;
}

std::string StopMatcher::Flush() {
  std::string out;
  if (!stopped_) out.swap(held_);
  held_.clear();
  return out;
}

}  // namespace mms::generation
