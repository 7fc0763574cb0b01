// The Redis cache level: the URL flag, the stored value format, and the level against a
// real redis-server on loopback: round trips, foreign entries, TTL, and Redis killed,
// hung and restarted (misses within the timeout, one warning, reconnection).
#include "runtime/redis_cache.h"

#include <gtest/gtest.h>

#include <cstdio>

#include "base/error.h"
#include "redis_server.h"

namespace mms::runtime {
namespace {

using testing::RedisServer;
using Clock = std::chrono::steady_clock;

// ---------------------------------------------------------------------------------------
// URL

TEST(RedisUrlTest, HostPortAndDatabase) {
  const RedisUrl u = ParseRedisUrl("redis://cache.internal:6380/3");
  EXPECT_EQ(u.host, "cache.internal");
  EXPECT_EQ(u.port, 6380);
  EXPECT_EQ(u.db, 3);
  EXPECT_EQ(u.password, "");
  EXPECT_EQ(u.username, "");
}

TEST(RedisUrlTest, DefaultsArePort6379AndDatabase0) {
  for (const char* url : {"redis://10.0.0.5", "redis://10.0.0.5/", "redis://10.0.0.5:6379/0"}) {
    const RedisUrl u = ParseRedisUrl(url);
    EXPECT_EQ(u.host, "10.0.0.5") << url;
    EXPECT_EQ(u.port, 6379) << url;
    EXPECT_EQ(u.db, 0) << url;
  }
}

TEST(RedisUrlTest, PasswordAndUser) {
  const RedisUrl p = ParseRedisUrl("redis://:s3cret@127.0.0.1:7000/1");
  EXPECT_EQ(p.password, "s3cret");
  EXPECT_EQ(p.username, "");
  EXPECT_EQ(p.host, "127.0.0.1");
  EXPECT_EQ(p.port, 7000);
  EXPECT_EQ(p.db, 1);
  const RedisUrl u = ParseRedisUrl("redis://app:p%40ss%3Aword@redis:6379/0");  // percent-escaped @ and :
  EXPECT_EQ(u.username, "app");
  EXPECT_EQ(u.password, "p@ss:word");
  EXPECT_EQ(u.host, "redis");
  // The password never reaches a log line.
  EXPECT_EQ(p.Redacted(), "redis://:***@127.0.0.1:7000/1");
  EXPECT_EQ(u.Redacted(), "redis://app:***@redis:6379/0");
  EXPECT_EQ(ParseRedisUrl("redis://h").Redacted(), "redis://h:6379/0");
}

TEST(RedisUrlTest, BracketedIpv6) {
  const RedisUrl u = ParseRedisUrl("redis://[::1]:6390/2");
  EXPECT_EQ(u.host, "::1");
  EXPECT_EQ(u.port, 6390);
  EXPECT_EQ(u.db, 2);
  EXPECT_EQ(u.Redacted(), "redis://[::1]:6390/2");
  EXPECT_EQ(ParseRedisUrl("redis://[::1]").port, 6379);
}

TEST(RedisUrlTest, MalformedUrlsAreRefusedWithTheReason) {
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"http://h:1/0", "redis://"},       {"h:6379", "redis://"},
      {"rediss://h:6379/0", "redis://"},  {"redis://", "no host"},
      {"redis://:6379/0", "no host"},     {"redis://h:port/0", "port"},
      {"redis://h:70000/0", "port"},      {"redis://h:0", "port 0"},
      {"redis://h:/0", "empty port"},     {"redis://h:6379/x", "database"},
      {"redis://::1:6379", "brackets"},   {"redis://[::1:6379", "']'"},
      {"redis://user@h", "password"},     {"redis://:p%zz@h", "percent"}};
  for (const auto& [url, part] : bad) {
    try {
      ParseRedisUrl(url);
      ADD_FAILURE() << url << " was accepted";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument) << url;
      EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << url << ": " << e.what();
    }
  }
}

// A bad URL is echoed, if at all, without what could be its password.
TEST(RedisUrlTest, ErrorsNeverShowThePassword) {
  for (const char* url : {"rediss://app:hunter2@h:6380/0", "redis://app:hunter2", "redis://:hunter2@",
                          "redis://:hunter2@/0", "redis://app:hun/ter2@h", "hunter2@h", "redis://h:6379/hunter2",
                          "redis://user:hunter2@h:port"}) {
    try {
      ParseRedisUrl(url);
      ADD_FAILURE() << url << " was accepted";
    } catch (const Error& e) {
      EXPECT_EQ(std::string(e.what()).find("hunter"), std::string::npos) << url << ": " << e.what();
      EXPECT_EQ(std::string(e.what()).find("ter2"), std::string::npos) << url << ": " << e.what();
    }
  }
}

