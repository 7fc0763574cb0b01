#include "io/model_config.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "base/error.h"
#include "io/pbtxt_reader.h"

namespace mms::io {
namespace {

ModelConfig Parse(std::string_view text) { return ParseModelConfig(text, "config.pbtxt"); }

// Parsing `text` must fail with kInvalidModel, at `line_col`, with a message containing `what`.
::testing::AssertionResult FailsAt(std::string_view text, const std::string& line_col, const std::string& what) {
  try {
    Parse(text);
  } catch (const Error& e) {
    const std::string message = e.what();
    const std::string prefix = "config.pbtxt:" + line_col + ": ";
    if (e.code() != ErrorCode::kInvalidModel) {
      return ::testing::AssertionFailure() << "code " << ErrorCodeName(e.code()) << ": " << message;
    }
    if (message.rfind(prefix, 0) != 0) return ::testing::AssertionFailure() << "not at " << line_col << ": " << message;
    if (message.find(what) == std::string::npos) {
      return ::testing::AssertionFailure() << "lacks \"" << what << "\": " << message;
    }
    return ::testing::AssertionSuccess();
  }
  return ::testing::AssertionFailure() << "parsed without error";
}

// Written the way Triton's documentation writes model configurations.
constexpr std::string_view kFullConfig = R"pbtxt(
# CLIP text and image embeddings, served on the CPU.
name: "clip"
backend: "clip"
max_batch_size: 8
version_policy: { latest: { num_versions: 2 } }

input [
  {
    name: "TEXT"
    data_type: TYPE_STRING
    dims: [ 1 ]
    optional: true
  },
  {
    name: "IMAGE"
    data_type: TYPE_UINT8
    format: FORMAT_NONE
    dims: [ -1 ]
    optional: true
  }
]
output [
  {
    name: "TEXT_EMBEDS"
    data_type: TYPE_FP32
    dims: [ 512 ]
  },
  {
    name: "IMAGE_EMBEDS"
    data_type: TYPE_FP32
    dims: [ 512 ]
    reshape: { shape: [ 1, 512 ] }
  }
]

instance_group [
  {
    count: 2
    kind: KIND_CPU
  }
]

dynamic_batching {
  preferred_batch_size: [ 4, 8 ]
  max_queue_delay_microseconds: 100
  preserve_ordering: false
  default_queue_policy {
    timeout_action: REJECT
    default_timeout_microseconds: 500000
    allow_timeout_override: true
    max_queue_size: 64
  }
}

parameters: {
  key: "precision"
  value: {
    string_value: "bf16"
  }
}
parameters {
  key: "intra_op_threads"
  value { string_value: "4" }
}

model_warmup [
  {
    name: "text_warmup"
    batch_size: 1
    inputs {
      key: "TEXT"
      value: {
        data_type: TYPE_STRING
        dims: [ 1 ]
        input_data_file: "warmup_text"
      }
    }
  }
]
)pbtxt";

TEST(ModelConfigTest, FullTritonStyleConfig) {
  const ModelConfig c = Parse(kFullConfig);
  EXPECT_EQ(c.name, "clip");
  EXPECT_EQ(c.backend, "clip");
  EXPECT_EQ(c.platform, "");
  EXPECT_EQ(c.max_batch_size, 8);
  EXPECT_EQ(c.version_policy.kind, VersionPolicy::Kind::kLatest);
  EXPECT_EQ(c.version_policy.num_versions, 2);

  ASSERT_EQ(c.inputs.size(), 2u);
  EXPECT_EQ(c.inputs[0].name, "TEXT");
  EXPECT_EQ(c.inputs[0].data_type, "TYPE_STRING");
  EXPECT_EQ(c.inputs[0].dims, (std::vector<int64_t>{1}));
  EXPECT_EQ(c.inputs[1].name, "IMAGE");
  EXPECT_EQ(c.inputs[1].data_type, "TYPE_UINT8");
  EXPECT_EQ(c.inputs[1].dims, (std::vector<int64_t>{-1}));
  ASSERT_EQ(c.outputs.size(), 2u);
  EXPECT_EQ(c.outputs[1].name, "IMAGE_EMBEDS");
  EXPECT_EQ(c.outputs[1].dims, (std::vector<int64_t>{512}));

  EXPECT_EQ(c.instance_count, 2);

  ASSERT_TRUE(c.dynamic_batching.has_value());
  EXPECT_EQ(c.dynamic_batching->preferred_batch_size, (std::vector<int64_t>{4, 8}));
  EXPECT_EQ(c.dynamic_batching->max_queue_delay_microseconds, 100);
  const QueuePolicy& q = c.dynamic_batching->default_queue_policy;
  EXPECT_EQ(q.timeout_action, "REJECT");
  EXPECT_EQ(q.default_timeout_microseconds, 500000);
  EXPECT_TRUE(q.allow_timeout_override);
  EXPECT_EQ(q.max_queue_size, 64);

  EXPECT_EQ(c.parameters, (std::map<std::string, std::string>{{"precision", "bf16"}, {"intra_op_threads", "4"}}));
}

TEST(ModelConfigTest, EmptyFileHasAllDefaults) {
  for (std::string_view text : {"", "  \n\t\n", "# only a comment\n# and another"}) {
    const ModelConfig c = Parse(text);
    EXPECT_EQ(c.name, "");
    EXPECT_EQ(c.max_batch_size, 0);
    EXPECT_EQ(c.version_policy.kind, VersionPolicy::Kind::kLatest);
    EXPECT_EQ(c.version_policy.num_versions, 1);
    EXPECT_FALSE(c.dynamic_batching.has_value());
    EXPECT_EQ(c.instance_count, 1);
    EXPECT_TRUE(c.parameters.empty());
    EXPECT_TRUE(c.inputs.empty());
    EXPECT_TRUE(c.outputs.empty());
  }
}

TEST(ModelConfigTest, VersionPolicies) {
  EXPECT_EQ(Parse("version_policy { }").version_policy.kind, VersionPolicy::Kind::kLatest);

  VersionPolicy latest = Parse("version_policy: { latest: { num_versions: 3 } }").version_policy;
  EXPECT_EQ(latest.kind, VersionPolicy::Kind::kLatest);
  EXPECT_EQ(latest.num_versions, 3);
  EXPECT_EQ(Parse("version_policy { latest { } }").version_policy.num_versions, 1);

  EXPECT_EQ(Parse("version_policy: { all: { } }").version_policy.kind, VersionPolicy::Kind::kAll);
  EXPECT_EQ(Parse("version_policy { all {} }").version_policy.kind, VersionPolicy::Kind::kAll);

  VersionPolicy specific = Parse("version_policy: { specific: { versions: [1, 3] } }").version_policy;
  EXPECT_EQ(specific.kind, VersionPolicy::Kind::kSpecific);
  EXPECT_EQ(specific.versions, (std::vector<int64_t>{1, 3}));
  specific = Parse("version_policy { specific { versions: 4 versions: 2 } }").version_policy;
  EXPECT_EQ(specific.versions, (std::vector<int64_t>{4, 2}));
}

TEST(ModelConfigTest, ListsAndRepeatedFieldsAreTheSame) {
  const ModelConfig as_list = Parse(R"(
    max_batch_size: 16
    dynamic_batching { preferred_batch_size: [2, 4, 16] }
    input [ { name: "A" data_type: TYPE_FP32 dims: [2, 3] }, { name: "B" data_type: TYPE_INT64 dims: [] } ]
  )");
  const ModelConfig one_by_one = Parse(R"(
    max_batch_size: 16
    dynamic_batching { preferred_batch_size: 2 preferred_batch_size: 4 preferred_batch_size: 16 }
    input { name: "A" data_type: TYPE_FP32 dims: 2 dims: 3 }
    input { name: "B" data_type: TYPE_INT64 }
  )");
  const ModelConfig mixed = Parse(R"(
    max_batch_size: 16
    dynamic_batching { preferred_batch_size: 2 preferred_batch_size: [4, 16] }
    input [ { name: "A" data_type: TYPE_FP32 dims: [2] dims: 3 } ]
    input { name: "B" data_type: TYPE_INT64 }
  )");
  for (const ModelConfig* c : {&as_list, &one_by_one, &mixed}) {
    EXPECT_EQ(c->dynamic_batching->preferred_batch_size, (std::vector<int64_t>{2, 4, 16}));
    ASSERT_EQ(c->inputs.size(), 2u);
    EXPECT_EQ(c->inputs[0].dims, (std::vector<int64_t>{2, 3}));
    EXPECT_EQ(c->inputs[1].name, "B");
    EXPECT_TRUE(c->inputs[1].dims.empty());
  }
  EXPECT_EQ(Parse("instance_group [ ]").instance_count, 1);  // an empty list is no groups at all
}

TEST(ModelConfigTest, MessageFormsWithAndWithoutColonAndAngleBrackets) {
  for (std::string_view text : {
           "dynamic_batching { max_queue_delay_microseconds: 7 }",
           "dynamic_batching: { max_queue_delay_microseconds: 7 }",
           "dynamic_batching < max_queue_delay_microseconds: 7 >",
           "dynamic_batching: <max_queue_delay_microseconds:7>",
           "dynamic_batching{max_queue_delay_microseconds:7;}",
       }) {
    const ModelConfig c = Parse(text);
    ASSERT_TRUE(c.dynamic_batching.has_value()) << text;
    EXPECT_EQ(c.dynamic_batching->max_queue_delay_microseconds, 7) << text;
  }
}

TEST(ModelConfigTest, EmptyDynamicBatchingBlockIsPresentWithDefaults) {
  const ModelConfig c = Parse("max_batch_size: 4\ndynamic_batching { }\n");
  ASSERT_TRUE(c.dynamic_batching.has_value());
  EXPECT_TRUE(c.dynamic_batching->preferred_batch_size.empty());
  EXPECT_EQ(c.dynamic_batching->max_queue_delay_microseconds, 0);
  EXPECT_EQ(c.dynamic_batching->default_queue_policy.timeout_action, "REJECT");
  EXPECT_EQ(c.dynamic_batching->default_queue_policy.max_queue_size, 0);
  EXPECT_FALSE(c.dynamic_batching->default_queue_policy.allow_timeout_override);
}

TEST(ModelConfigTest, CommentsAndSeparators) {
  const ModelConfig c = Parse(
      "name: \"m\" # the name; with \"quotes\" and { braces } in the comment\n"
      "max_batch_size: 4,  # a ',' after a field is allowed\n"
      "platform: \"p\";\n"
      "dynamic_batching {\n"
      "  preferred_batch_size: [ 2, # two\n"
      "                          4  # four\n"
      "                        ]\n"
      "}#no space needed");
  EXPECT_EQ(c.name, "m");
  EXPECT_EQ(c.max_batch_size, 4);
  EXPECT_EQ(c.platform, "p");
  EXPECT_EQ(c.dynamic_batching->preferred_batch_size, (std::vector<int64_t>{2, 4}));
}

TEST(ModelConfigTest, StringQuotesEscapesAndConcatenation) {
  EXPECT_EQ(Parse("name: 'single'").name, "single");
  EXPECT_EQ(Parse("name: \"double\"").name, "double");
  EXPECT_EQ(Parse("name: 'it\\'s \"quoted\"'").name, "it's \"quoted\"");
  EXPECT_EQ(Parse("name: \"a\" 'b'\n  \"c\"").name, "abc");
  EXPECT_EQ(Parse(R"(name: "tab\tnl\nbs\\q\"")").name, "tab\tnl\nbs\\q\"");
  EXPECT_EQ(Parse(R"(name: "\x41\102\u00e9\U0001F600")").name, "AB\xc3\xa9\xf0\x9f\x98\x80");
  EXPECT_EQ(Parse("name: \"caf\xc3\xa9\"").name, "caf\xc3\xa9");  // UTF-8 as written
  EXPECT_EQ(Parse("parameters { key: 'k' value { string_value: '' } }").parameters.at("k"), "");
}

TEST(ModelConfigTest, NumberAndBoolSpellings) {
  EXPECT_EQ(Parse("max_batch_size: 0x10").max_batch_size, 16);
  EXPECT_EQ(Parse("max_batch_size: 010").max_batch_size, 8);  // octal, as protobuf reads it
  EXPECT_EQ(Parse("max_batch_size: 0").max_batch_size, 0);
  EXPECT_EQ(Parse("max_batch_size: -0").max_batch_size, 0);
  EXPECT_EQ(Parse("input { name: 'x' data_type: TYPE_FP32 dims: [ -1, - 1, 3 ] }").inputs[0].dims,
            (std::vector<int64_t>{-1, -1, 3}));
  EXPECT_EQ(Parse("version_policy { specific { versions: 9223372036854775807 } }").version_policy.versions[0],
            INT64_MAX);
  for (std::string_view spelling : {"true", "True", "t", "1"}) {
    const std::string text = "dynamic_batching { default_queue_policy { allow_timeout_override: " +
                             std::string(spelling) + " } }";
    EXPECT_TRUE(Parse(text).dynamic_batching->default_queue_policy.allow_timeout_override) << spelling;
  }
  for (std::string_view spelling : {"false", "False", "f", "0"}) {
    const std::string text = "dynamic_batching { default_queue_policy { allow_timeout_override: " +
                             std::string(spelling) + " } }";
    EXPECT_FALSE(Parse(text).dynamic_batching->default_queue_policy.allow_timeout_override) << spelling;
  }
  EXPECT_EQ(Parse("dynamic_batching { default_queue_policy { timeout_action: DELAY } }")
                .dynamic_batching->default_queue_policy.timeout_action,
            "DELAY");
}

TEST(ModelConfigTest, InstanceGroupsAddUp) {
  EXPECT_EQ(Parse("instance_group { kind: KIND_CPU }").instance_count, 1);
  EXPECT_EQ(Parse("instance_group { count: 3 kind: KIND_AUTO name: 'a' }").instance_count, 3);
  EXPECT_EQ(Parse("instance_group [ { count: 2 }, { count: 3 kind: KIND_CPU } ] instance_group { }").instance_count, 6);
  EXPECT_EQ(Parse("instance_group { count: 1 gpus: [ ] }").instance_count, 1);
}

TEST(ModelConfigTest, IgnoredTritonFieldsAreAccepted) {
  const ModelConfig c = Parse(R"(
    name: "m"
    default_model_filename: "model.safetensors"
    optimization { execution_accelerators { cpu_execution_accelerator: [ { name: "openvino" } ] } priority: PRIORITY_MAX }
    model_warmup { name: "w" batch_size: 2 inputs { key: "x" value { random_data: true dims: [4] data_type: TYPE_FP32 } } }
    model_warmup { name: "w2" count: 3 }
    max_batch_size: 2
    dynamic_batching { priority_levels: 2 default_priority_level: 1 preserve_ordering: true }
  )");
  EXPECT_EQ(c.name, "m");
  EXPECT_EQ(c.max_batch_size, 2);
}

// --- Errors: each says where (line:column) and what. ---

TEST(ModelConfigErrorTest, UnknownFieldsNameTheFieldAndItsMessage) {
  EXPECT_TRUE(FailsAt("name: \"m\"\n\n    max_batchsize: 8\n", "3:5", "unknown field \"max_batchsize\" in ModelConfig"));
  EXPECT_TRUE(FailsAt("dynamic_batching {\n  max_queue_delay: 5\n}", "2:3",
                      "unknown field \"max_queue_delay\" in ModelDynamicBatching"));
  EXPECT_TRUE(FailsAt("dynamic_batching { default_queue_policy { timeout: 1 } }", "1:43",
                      "unknown field \"timeout\" in ModelQueuePolicy"));
  EXPECT_TRUE(FailsAt("version_policy { newest { } }", "1:18", "unknown field \"newest\" in ModelVersionPolicy"));
  EXPECT_TRUE(FailsAt("instance_group [ { count: 1 host_policy: 'x' } ]", "1:29",
                      "unknown field \"host_policy\" in ModelInstanceGroup"));
  EXPECT_TRUE(FailsAt("input { name: 'a' data_type: TYPE_FP32 shape: [1] }", "1:40",
                      "unknown field \"shape\" in ModelInput"));
  EXPECT_TRUE(FailsAt("output { name: 'a' data_type: TYPE_FP32 format: FORMAT_NCHW }", "1:41",
                      "unknown field \"format\" in ModelOutput"));
  EXPECT_TRUE(FailsAt("parameters { key: 'a' value { int_value: 3 } }", "1:31",
                      "unknown field \"int_value\" in ModelParameter"));
}

TEST(ModelConfigErrorTest, WrongValueTypes) {
  EXPECT_TRUE(FailsAt("max_batch_size: \"eight\"", "1:17",
                      "field \"max_batch_size\" in ModelConfig expects an integer, found string \"eight\""));
  EXPECT_TRUE(FailsAt("max_batch_size: 1.5", "1:17", "expects an integer, found 1.5"));
  EXPECT_TRUE(FailsAt("max_batch_size: 1e3", "1:17", "expects an integer, found 1e3"));
  EXPECT_TRUE(FailsAt("max_batch_size: eight", "1:17", "expects an integer, found eight"));
  EXPECT_TRUE(FailsAt("max_batch_size { }", "1:16", "expects an integer, found a message"));
  EXPECT_TRUE(FailsAt("dynamic_batching: 3", "1:19",
                      "field \"dynamic_batching\" in ModelConfig expects a message { ... }, found 3"));
  EXPECT_TRUE(FailsAt("name: model", "1:7", "field \"name\" in ModelConfig expects a string, found model"));
  EXPECT_TRUE(FailsAt("name: 5", "1:7", "expects a string, found 5"));
  EXPECT_TRUE(FailsAt("instance_group { kind: KIND_TPU }", "1:24",
                      "expects one of KIND_AUTO, KIND_GPU, KIND_CPU, KIND_MODEL, found KIND_TPU"));
  EXPECT_TRUE(FailsAt("instance_group { kind: \"KIND_CPU\" }", "1:24", "found string \"KIND_CPU\""));
  EXPECT_TRUE(FailsAt("input { name: 'a' data_type: FP32 }", "1:30", "expects one of TYPE_BOOL"));
  EXPECT_TRUE(FailsAt("dynamic_batching { preserve_ordering: yes }", "1:39", "expects true or false, found yes"));
  EXPECT_TRUE(FailsAt("dynamic_batching { preserve_ordering: 2 }", "1:39", "expects true or false, found 2"));
  EXPECT_TRUE(FailsAt("name: \"\\xff\"", "1:7", "field \"name\" in ModelConfig is not valid UTF-8"));
}

TEST(ModelConfigErrorTest, NumbersOutOfRange) {
  EXPECT_TRUE(FailsAt("max_batch_size: 3000000000", "1:17",
                      "value 3000000000 is out of range for field \"max_batch_size\" in ModelConfig (int32"));
  EXPECT_TRUE(FailsAt("dynamic_batching { default_queue_policy { max_queue_size: -1 } }", "1:59",
                      "value -1 is out of range for field \"max_queue_size\" in ModelQueuePolicy (uint32: 0 to"));
  EXPECT_TRUE(FailsAt("dynamic_batching { max_queue_delay_microseconds: 99999999999999999999 }", "1:50",
                      "out of range"));
}

// A model folder is input: sizes past what any deployment needs are refused at the
// place they are written, before a load creates billions of instances.
TEST(ModelConfigErrorTest, AbsurdSizesAreRefused) {
  EXPECT_TRUE(FailsAt("max_batch_size: 2000000000", "1:17", "max_batch_size 2000000000 is over the limit of 65536"));
  EXPECT_TRUE(FailsAt("instance_group [ { count: 200 }, { count: 57 } ]", "1:43",
                      "instance_group counts add up to 257, over the limit of 256"));
  EXPECT_TRUE(FailsAt("instance_group { count: 2147483647 }", "1:25", "over the limit of 256"));
  EXPECT_TRUE(FailsAt("dynamic_batching { max_queue_delay_microseconds: 9223372036854775807 }", "1:50",
                      "max_queue_delay_microseconds 9223372036854775807 is over the limit"));
  EXPECT_TRUE(FailsAt("dynamic_batching { default_queue_policy { default_timeout_microseconds: 3600000001 } }",
                      "1:73", "default_timeout_microseconds 3600000001 is over the limit"));
  EXPECT_NO_THROW(Parse("max_batch_size: 65536 instance_group [ { count: 128 }, { count: 128 } ] "
                        "dynamic_batching { max_queue_delay_microseconds: 3600000000 }"));
}

TEST(ModelConfigErrorTest, NegativeAndZeroValuesThatMakeNoSense) {
  EXPECT_TRUE(FailsAt("max_batch_size: -4", "1:17", "max_batch_size must not be negative, got -4"));
  EXPECT_TRUE(FailsAt("instance_group { count: -1 }", "1:25", "instance_group count must be at least 1, got -1"));
  EXPECT_TRUE(FailsAt("instance_group [ { count: 1 }, { count: 0 } ]", "1:41", "must be at least 1, got 0"));
  EXPECT_TRUE(FailsAt("version_policy { latest { num_versions: 0 } }", "1:41", "num_versions must be at least 1, got 0"));
  EXPECT_TRUE(FailsAt("version_policy { specific { versions: [1, 0] } }", "1:43", "version numbers must be positive, got 0"));
  EXPECT_TRUE(FailsAt("version_policy { specific { versions: -2 } }", "1:39", "must be positive, got -2"));
  EXPECT_TRUE(FailsAt("version_policy { specific { versions: [3, 3] } }", "1:43", "version 3 is listed twice"));
  EXPECT_TRUE(FailsAt("version_policy {\n specific { } }", "2:11", "needs at least one version"));
  EXPECT_TRUE(FailsAt("max_batch_size: 8 dynamic_batching { preferred_batch_size: [4, 0] }", "1:64",
                      "preferred_batch_size must be positive, got 0"));
  EXPECT_TRUE(FailsAt("max_batch_size: 8 dynamic_batching { preferred_batch_size: [4, 16] }", "1:64",
                      "preferred_batch_size 16 is larger than max_batch_size 8"));
}

TEST(ModelConfigErrorTest, SingleFieldGivenTwice) {
  EXPECT_TRUE(FailsAt("name: \"a\"\nname: \"b\"", "2:1", "field \"name\" in ModelConfig is given twice (first at 1:1)"));
  EXPECT_TRUE(FailsAt("dynamic_batching { }\ndynamic_batching { }", "2:1", "\"dynamic_batching\" in ModelConfig is given twice"));
  EXPECT_TRUE(FailsAt("dynamic_batching { max_queue_delay_microseconds: 1 max_queue_delay_microseconds: 2 }", "1:52",
                      "given twice (first at 1:20)"));
  EXPECT_TRUE(FailsAt("max_batch_size: [1, 2]", "1:1", "field \"max_batch_size\" in ModelConfig is not repeated"));
  EXPECT_TRUE(FailsAt("version_policy { latest { } all { } }", "1:29",
                      "fields \"latest\" and \"all\" in ModelVersionPolicy are alternatives"));
}

TEST(ModelConfigErrorTest, GpuInstancesAndUnsupportedFeaturesAreRefused) {
  EXPECT_TRUE(FailsAt("instance_group [\n  {\n    count: 1\n    kind: KIND_GPU\n  }\n]", "4:11",
                      "GPU instances are not supported"));
  EXPECT_TRUE(FailsAt("instance_group { kind: KIND_CPU gpus: [ 0 ] }", "1:41", "GPU instances are not supported"));
  EXPECT_TRUE(FailsAt("instance_group { kind: KIND_MODEL }", "1:24", "KIND_MODEL is not supported"));
  EXPECT_TRUE(FailsAt("sequence_batching { }", "1:1",
                      "field \"sequence_batching\" in ModelConfig is not supported: sequence batching"));
  EXPECT_TRUE(FailsAt("ensemble_scheduling { step [ ] }", "1:1", "ensembles are not implemented"));
}

TEST(ModelConfigErrorTest, TensorSpecs) {
  EXPECT_TRUE(FailsAt("input {\n data_type: TYPE_FP32 }", "1:7", "input needs a name"));
  EXPECT_TRUE(FailsAt("output { name: \"y\" dims: [1] }", "1:8", "output \"y\" needs a data_type"));
  EXPECT_TRUE(FailsAt("input { name: 'x' data_type: TYPE_FP32 dims: [3, 0] }", "1:50",
                      "dims of input \"x\" must be positive or -1 (variable), got 0"));
  EXPECT_TRUE(FailsAt("input { name: 'x' data_type: TYPE_FP32 dims: -2 }", "1:46", "got -2"));
  EXPECT_TRUE(FailsAt("input { name: 'x' data_type: TYPE_FP32 reshape { shape: [0] } }", "1:58",
                      "reshape of input \"x\" must be positive"));
  EXPECT_TRUE(FailsAt("input { name: 'x' data_type: TYPE_FP32 }\ninput { name: 'x' data_type: TYPE_FP32 }", "2:15",
                      "input \"x\" is declared twice"));
}

TEST(ModelConfigErrorTest, Parameters) {
  EXPECT_TRUE(FailsAt("parameters { key: 'a' value { string_value: '1' } }\nparameters { key: 'a' }", "2:19",
                      "parameter \"a\" is given twice"));
  EXPECT_TRUE(FailsAt("parameters { value { string_value: '1' } }", "1:12", "parameters entry needs a non-empty key"));
}

TEST(ModelConfigErrorTest, SyntaxErrors) {
  EXPECT_TRUE(FailsAt("max_batch_size 8", "1:16", "expected ':' or '{' after field name \"max_batch_size\", found '8'"));
  EXPECT_TRUE(FailsAt("max_batch_size:", "1:16", "expected a value for field \"max_batch_size\", found end of input"));
  EXPECT_TRUE(FailsAt("input { dims [1] }", "1:15", "expected ':' or '{' after field name \"dims\""));
  EXPECT_TRUE(FailsAt("name: \"abc\nmax_batch_size: 1", "1:7", "string is missing its closing \""));
  EXPECT_TRUE(FailsAt("name: 'abc", "1:7", "string is missing its closing '"));
  EXPECT_TRUE(FailsAt("name: \"a\\qb\"", "1:9", "unknown escape sequence \"\\\\q\""));
  EXPECT_TRUE(FailsAt("name: \"\\ud800\"", "1:8", "not a valid Unicode code point"));
  EXPECT_TRUE(FailsAt("dynamic_batching {\n  max_queue_delay_microseconds: 1\n", "3:1",
                      "expected '}' to close field \"dynamic_batching\" opened at 1:18, found end of input"));
  EXPECT_TRUE(FailsAt("dynamic_batching < max_queue_delay_microseconds: 1 }", "1:52", "expected a field name, found '}'"));
  EXPECT_TRUE(FailsAt("name: 'a' }", "1:11", "expected a field name, found '}'"));
  EXPECT_TRUE(FailsAt("max_batch_size: 12abc", "1:17", "invalid number \"12abc\""));
  EXPECT_TRUE(FailsAt("max_batch_size: 1.2.3", "1:17", "invalid number \"1.2.3\""));
  EXPECT_TRUE(FailsAt("max_batch_size: 09", "1:17", "invalid octal number \"09\""));
  EXPECT_TRUE(FailsAt("max_batch_size: 0x", "1:17", "hex number \"0x\" has no digits"));
  EXPECT_TRUE(FailsAt("max_batch_size: -x", "1:18", "expected a number after '-', found 'x'"));
  EXPECT_TRUE(FailsAt("dynamic_batching { preferred_batch_size: [1 2] }", "1:45", "expected ',' or ']'"));
  EXPECT_TRUE(FailsAt("dynamic_batching { preferred_batch_size: [1, 2 }", "1:48", "expected ',' or ']'"));
  EXPECT_TRUE(FailsAt("name: 'a' @", "1:11", "unexpected character \"@\""));
  EXPECT_TRUE(FailsAt("name: 'a',, max_batch_size: 1", "1:11", "expected a field name, found ','"));
  EXPECT_TRUE(FailsAt("\"name\": 'a'", "1:1", "expected a field name, found string \"name\""));
  EXPECT_TRUE(FailsAt("[ext.field]: 1", "1:1", "expected a field name, found '['"));
}

TEST(ModelConfigErrorTest, DeepNestingIsRefusedNotOverflowed) {
  // "model_warmup { a { a { ..." with the k-th '{' (from 0) at column 14 + 4k and depth k + 1.
  auto nested = [](int depth) {
    std::string text = "model_warmup ";
    for (int i = 1; i < depth; ++i) text += "{ a ";
    text += "{ }";
    for (int i = 1; i < depth; ++i) text += " }";
    return text;
  };
  EXPECT_NO_THROW(Parse(nested(kPbtxtMaxNesting)));
  EXPECT_TRUE(FailsAt(nested(kPbtxtMaxNesting + 1), "1:" + std::to_string(14 + 4 * kPbtxtMaxNesting),
                      "messages are nested more than 100 deep"));
  EXPECT_TRUE(FailsAt(nested(100000), "1:" + std::to_string(14 + 4 * kPbtxtMaxNesting), "nested more than 100 deep"));
}

TEST(ModelConfigErrorTest, ErrorPositionsCountLinesAndColumns) {
  const std::string text =
      "# header comment\n"
      "name: \"m\"  # trailing\n"
      "\n"
      "dynamic_batching {\n"
      "  preferred_batch_size: [\n"
      "    1,\n"
      "    \"two\"\n"
      "  ]\n"
      "}\n";
  EXPECT_TRUE(FailsAt(text, "7:5", "expects an integer, found string \"two\""));
}

// --- Files ---

class ModelConfigFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("mms_cfg_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string Write(const std::string& text) const {
    const std::string path = (dir_ / "config.pbtxt").string();
    std::ofstream(path, std::ios::binary) << text;
    return path;
  }
  std::filesystem::path dir_;
};

