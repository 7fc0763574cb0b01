// Real chat templates (tests/data/chat_templates, see its README) rendered with every message
// fixture by ChatTemplate and by Jinja2 set up as transformers does, compared byte for byte;
// plus the API's promises: error categories and positions, caps, concurrent renders.
#include <gtest/gtest.h>

#include <dirent.h>
#include <pthread.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <thread>

#include "base/error.h"
#include "jinja_reference.h"
#include "template/chat_template.h"

namespace mms::tmpl::testing {
namespace {

const std::string kDataDir = "tests/data/chat_templates";

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<std::string> TemplateFiles() {
  std::vector<std::string> names;
  DIR* dir = ::opendir((std::string(MMS_SOURCE_DIR) + "/" + kDataDir).c_str());
  if (dir == nullptr) return names;
  while (dirent* e = ::readdir(dir)) {
    const std::string name = e->d_name;
    if (name.size() > 6 && name.substr(name.size() - 6) == ".jinja") names.push_back(name);
  }
  ::closedir(dir);
  std::sort(names.begin(), names.end());
  return names;
}

TEST(ChatTemplate, RealTemplatesMatchJinja2OnEveryFixture) {
  const std::vector<std::string> templates = TemplateFiles();
  ASSERT_GE(templates.size(), 8u) << "templates missing from " << kDataDir;
  const auto fixtures = nlohmann::ordered_json::parse(ReadFile(std::string(MMS_SOURCE_DIR) + "/" + kDataDir + "/messages.json"));
  ASSERT_GE(fixtures.size(), 10u);
  std::vector<RefCase> cases;
  for (const std::string& t : templates) {
    for (const auto& f : fixtures) {
      RefCase c;
      c.label = t + " x " + f["name"].get<std::string>();
      c.template_file = kDataDir + "/" + t;
      c.vars = f["vars"];
      cases.push_back(std::move(c));
    }
  }
  ExpectSameAsJinja2(cases);

  // The fixtures reach the paths that matter: most render, and the role checks do raise.
  const std::vector<nlohmann::json> reference = RenderWithJinja2(cases);
  size_t rendered = 0, raised = 0;
  for (const auto& r : reference) {
    rendered += r.contains("output") ? 1 : 0;
    raised += r.value("raised", false) ? 1 : 0;
  }
  EXPECT_GT(rendered, cases.size() / 2);
  EXPECT_GE(raised, 4u);
}

// The expected text is transformers' apply_chat_template output for meta-llama/Llama-2-13b-chat-hf
// as text-generation-inference's router tests record it (an oracle independent of Jinja2 here).
TEST(ChatTemplate, Llama2MatchesTransformersRecordedOutput) {
  const auto tmpl = ChatTemplate::Parse(ReadFile(std::string(MMS_SOURCE_DIR) + "/" + kDataDir + "/llama-2-chat.jinja"),
                                        "llama-2-chat.jinja");
  const auto vars = nlohmann::json::parse(R"({
    "bos_token": "<s>", "eos_token": "</s>", "add_generation_prompt": true,
    "messages": [{"role": "system", "content": "You are a helpful assistant"},
                 {"role": "user", "content": "Hello"}, {"role": "assistant", "content": "Hi there"},
                 {"role": "user", "content": "Who are you"}, {"role": "assistant", "content": "   I am an assistant   "},
                 {"role": "user", "content": "Another question"}]})");
  EXPECT_EQ(tmpl.Render(vars),
            "<s>[INST] <<SYS>>\nYou are a helpful assistant\n<</SYS>>\n\nHello [/INST] Hi there </s><s>[INST] Who are you "
            "[/INST] I am an assistant </s><s>[INST] Another question [/INST]");
}

TEST(ChatTemplate, RaiseExceptionIsInvalidArgumentWithTheTemplatesMessage) {
  const auto tmpl = ChatTemplate::Parse(
      ReadFile(std::string(MMS_SOURCE_DIR) + "/" + kDataDir + "/mistral-instruct-v0.1.jinja"), "mistral.jinja");
  const auto vars = nlohmann::json::parse(
      R"({"bos_token": "<s>", "eos_token": "</s>", "messages": [{"role": "user", "content": "a"}, {"role": "user", "content": "b"}]})");
  try {
    tmpl.Render(vars);
    FAIL() << "expected raise_exception to throw";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
    EXPECT_STREQ(e.what(), "Conversation roles must alternate user/assistant/user/assistant/...");
  }
}

void ExpectError(const std::function<void()>& fn, ErrorCode code, const std::string& fragment) {
  try {
    fn();
    ADD_FAILURE() << "expected an error containing '" << fragment << "'";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), code) << e.what();
    EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
  }
}