// ---------------------------------------------------------------------------------------
// Value format

TEST(RedisValueTest, RoundTripsBitExactly) {
  const std::vector<float> v = {1.0f, -0.5f, 3.25e-7f, -0.0f, 123456.789f};
  const std::string encoded = EncodeRedisValue(v);
  EXPECT_EQ(encoded.size(), 16 + v.size() * 4);
  EXPECT_EQ(encoded.substr(0, 4), "MMSE");
  EXPECT_EQ(static_cast<uint8_t>(encoded[4]), kRedisValueFormatVersion);
  const auto decoded = DecodeRedisValue(encoded);
  ASSERT_TRUE(decoded);
  ASSERT_EQ(decoded->size(), v.size());
  EXPECT_EQ(std::memcmp(decoded->data(), v.data(), v.size() * 4), 0);
}

TEST(RedisValueTest, FloatsAreLittleEndian) {
  const std::string encoded = EncodeRedisValue(std::vector<float>{1.0f});  // 0x3f800000
  EXPECT_EQ(encoded.substr(8, 8), std::string("\x01\x00\x00\x00\x01\x00\x00\x00", 8));  // dim 1, count 1
  EXPECT_EQ(encoded.substr(16), std::string("\x00\x00\x80\x3f", 4));
}

TEST(RedisValueTest, AnythingElseIsAMissNotAnError) {
  const std::string good = EncodeRedisValue(std::vector<float>{1, 2, 3, 4});
  auto with = [&](size_t at, char c) {
    std::string s = good;
    s[at] = c;
    return s;
  };
  EXPECT_FALSE(DecodeRedisValue(""));
  EXPECT_FALSE(DecodeRedisValue("not an embedding at all"));
  EXPECT_FALSE(DecodeRedisValue(with(0, 'X')));                      // another program's value
  EXPECT_FALSE(DecodeRedisValue(with(4, 3)));                        // a future format version
  EXPECT_FALSE(DecodeRedisValue(with(4, 1)));                        // version 1, before the HMAC tag
  EXPECT_FALSE(DecodeRedisValue(with(4, 0)));                        // version 0
  EXPECT_FALSE(DecodeRedisValue(with(6, 1)));                        // reserved bytes not zero
  EXPECT_FALSE(DecodeRedisValue(with(8, 5)));                        // dim is not the count
  EXPECT_FALSE(DecodeRedisValue(good.substr(0, good.size() - 1)));   // truncated
  EXPECT_FALSE(DecodeRedisValue(good + "x"));                        // trailing bytes
  EXPECT_FALSE(DecodeRedisValue(good.substr(0, 16)));                // header only
  std::string empty = EncodeRedisValue(std::vector<float>{});
  EXPECT_FALSE(DecodeRedisValue(empty));                             // dim 0
  EXPECT_TRUE(DecodeRedisValue(good));
}

TEST(RedisValueTest, TheTagBindsKeyValueAndSecret) {
  const std::string secret(32, 's'), other_secret(32, 't');
  const std::string encoded = EncodeRedisValue(std::vector<float>{1.0f, 2.0f});
  const std::string stored = SealRedisValue("mms:emb:aa", encoded, secret);
  ASSERT_EQ(stored.size(), encoded.size() + kRedisValueTagBytes);
  ASSERT_TRUE(OpenRedisValue("mms:emb:aa", stored, secret));
  EXPECT_EQ(*OpenRedisValue("mms:emb:aa", stored, secret), encoded);
  EXPECT_FALSE(OpenRedisValue("mms:emb:ab", stored, secret));        // copied under another key
  EXPECT_FALSE(OpenRedisValue("mms:emb:aa", stored, other_secret));  // another deployment's
  for (size_t i = 0; i < stored.size(); i += 7) {
    std::string flipped = stored;
    flipped[i] ^= 1;
    EXPECT_FALSE(OpenRedisValue("mms:emb:aa", flipped, secret)) << "byte " << i;
  }
  EXPECT_FALSE(OpenRedisValue("mms:emb:aa", encoded, secret));  // no tag at all
  EXPECT_FALSE(OpenRedisValue("mms:emb:aa", "", secret));
}