TEST_F(ModelConfigFileTest, LoadsAFile) {
  const ModelConfig c = LoadModelConfig(Write(std::string(kFullConfig)));
  EXPECT_EQ(c.name, "clip");
  EXPECT_EQ(c.instance_count, 2);
}

TEST_F(ModelConfigFileTest, ErrorsNameThePath) {
  const std::string path = Write("max_batch_size: -1\n");
  try {
    LoadModelConfig(path);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidModel);
    EXPECT_EQ(std::string(e.what()), path + ":1:17: max_batch_size must not be negative, got -1");
  }
}

TEST_F(ModelConfigFileTest, MissingFileOrDirectoryIsInvalidModel) {
  const std::string missing = (dir_ / "nope" / "config.pbtxt").string();
  for (const std::string& path : {missing, dir_.string()}) {
    try {
      LoadModelConfig(path);
      FAIL() << "no error for " << path;
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kInvalidModel);
      EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
    }
  }
}

// --- JSON, as Triton's model configuration endpoint shows it ---

TEST(ModelConfigJsonTest, FullConfig) {
  const nlohmann::json j = ModelConfigToJson(Parse(kFullConfig));
  EXPECT_EQ(j["name"], "clip");
  EXPECT_EQ(j["backend"], "clip");
  EXPECT_EQ(j["platform"], "");
  EXPECT_EQ(j["max_batch_size"], 8);
  EXPECT_EQ(j["version_policy"], nlohmann::json::parse(R"({"latest": {"num_versions": 2}})"));
  EXPECT_EQ(j["instance_group"], nlohmann::json::parse(R"([{"count": 2, "kind": "KIND_CPU"}])"));
  EXPECT_EQ(j["parameters"],
            nlohmann::json::parse(R"({"precision": {"string_value": "bf16"}, "intra_op_threads": {"string_value": "4"}})"));
  EXPECT_EQ(j["dynamic_batching"], nlohmann::json::parse(R"({
      "preferred_batch_size": [4, 8],
      "max_queue_delay_microseconds": 100,
      "default_queue_policy": {"timeout_action": "REJECT", "default_timeout_microseconds": 500000,
                               "allow_timeout_override": true, "max_queue_size": 64}})"));
  EXPECT_EQ(j["input"], nlohmann::json::parse(R"([
      {"name": "TEXT", "data_type": "TYPE_STRING", "dims": [1]},
      {"name": "IMAGE", "data_type": "TYPE_UINT8", "dims": [-1]}])"));
  EXPECT_EQ(j["output"][0], nlohmann::json::parse(R"({"name": "TEXT_EMBEDS", "data_type": "TYPE_FP32", "dims": [512]})"));
  EXPECT_FALSE(j.dump().empty());
}

