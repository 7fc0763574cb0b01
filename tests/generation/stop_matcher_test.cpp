// Stop strings over streams cut at every kind of boundary; the expected output is the
// text up to the first occurrence of any stop string, found with one search over the
// whole text.
#include "generation/stop_matcher.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "base/error.h"

namespace mms::generation {
namespace {

struct Streamed {
  std::string text;
  bool stopped = false;
  std::vector<std::string> emits;
};

Streamed Stream(const std::vector<std::string>& stops, const std::vector<std::string>& deltas) {
  StopMatcher m(stops);
  Streamed out;
  for (const auto& d : deltas) {
    auto r = m.Push(d);
    out.emits.push_back(r.emit);
    out.text += r.emit;
    if (r.stopped) {
      out.stopped = true;
      break;
    }
  }
  if (!out.stopped) out.text += m.Flush();
  return out;
}

TEST(StopMatcher, StopAcrossTokensIsNotEmitted) {
  const auto s = Stream({"###"}, {"Hello", " wor", "ld#", "#", "# and more"});
  EXPECT_TRUE(s.stopped);
  EXPECT_EQ(s.text, "Hello world");
  // "ld#" may be the start of the stop string: "#" is held back.
  EXPECT_EQ(s.emits[2], "ld");
}

TEST(StopMatcher, HeldTextIsReleasedWhenItCannotMatch) {
  const auto s = Stream({"STOP"}, {"a S", "T", "x", "y"});
  EXPECT_FALSE(s.stopped);
  EXPECT_EQ(s.emits[0], "a ");
  EXPECT_EQ(s.emits[1], "");
  EXPECT_EQ(s.emits[2], "STx");
  EXPECT_EQ(s.text, "a STxy");
}

TEST(StopMatcher, EarliestStopWins) {
  const auto s = Stream({"cd", "b"}, {"abcd"});
  EXPECT_TRUE(s.stopped);
  EXPECT_EQ(s.text, "a");
  const auto t = Stream({"abc", "bc"}, {"xab", "c"});
  EXPECT_EQ(t.text, "x");
}

TEST(StopMatcher, FlushReturnsTheHeldTail) {
  StopMatcher m({"END"});
  EXPECT_EQ(m.Push("the E").emit, "the ");
  EXPECT_EQ(m.Flush(), "E");
}

TEST(StopMatcher, NeverSplitsUtf8) {
  // "日" is E6 97 A5: delivered byte by byte, nothing is emitted until it is whole.
  StopMatcher m({"zz"});
  EXPECT_EQ(m.Push("a\xE6").emit, "a");
  EXPECT_EQ(m.Push("\x97").emit, "");
  EXPECT_EQ(m.Push("\xA5").emit, "\xE6\x97\xA5");
}

TEST(StopMatcher, AfterAStopNothingMore) {
  StopMatcher m({"x"});
  auto r = m.Push("axb");
  EXPECT_TRUE(r.stopped);
  EXPECT_EQ(r.emit, "a");
  r = m.Push("more");
  EXPECT_TRUE(r.stopped);
  EXPECT_EQ(r.emit, "");
  EXPECT_EQ(m.Flush(), "");
}

TEST(StopMatcher, NoStopsPassesEverythingThrough) {
  const auto s = Stream({}, {"a", "b", ""});
  EXPECT_EQ(s.emits, (std::vector<std::string>{"a", "b", ""}));
  EXPECT_EQ(Stream({"", ""}, {"abc"}).text, "abc");
}

TEST(StopMatcher, LimitsAreEnforced) {
  EXPECT_THROW(StopMatcher({"a", "b", "c", "d", "e"}), Error);
  EXPECT_THROW(StopMatcher({std::string(257, 'x')}), Error);
  EXPECT_NO_THROW(StopMatcher({std::string(256, 'x')}));
}

// A stop string completed by a delta is acted on at once, even when a longer one that
// began earlier might still complete (generation cannot wait for text that may never come).
TEST(StopMatcher, StopsAsSoonAsOneCompletes) {
  EXPECT_EQ(Stream({"bcb", "c"}, {"ab", "c", "b"}).text, "ab");
  EXPECT_EQ(Stream({"bcb", "c"}, {"ab", "cb"}).text, "a");
}

// Random texts over a small alphabet (so stop strings occur, overlap and half-occur),
// with multi-byte characters, cut into random deltas at character boundaries.
TEST(StopMatcher, RandomStreamsMatchAWholeTextSearch) {
  std::mt19937 gen(2024);
  const std::vector<std::string> alphabet = {"a", "b", "c", "\xC3\xA9", "\xE6\x97\xA5", "\xF0\x9F\x98\x80", " "};
  for (int round = 0; round < 3000; ++round) {
    std::vector<std::string> chars;
    const int n = std::uniform_int_distribution<int>(0, 40)(gen);
    for (int i = 0; i < n; ++i) chars.push_back(alphabet[gen() % alphabet.size()]);
    std::string text;
    for (auto& c : chars) text += c;
    std::vector<std::string> stops;
    const int nstops = std::uniform_int_distribution<int>(0, 4)(gen);
    for (int i = 0; i < nstops; ++i) {
      std::string s;
      const int len = std::uniform_int_distribution<int>(1, 4)(gen);
      for (int j = 0; j < len; ++j) s += alphabet[gen() % 4];
      stops.push_back(s);
    }
    // Deltas: groups of whole characters, sometimes a character split across deltas
    // (a detokenizer may hand bytes over as they come).
    std::vector<std::string> deltas;
    std::string cur;
    for (auto& c : chars) {
      if (c.size() > 1 && gen() % 4 == 0) {
        cur += c.substr(0, 1);
        deltas.push_back(cur);
        cur = c.substr(1);
      } else {
        cur += c;
      }
      if (gen() % 3 == 0) {
        deltas.push_back(cur);
        cur.clear();
      }
    }
    deltas.push_back(cur);

    // The stream stops at the first delta after which some stop string is complete;
    // the output is cut at the earliest start of a stop string within what arrived.
    size_t first = std::string::npos;
    size_t arrived = 0;
    for (auto& d : deltas) {
      arrived += d.size();
      const std::string seen = text.substr(0, arrived);
      for (auto& s : stops) first = std::min(first, seen.find(s));
      if (first != std::string::npos) break;
    }
    const auto got = Stream(stops, deltas);
    ASSERT_EQ(got.stopped, first != std::string::npos) << "round " << round;
    ASSERT_EQ(got.text, first == std::string::npos ? text : text.substr(0, first)) << "round " << round << " stops " << ::testing::PrintToString(stops) << " deltas " << ::testing::PrintToString(deltas);
    // Every emitted piece ends on a character boundary.
    size_t at = 0;
    for (auto& e : got.emits) {
      at += e.size();
      if (at < text.size()) {
        ASSERT_NE(static_cast<unsigned char>(text[at]) & 0xC0, 0x80) << "round " << round << " split at " << at;
      }
    }
  }
}

}  // namespace
}  // namespace mms::generation