// ---------------------------------------------------------------------------------------
// Against a real redis-server

// Log lines written by a Logger, read back.
class LogCapture {
 public:
  LogCapture() : file_(std::tmpfile()), logger_(LogLevel::kInfo, LogFormat::kJson, file_) {}
  ~LogCapture() { std::fclose(file_); }
  Logger& logger() { return logger_; }
  std::string Text() const {
    std::fflush(file_);
    std::string out;
    std::rewind(file_);
    char buf[4096];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof(buf), file_)) > 0) out.append(buf, n);
    std::fseek(file_, 0, SEEK_END);
    return out;
  }
  int Count(const std::string& part) const {
    const std::string t = Text();
    int n = 0;
    for (size_t at = t.find(part); at != std::string::npos; at = t.find(part, at + 1)) ++n;
    return n;
  }

 private:
  std::FILE* file_;
  Logger logger_;
};

class RedisCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (RedisServer::Binary().empty()) {
      GTEST_SKIP() << "redis-server is not installed (scripts/setup.sh installs it): the Redis cache tests need it";
    }
    redis_.Start();
  }

  RedisCacheOptions Options(int timeout_ms = 50) {
    RedisCacheOptions o;
    o.url = ParseRedisUrl(redis_.Url());
    o.timeout = std::chrono::milliseconds(timeout_ms);
    o.retry_interval = std::chrono::milliseconds(200);
    return o;
  }

  static CacheDigest Key(int i) { return TextCacheKey({"clip", 1, "fp32", "hf"}, {i}); }
  static std::vector<float> Vector(int i) { return {static_cast<float>(i), 0.5f, -1.0f, 2.0f}; }

  RedisServer redis_;
  LogCapture log_;
};

TEST_F(RedisCacheTest, StoresAndFindsEntriesWithTheTtl) {
  RedisCacheOptions o = Options();
  o.ttl = std::chrono::seconds(120);
  RedisCache cache(o, log_.logger());
  EXPECT_TRUE(cache.Ping());
  const std::vector<float> a = Vector(1), b = Vector(2);
  cache.PutMany({Key(1), Key(2)}, {a, b});
  const auto got = cache.GetMany({Key(1), Key(3), Key(2)});
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0], a);
  EXPECT_FALSE(got[1]);
  EXPECT_EQ(got[2], b);
  const CacheLevelStats s = cache.Stats();
  EXPECT_EQ(s.hits, 2u);
  EXPECT_EQ(s.misses, 1u);
  EXPECT_EQ(s.writes, 2u);
  EXPECT_EQ(s.errors, 0u);
  EXPECT_TRUE(s.available);

  // The key as documented, with the TTL asked for.
  const std::string key = "mms:emb:" + DigestHex(Key(1));
  EXPECT_EQ(cache.KeyOf(Key(1)), key);
  const std::string ttl = redis_.Command("TTL " + key + "\r\n");
  ASSERT_EQ(ttl[0], ':') << ttl;
  const int seconds = std::stoi(ttl.substr(1));
  EXPECT_GT(seconds, 100);
  EXPECT_LE(seconds, 120);
}

TEST_F(RedisCacheTest, ADatabaseOtherThan0IsSelected) {
  RedisCacheOptions o = Options();
  o.url.db = 5;
  RedisCache cache(o, log_.logger());
  cache.PutMany({Key(1)}, {Vector(1)});
  EXPECT_EQ(redis_.Command("EXISTS " + cache.KeyOf(Key(1)) + "\r\n"), ":0\r\n");  // not in db 0
  EXPECT_EQ(cache.GetMany({Key(1)})[0], Vector(1));
}

TEST_F(RedisCacheTest, ForeignAndOldEntriesAreMisses) {
  RedisCache cache(Options(), log_.logger());
  redis_.Command("SET " + cache.KeyOf(Key(1)) + " something-else\r\n");
  std::string old = EncodeRedisValue(Vector(2));
  old[4] = 0;  // format version 0: not this program's
  // The old-format value holds binary bytes: sent as a RESP array rather than inline.
  std::string command = "*3\r\n$3\r\nSET\r\n$" + std::to_string(cache.KeyOf(Key(2)).size()) + "\r\n" +
                        cache.KeyOf(Key(2)) + "\r\n$" + std::to_string(old.size()) + "\r\n" + old + "\r\n";
  EXPECT_EQ(redis_.Command(command), "+OK\r\n");
  const auto got = cache.GetMany({Key(1), Key(2)});
  EXPECT_FALSE(got[0]);
  EXPECT_FALSE(got[1]);
  EXPECT_EQ(cache.Stats().errors, 0u);  // a miss, not a failure
  EXPECT_TRUE(cache.Stats().available);
}