TEST(ModelConfigJsonTest, DefaultsAndOtherPolicies) {
  const nlohmann::json defaults = ModelConfigToJson(Parse(""));
  EXPECT_EQ(defaults["version_policy"], nlohmann::json::parse(R"({"latest": {"num_versions": 1}})"));
  EXPECT_EQ(defaults["instance_group"], nlohmann::json::parse(R"([{"count": 1, "kind": "KIND_CPU"}])"));
  EXPECT_EQ(defaults["parameters"], nlohmann::json::object());
  EXPECT_EQ(defaults["input"], nlohmann::json::array());
  EXPECT_FALSE(defaults.contains("dynamic_batching"));

  EXPECT_EQ(ModelConfigToJson(Parse("version_policy { all { } }"))["version_policy"],
            nlohmann::json::parse(R"({"all": {}})"));
  EXPECT_EQ(ModelConfigToJson(Parse("version_policy { specific { versions: [2, 5] } }"))["version_policy"],
            nlohmann::json::parse(R"({"specific": {"versions": [2, 5]}})"));
  const nlohmann::json empty_batching = ModelConfigToJson(Parse("dynamic_batching { }"))["dynamic_batching"];
  EXPECT_EQ(empty_batching["preferred_batch_size"], nlohmann::json::array());
  EXPECT_EQ(empty_batching["default_queue_policy"]["timeout_action"], "REJECT");
}

TEST(ModelConfigJsonTest, NonAsciiStringsSurviveDump) {
  const nlohmann::json j = ModelConfigToJson(Parse(R"(name: "mod\u00e8le" parameters { key: "k" value { string_value: "\xc3\xa9" } })"));
  EXPECT_EQ(j.dump(), nlohmann::json::parse(j.dump()).dump());
  EXPECT_EQ(j["name"], "mod\xc3\xa8le");
  EXPECT_EQ(j["parameters"]["k"]["string_value"], "\xc3\xa9");
}

}  // namespace
}  // namespace mms::io