TEST(ChatTemplate, ParseErrorsNameTheOriginLineAndColumn) {
  ExpectError([] { ChatTemplate::Parse("line one\n  {% if x %}\n  {{ a + }}\n{% endif %}", "/models/m/chat_template.jinja"); },
              ErrorCode::kInvalidModel, "/models/m/chat_template.jinja:3:10:");
  ExpectError([] { ChatTemplate::Parse("{% for x in y %}", "t.jinja"); }, ErrorCode::kInvalidModel, "expected 'endfor'");
  ExpectError([] { ChatTemplate::Parse("ok\n\n{% include 'x' %}", "t.jinja"); }, ErrorCode::kInvalidModel,
              "t.jinja:3:4: unknown or unsupported tag 'include'");
  ExpectError([] { ChatTemplate::Parse("{{ 'abc }}", "t.jinja"); }, ErrorCode::kInvalidModel, "t.jinja:1:4: unterminated string");
}

TEST(ChatTemplate, RuntimeErrorsNameTheTemplateAndLine) {
  const auto tmpl = ChatTemplate::Parse("a\nb\n{{ messages[0].content + 1 }}", "chat_template.jinja");
  ExpectError([&] { tmpl.Render(nlohmann::json::parse(R"({"messages": [{"content": "x"}]})")); },
              ErrorCode::kInvalidArgument, "chat template chat_template.jinja:3: unsupported operand type(s) for +");
  ExpectError([&] { tmpl.Render(nlohmann::json::parse(R"({"messages": []})")); }, ErrorCode::kInvalidArgument,
              "chat_template.jinja:3:");
}

TEST(ChatTemplate, OrderedJsonKeepsTheClientsKeyOrder) {
  const auto tmpl = ChatTemplate::Parse("{{ tool|tojson }}|{% for k in tool %}{{ k }},{% endfor %}", "t");
  const auto ordered = nlohmann::ordered_json::parse(R"({"tool": {"type": "function", "name": "f", "args": {"z": 1, "a": 2}}})");
  EXPECT_EQ(tmpl.RenderOrdered(ordered), R"({"type": "function", "name": "f", "args": {"z": 1, "a": 2}}|type,name,args,)");
  // nlohmann::json keeps objects sorted, so that is the order a template sees from it.
  EXPECT_EQ(tmpl.Render(nlohmann::json::parse(ordered.dump())),
            R"({"args": {"a": 2, "z": 1}, "name": "f", "type": "function"}|args,name,type,)");
}

TEST(ChatTemplate, IntegersAre64BitAndOverflowIsAnError) {
  const auto tmpl = ChatTemplate::Parse("{{ 9223372036854775807 + x }}", "t");
  EXPECT_EQ(tmpl.Render({{"x", 0}}), "9223372036854775807");
  ExpectError([&] { tmpl.Render({{"x", 1}}); }, ErrorCode::kInvalidArgument, "integer overflow");
}

TEST(ChatTemplate, CapsFire) {
  ChatTemplate::Limits limits;
  limits.max_output_bytes = 1000;
  limits.max_loop_iterations = 500;
  limits.max_macro_depth = 8;
  limits.max_work = 100000;
  const nlohmann::json none = nlohmann::json::object();
  ExpectError([&] { ChatTemplate::Parse("{% for i in range(2000) %}x{% endfor %}", "t").Render(none, limits); },
              ErrorCode::kInvalidArgument, "loops ran more than 500 iterations");
  ExpectError([&] { ChatTemplate::Parse("{% for i in range(400) %}xxxxx{% endfor %}", "t").Render(none, limits); },
              ErrorCode::kInvalidArgument, "rendered text over the limit of 1000 bytes");
  ExpectError([&] { ChatTemplate::Parse("{{ 'x' * 5000 }}", "t").Render(none, limits); }, ErrorCode::kInvalidArgument,
              "string repetition too large");
  ExpectError([&] { ChatTemplate::Parse("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}", "t").Render(none, limits); },
              ErrorCode::kInvalidArgument, "macro calls nested deeper than 8 levels");
  // Nested loops multiply: 100 x 100 x 100 iterations trip the iteration cap.
  ExpectError([&] {
    ChatTemplate::Parse("{% for a in range(100) %}{% for b in range(100) %}{% for c in range(100) %}{% endfor %}{% endfor %}{% endfor %}", "t")
        .Render(none, limits);
  }, ErrorCode::kInvalidArgument, "iterations");
  // Work without output or loops: doubling a string grows until the byte or work cap stops it.
  ExpectError([&] {
    ChatTemplate::Parse("{% set ns = namespace(s='ab') %}{% for i in range(60) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}", "t")
        .Render(none, limits);
  }, ErrorCode::kInvalidArgument, "");
  // Values nested without bound would overflow the stack when printed.
  ExpectError([&] {
    ChatTemplate::Parse("{% set ns = namespace(v=[]) %}{% for i in range(300) %}{% set ns.v = [ns.v] %}{% endfor %}{{ ns.v }}", "t")
        .Render(none);
  }, ErrorCode::kInvalidArgument, "nested deeper than");
  // Default limits: the default loop cap holds against an effectively endless template.
  ExpectError([&] {
    ChatTemplate::Parse("{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}{% endfor %}", "t").Render(none);
  }, ErrorCode::kInvalidArgument, "iterations");
}