// SET over the wire as a RESP array: the value may hold any byte.
std::string SetCommand(const std::string& key, const std::string& value) {
  return "*3\r\n$3\r\nSET\r\n$" + std::to_string(key.size()) + "\r\n" + key + "\r\n$" +
         std::to_string(value.size()) + "\r\n" + value + "\r\n";
}

// Whoever reaches Redis can write any key: a well-formed value without the replicas'
// HMAC, or a genuine value copied under another key, must not be served.
TEST_F(RedisCacheTest, AValuePlantedInRedisIsNotServed) {
  RedisCacheOptions o = Options();
  o.hmac_key = std::string(32, 'k');
  o.warning_interval = std::chrono::seconds(60);
  RedisCache cache(o, log_.logger());
  cache.PutMany({Key(1)}, {Vector(1)});
  ASSERT_EQ(cache.GetMany({Key(1)})[0], Vector(1));

  // Overwritten in place with the attacker's embedding, in this program's value format.
  const std::vector<float> forged = {9.0f, 9.0f, 9.0f, 9.0f};
  ASSERT_EQ(redis_.Command(SetCommand(cache.KeyOf(Key(1)), EncodeRedisValue(forged))), "+OK\r\n");
  // And key 1's genuine stored bytes replayed under key 2.
  cache.PutMany({Key(3)}, {Vector(3)});
  const std::string get = redis_.Command("GET " + cache.KeyOf(Key(3)) + "\r\n");
  ASSERT_EQ(get[0], '$') << get;
  const std::string genuine = get.substr(get.find("\r\n") + 2, std::stoul(get.substr(1)));
  ASSERT_EQ(redis_.Command(SetCommand(cache.KeyOf(Key(2)), genuine)), "+OK\r\n");

  const auto got = cache.GetMany({Key(1), Key(2), Key(3)});
  EXPECT_FALSE(got[0]);
  EXPECT_FALSE(got[1]);
  EXPECT_EQ(got[2], Vector(3));
  EXPECT_EQ(cache.rejected(), 2u);
  EXPECT_EQ(cache.Stats().rejected, 2u);  // what mmserve_cache_rejected_total shows
  EXPECT_EQ(cache.Stats().errors, 0u);  // a miss, not a failure: Redis is up
  EXPECT_TRUE(cache.Stats().available);
  cache.GetMany({Key(1), Key(2)});
  EXPECT_EQ(cache.rejected(), 4u);
  EXPECT_EQ(log_.Count("failed its HMAC check"), 1) << log_.Text();  // once, then counted
}

TEST_F(RedisCacheTest, ReplicasShareEntriesOnlyWithTheSameSecret) {
  RedisCacheOptions o = Options();
  o.hmac_key = std::string(40, 'a');
  RedisCache a(o, log_.logger()), b(o, log_.logger());
  o.hmac_key = std::string(40, 'b');
  RedisCache other(o, log_.logger());
  o.hmac_key.clear();  // none given: a random one of its own
  RedisCache lone(o, log_.logger());
  a.PutMany({Key(1)}, {Vector(1)});
  EXPECT_EQ(b.GetMany({Key(1)})[0], Vector(1));
  EXPECT_FALSE(other.GetMany({Key(1)})[0]);
  EXPECT_FALSE(lone.GetMany({Key(1)})[0]);
  lone.PutMany({Key(2)}, {Vector(2)});
  EXPECT_EQ(lone.GetMany({Key(2)})[0], Vector(2));
  EXPECT_FALSE(a.GetMany({Key(2)})[0]);
}

