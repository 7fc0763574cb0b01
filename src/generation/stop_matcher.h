// Stop strings across token boundaries (OpenAI's `stop`): the detokenized text of a
// stream goes in piece by piece, and what comes out is the text that can no longer turn
// into a stop string. The text before a matched stop string is emitted; the stop string
// and everything after it never are. A match is acted on as soon as a delta completes
// one stop string (generation cannot wait for text that may never come); the output is
// cut at the earliest start of any stop string found in the text received so far.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace mms::generation {

class StopMatcher {
 public:
  static constexpr size_t kMaxStops = 4;        // OpenAI's limit
  static constexpr size_t kMaxStopBytes = 256;  // per stop string

  // Empty strings are ignored. More than kMaxStops strings, or one longer than
  // kMaxStopBytes, throw Error(kInvalidArgument) naming the index.
  explicit StopMatcher(std::vector<std::string> stops);

  struct Result {
    std::string emit;      // safe to send now (never ends inside a UTF-8 sequence)
    bool stopped = false;  // a stop string matched: the stream ends after `emit`
  };
  // Appends one delta. After a match, further calls return nothing and stopped = true.
  Result Push(std::string_view delta);
  // End of the stream without a match: everything still held back.
  std::string Flush();

  bool stopped() const { return stopped_; }

 private:
  std::vector<std::string> stops_;
  std::string held_;  // text not yet emitted: a possible stop-string start, or a partial UTF-8 tail
  bool stopped_ = false;
};

}  // namespace mms::generation