TEST(ChatTemplate, ParseCapsFire) {
  ExpectError([] { ChatTemplate::Parse(std::string(ChatTemplate::kMaxSourceBytes + 1, 'x'), "big.jinja"); },
              ErrorCode::kInvalidModel, "big.jinja");
  std::string deep_ifs;
  for (int i = 0; i < 200; ++i) deep_ifs += "{% if true %}";
  ExpectError([&] { ChatTemplate::Parse(deep_ifs, "deep.jinja"); }, ErrorCode::kInvalidModel, "nested deeper than");
  ExpectError([] { ChatTemplate::Parse("{{ " + std::string(5000, '(') + "1" + std::string(5000, ')') + " }}", "p"); },
              ErrorCode::kInvalidModel, "nested deeper than");
  ExpectError([] { ChatTemplate::Parse("{{ " + std::string(5000, '-') + "1 }}", "p"); }, ErrorCode::kInvalidModel,
              "nested deeper than");
  ExpectError([] { ChatTemplate::Parse("{{ " + std::string(5000, '[') + " }}", "p"); }, ErrorCode::kInvalidModel, "");
  std::string nots = "{{ ";
  for (int i = 0; i < 3000; ++i) nots += "not ";
  ExpectError([&] { ChatTemplate::Parse(nots + "x }}", "p"); }, ErrorCode::kInvalidModel, "nested deeper than");
}

// The deepest recursion a template can ask for: statements and expressions nested to the
// parser's cap inside a macro that recurses to the default macro depth. It must end in an
// error within a 1 MiB thread stack (the renderer recurses on the template's structure).
// AddressSanitizer puts red zones around every local and grows each frame several times,
// so its build gets 8 MiB: the bound that matters is the release build's.
#if defined(__SANITIZE_ADDRESS__)
constexpr size_t kRenderThreadStackBytes = 8 << 20;
#else
constexpr size_t kRenderThreadStackBytes = 1 << 20;
#endif
TEST(ChatTemplate, WorstCaseRecursionFitsInOneMebibyteOfStack) {
  std::string ifs, ends, parens = "1";
  for (int i = 0; i < 30; ++i) ifs += "{% if true %}", ends += "{% endif %}";
  for (int i = 0; i < 14; ++i) parens = "(" + parens + ")";
  const std::string source = "{% macro f(n) %}" + ifs + "{{ f(n + 1) ~ -" + parens + "|string|trim }}" + ends +
                             "{% endmacro %}{{ f(0) }}";
  struct Job {
    std::string source;
    std::string error;
  } job{source, ""};
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, kRenderThreadStackBytes);
  pthread_t thread;
  ASSERT_EQ(pthread_create(&thread, &attr, [](void* p) -> void* {
    auto* j = static_cast<Job*>(p);
    try {
      ChatTemplate::Parse(j->source, "deep").Render(nlohmann::json::object());
    } catch (const Error& e) {
      j->error = e.what();
    }
    return nullptr;
  }, &job), 0);
  pthread_join(thread, nullptr);
  pthread_attr_destroy(&attr);
  EXPECT_NE(job.error.find("macro calls nested deeper than 32 levels"), std::string::npos) << job.error;
}

TEST(ChatTemplate, VariablesNestedTooDeepAreRefused) {
  nlohmann::json v = "leaf";
  for (int i = 0; i < 1000; ++i) v = nlohmann::json::array({v});
  const auto tmpl = ChatTemplate::Parse("{{ messages|length }}", "t");
  ExpectError([&] { tmpl.Render({{"messages", v}}); }, ErrorCode::kInvalidArgument, "nested deeper than");
}

TEST(ChatTemplate, ConcurrentRendersOfOneTemplateAgree) {
  const auto tmpl = ChatTemplate::Parse(
      ReadFile(std::string(MMS_SOURCE_DIR) + "/" + kDataDir + "/llama-3.1-instruct.jinja"), "llama-3.1-instruct.jinja");
  const auto fixtures = nlohmann::ordered_json::parse(ReadFile(std::string(MMS_SOURCE_DIR) + "/" + kDataDir + "/messages.json"));
  const nlohmann::ordered_json& vars = fixtures[9]["vars"];  // tools: the namespace-free but busiest path
  const std::string expected = tmpl.RenderOrdered(vars);
  std::vector<std::thread> threads;
  std::vector<int> mismatches(8, 0);
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) {
        if (tmpl.RenderOrdered(vars) != expected) ++mismatches[static_cast<size_t>(t)];
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int m : mismatches) EXPECT_EQ(m, 0);
}

}  // namespace
}  // namespace mms::tmpl::testing