TEST_F(RedisCacheTest, KilledRedisGivesQuickMissesOneWarningAndReconnects) {
  RedisCacheOptions o = Options();
  o.warning_interval = std::chrono::seconds(60);
  RedisCache cache(o, log_.logger());
  cache.PutMany({Key(1)}, {Vector(1)});
  ASSERT_TRUE(cache.GetMany({Key(1)})[0]);

  redis_.Kill();
  for (int i = 0; i < 50; ++i) {
    const auto start = Clock::now();
    EXPECT_FALSE(cache.GetMany({Key(1)})[0]);
    cache.PutMany({Key(2)}, {Vector(2)});
    EXPECT_LT(Clock::now() - start, std::chrono::milliseconds(500));
    std::this_thread::sleep_for(std::chrono::milliseconds(10));  // 0.5 s: past a retry interval or two
  }
  EXPECT_FALSE(cache.Stats().available);
  EXPECT_GE(cache.Stats().errors, 2u);  // the failure, and at least one retry
  EXPECT_EQ(log_.Count("redis cache unavailable"), 1) << log_.Text();
  EXPECT_NE(log_.Text().find("\"level\":\"warning\""), std::string::npos);

  redis_.Start();  // same port, empty
  const auto deadline = Clock::now() + std::chrono::seconds(5);
  bool stored = false;
  while (Clock::now() < deadline && !stored) {
    cache.PutMany({Key(3)}, {Vector(3)});
    stored = cache.GetMany({Key(3)})[0].has_value();
    if (!stored) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_TRUE(stored);
  EXPECT_TRUE(cache.Stats().available);
  EXPECT_EQ(log_.Count("redis cache reconnected"), 1) << log_.Text();
  EXPECT_EQ(log_.Count("redis cache unavailable"), 1) << log_.Text();
}

TEST_F(RedisCacheTest, AWarningAtMostOncePerInterval) {
  RedisCacheOptions o = Options();
  o.retry_interval = std::chrono::milliseconds(20);
  o.warning_interval = std::chrono::milliseconds(400);
  RedisCache cache(o, log_.logger());
  redis_.Kill();
  const auto start = Clock::now();
  while (Clock::now() - start < std::chrono::milliseconds(1000)) {
    cache.GetMany({Key(1)});
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  // Failures every ~20 ms for 1 s; warnings at 0, 0.4 and 0.8 s.
  EXPECT_GE(cache.Stats().errors, 10u);
  const int warnings = log_.Count("redis cache unavailable");
  EXPECT_GE(warnings, 2);
  EXPECT_LE(warnings, 3);
  EXPECT_NE(log_.Text().find("\"failures_not_logged\":"), std::string::npos);
}

TEST_F(RedisCacheTest, AHungRedisCostsAtMostTheTimeout) {
  RedisCacheOptions o = Options(50);
  o.retry_interval = std::chrono::seconds(30);  // after the first timeout, no more waiting
  RedisCache cache(o, log_.logger());
  ASSERT_TRUE(cache.Ping());
  redis_.Pause();  // accepts connections (the kernel does), answers nothing
  auto start = Clock::now();
  EXPECT_FALSE(cache.GetMany({Key(1)})[0]);
  const auto first = Clock::now() - start;
  EXPECT_GE(first, std::chrono::milliseconds(40));
  EXPECT_LT(first, std::chrono::milliseconds(400));
  // Down now: the next calls do not wait at all.
  start = Clock::now();
  for (int i = 0; i < 20; ++i) {
    cache.GetMany({Key(1)});
    cache.PutMany({Key(1)}, {Vector(1)});
  }
  EXPECT_LT(Clock::now() - start, std::chrono::milliseconds(50));
  EXPECT_FALSE(cache.Stats().available);
  redis_.Resume();
}

TEST_F(RedisCacheTest, ConcurrentCallersShareTheConnections) {
  RedisCacheOptions o = Options(1000);
  o.max_connections = 3;
  RedisCache cache(o, log_.logger());
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 100; ++i) {
        const int k = t * 1000 + i;
        cache.PutMany({Key(k)}, {Vector(k)});
        const auto got = cache.GetMany({Key(k)});
        wrong += !got[0] || *got[0] != Vector(k);
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(wrong, 0);
  EXPECT_EQ(cache.Stats().errors, 0u);
  EXPECT_EQ(cache.Stats().hits, 800u);
  // At most 3 connections were opened (redis counts clients; ours plus none other).
  const std::string clients = redis_.Command("INFO clients\r\n");
  EXPECT_NE(clients.find("connected_clients:"), std::string::npos);
  const int connected = std::stoi(clients.substr(clients.find("connected_clients:") + 18));
  EXPECT_LE(connected, 3 + 1);  // + the INFO connection itself
}

TEST_F(RedisCacheTest, DownAtStartIsNotAnError) {
  redis_.Kill();
  RedisCache cache(Options(), log_.logger());
  EXPECT_FALSE(cache.Ping());
  EXPECT_FALSE(cache.GetMany({Key(1)})[0]);
  EXPECT_EQ(log_.Count("redis cache unavailable"), 1);
  redis_.Start();
  std::this_thread::sleep_for(std::chrono::milliseconds(250));  // the retry interval
  cache.PutMany({Key(1)}, {Vector(1)});
  EXPECT_EQ(cache.GetMany({Key(1)})[0], Vector(1));
}

// Redis with AUTH: a password (requirepass) and an ACL user, both through the URL.
class RedisAuthTest : public ::testing::Test {
 protected:
  static constexpr char kPassword[] = "default-pass-\x01:@/%x";  // bytes a URL must escape
  static constexpr char kUserPassword[] = "alice-pass-9f2c";
  RedisAuthTest() : redis_(RedisServer::Auth{kPassword, "alice", kUserPassword}) {}
  void SetUp() override {
    if (RedisServer::Binary().empty()) GTEST_SKIP() << "redis-server is not installed (scripts/setup.sh installs it)";
    redis_.Start();
  }
  RedisCacheOptions Options(const std::string& userinfo) const {
    RedisCacheOptions o;
    o.url = ParseRedisUrl("redis://" + userinfo + "@127.0.0.1:" + std::to_string(redis_.port()) + "/0");
    o.retry_interval = std::chrono::milliseconds(100);
    o.hmac_key = std::string(32, 'h');
    return o;
  }
  static CacheDigest Key(int i) { return TextCacheKey({"clip", 1, "fp32", "hf"}, {i}); }
  const std::vector<float> kOne = {1.0f};

  RedisServer redis_;
  LogCapture log_;
};

TEST_F(RedisAuthTest, PasswordOfTheDefaultUser) {
  RedisCache cache(Options(":default-pass-%01%3A%40%2F%25x"), log_.logger());
  ASSERT_TRUE(cache.Ping()) << log_.Text();
  const std::vector<float> v = {1.0f, 2.0f};
  cache.PutMany({Key(1)}, {v});
  EXPECT_EQ(cache.GetMany({Key(1)})[0], v);
  EXPECT_EQ(cache.Stats().errors, 0u);
}

TEST_F(RedisAuthTest, AclUserAndPassword) {
  RedisCache cache(Options(std::string("alice:") + kUserPassword), log_.logger());
  ASSERT_TRUE(cache.Ping()) << log_.Text();
  const std::vector<float> v = {3.0f};
  cache.PutMany({Key(2)}, {v});
  EXPECT_EQ(cache.GetMany({Key(2)})[0], v);
  // Written as alice, there for the default user too: the same keyspace.
  EXPECT_EQ(redis_.Command("EXISTS " + cache.KeyOf(Key(2)) + "\r\n"), ":1\r\n");
}

TEST_F(RedisAuthTest, WrongOrMissingPasswordIsADownCacheAndNeverLogged) {
  for (const std::string userinfo : {":wrong-password-8d1e", "alice:wrong-password-8d1e", "bob:wrong-password-8d1e"}) {
    LogCapture log;
    RedisCache cache(Options(userinfo), log.logger());
    EXPECT_FALSE(cache.Ping()) << userinfo;
    cache.PutMany({Key(1)}, {kOne});
    EXPECT_FALSE(cache.GetMany({Key(1)})[0]) << userinfo;  // answered as a miss, quickly
    EXPECT_FALSE(cache.Stats().available);
    EXPECT_EQ(log.Count("redis cache unavailable"), 1) << log.Text();
    EXPECT_NE(log.Text().find("AUTH"), std::string::npos) << log.Text();
    EXPECT_EQ(log.Text().find("wrong-password"), std::string::npos) << log.Text();
  }
  // No password at all: Redis answers NOAUTH to the first command.
  RedisCacheOptions o = Options(":x");
  o.url.password.clear();
  LogCapture log;
  RedisCache cache(o, log.logger());
  cache.PutMany({Key(1)}, {kOne});
  EXPECT_FALSE(cache.GetMany({Key(1)})[0]);
  EXPECT_FALSE(cache.Stats().available);
  EXPECT_NE(log.Text().find("NOAUTH"), std::string::npos) << log.Text();
}

}  // namespace
}  // namespace mms::runtime
