#include "io/model_config.h"

#include <algorithm>
#include <filesystem>
#include <set>

#include "base/error.h"
#include "base/file_util.h"
#include "io/pbtxt_reader.h"
#include "io/pbtxt_schema.h"
#include "io/pbtxt_text.h"

namespace mms::io {
namespace {

MessageSchema Schema(std::string name, std::vector<FieldSchema> fields) {
  MessageSchema schema;
  schema.name = std::move(name);
  schema.fields = std::move(fields);
  return schema;
}

// Accepted so that configs written for Triton load, and otherwise ignored.
MessageSchema IgnoredContents(std::string name) {
  MessageSchema schema = Schema(std::move(name), {});
  schema.contents_unchecked = true;
  return schema;
}

const std::vector<std::string> kDataTypes = {
    "TYPE_BOOL",  "TYPE_UINT8", "TYPE_UINT16", "TYPE_UINT32", "TYPE_UINT64", "TYPE_INT8",   "TYPE_INT16",
    "TYPE_INT32", "TYPE_INT64", "TYPE_FP16",   "TYPE_FP32",   "TYPE_FP64",   "TYPE_STRING", "TYPE_BF16"};

// Triton's ModelConfig messages (model_config.proto), as far as mmserve reads them. Each
// message is a member so that later messages can point at earlier ones; the names are
// Triton's, so errors read like Triton's own ("unknown field ... in ModelInstanceGroup").
struct TritonSchemas {
  using T = FieldType;

  MessageSchema queue_policy = Schema("ModelQueuePolicy", {
      EnumField("timeout_action", {"REJECT", "DELAY"}),
      ScalarField("default_timeout_microseconds", T::kUInt64),
      ScalarField("allow_timeout_override", T::kBool),
      ScalarField("max_queue_size", T::kUInt32),
  });
  MessageSchema dynamic_batching = Schema("ModelDynamicBatching", {
      Repeated(ScalarField("preferred_batch_size", T::kInt32)),
      ScalarField("max_queue_delay_microseconds", T::kUInt64),
      ScalarField("preserve_ordering", T::kBool),       // accepted, ignored
      ScalarField("priority_levels", T::kUInt64),       // accepted, ignored
      ScalarField("default_priority_level", T::kUInt64),  // accepted, ignored
      MessageField("default_queue_policy", queue_policy),
      UnsupportedField("priority_queue_policy", "per-priority queue policies are not implemented; "
                                                "use default_queue_policy"),
  });

  MessageSchema latest = Schema("ModelVersionPolicy.Latest", {ScalarField("num_versions", T::kUInt32)});
  MessageSchema all = Schema("ModelVersionPolicy.All", {});
  MessageSchema specific = Schema("ModelVersionPolicy.Specific", {Repeated(ScalarField("versions", T::kInt64))});
  MessageSchema version_policy = Schema("ModelVersionPolicy", {
      InOneof("policy_choice", MessageField("latest", latest)),
      InOneof("policy_choice", MessageField("all", all)),
      InOneof("policy_choice", MessageField("specific", specific)),
  });

  MessageSchema instance_group = Schema("ModelInstanceGroup", {
      ScalarField("name", T::kString),
      EnumField("kind", {"KIND_AUTO", "KIND_GPU", "KIND_CPU", "KIND_MODEL"}),
      ScalarField("count", T::kInt32),
      Repeated(ScalarField("gpus", T::kInt32)),
  });

  MessageSchema parameter_value = Schema("ModelParameter", {ScalarField("string_value", T::kString)});
  // A protobuf map<string, ModelParameter> is written as repeated {key value} entries.
  MessageSchema parameter_entry = Schema("parameters", {
      ScalarField("key", T::kString),
      MessageField("value", parameter_value),
  });

  MessageSchema reshape = Schema("ModelTensorReshape", {Repeated(ScalarField("shape", T::kInt64))});
  MessageSchema input = Schema("ModelInput", {
      ScalarField("name", T::kString),
      EnumField("data_type", kDataTypes),
      EnumField("format", {"FORMAT_NONE", "FORMAT_NHWC", "FORMAT_NCHW"}),  // accepted, ignored
      Repeated(ScalarField("dims", T::kInt64)),
      MessageField("reshape", reshape),  // accepted, checked, ignored
      ScalarField("optional", T::kBool),  // accepted, ignored
  });
  MessageSchema output = Schema("ModelOutput", {
      ScalarField("name", T::kString),
      EnumField("data_type", kDataTypes),
      Repeated(ScalarField("dims", T::kInt64)),
      MessageField("reshape", reshape),
      UnsupportedField("label_filename", "classification labels are not implemented"),
  });

  MessageSchema warmup = IgnoredContents("ModelWarmup");
  MessageSchema optimization = IgnoredContents("ModelOptimizationPolicy");

  MessageSchema model_config = Schema("ModelConfig", {
      ScalarField("name", T::kString),
      ScalarField("platform", T::kString),
      ScalarField("backend", T::kString),
      ScalarField("max_batch_size", T::kInt32),
      MessageField("version_policy", version_policy),
      MessageField("dynamic_batching", dynamic_batching),
      Repeated(MessageField("instance_group", instance_group)),
      Repeated(MessageField("parameters", parameter_entry)),
      Repeated(MessageField("input", input)),
      Repeated(MessageField("output", output)),
      Repeated(MessageField("model_warmup", warmup)),          // accepted, ignored
      MessageField("optimization", optimization),               // accepted, ignored
      ScalarField("default_model_filename", T::kString),      // accepted, ignored
      UnsupportedField("sequence_batching", "sequence batching is not implemented; use dynamic_batching"),
      UnsupportedField("ensemble_scheduling", "ensembles are not implemented"),
      UnsupportedField("batch_input", "ragged batching is not implemented"),
      UnsupportedField("batch_output", "ragged batching is not implemented"),
      UnsupportedField("model_transaction_policy", "decoupled models are not implemented"),
      UnsupportedField("response_cache", "the response cache is not implemented"),
      UnsupportedField("cc_model_filenames", "GPU instances are not supported"),
  });
};

const TritonSchemas& Schemas() {
  static const TritonSchemas schemas;
  return schemas;
}

VersionPolicy ReadVersionPolicy(const std::optional<PbtxtView>& view) {
  VersionPolicy policy;  // no block, or an empty one: serve the latest version
  if (!view) return policy;
  if (const auto latest = view->Message("latest")) {
    const auto n = latest->Int("num_versions", 1);
    if (n.value < 1) latest->Fail(n.position, "num_versions must be at least 1, got " + std::to_string(n.value));
    policy.num_versions = n.value;
  } else if (view->Message("all")) {
    policy.kind = VersionPolicy::Kind::kAll;
  } else if (const auto specific = view->Message("specific")) {
    policy.kind = VersionPolicy::Kind::kSpecific;
    for (const auto& v : specific->Ints("versions")) {
      if (v.value < 1) specific->Fail(v.position, "version numbers must be positive, got " + std::to_string(v.value));
      if (std::find(policy.versions.begin(), policy.versions.end(), v.value) != policy.versions.end()) {
        specific->Fail(v.position, "version " + std::to_string(v.value) + " is listed twice");
      }
      policy.versions.push_back(v.value);
    }
    if (policy.versions.empty()) specific->Fail(specific->position(), "a specific version policy needs at least one version");
  }
  return policy;
}

// Bounds on what a config.pbtxt may ask for. A model folder is input like any other: an
// instance count in the billions would create that many instances at load, and a delay
// past INT64_MAX microseconds wraps negative once it becomes a std::chrono duration.
constexpr int64_t kMaxBatchSize = 65536;
constexpr int64_t kMaxInstances = 256;
constexpr uint64_t kMaxMicroseconds = 3'600'000'000;  // one hour

void CheckMicroseconds(const PbtxtView& view, const Located<int64_t>& value, const std::string& field) {
  if (value.value < 0 || static_cast<uint64_t>(value.value) > kMaxMicroseconds) {
    view.Fail(value.position, field + " " + std::to_string(value.value) + " is over the limit of " +
                                  std::to_string(kMaxMicroseconds) + " (one hour)");
  }
}

DynamicBatching ReadDynamicBatching(const PbtxtView& view, int64_t max_batch_size) {
  DynamicBatching batching;
  for (const auto& size : view.Ints("preferred_batch_size")) {
    if (size.value < 1) {
      view.Fail(size.position, "preferred_batch_size must be positive, got " + std::to_string(size.value));
    }
    if (size.value > max_batch_size) {
      view.Fail(size.position, "preferred_batch_size " + std::to_string(size.value) + " is larger than max_batch_size " +
                                   std::to_string(max_batch_size));
    }
    batching.preferred_batch_size.push_back(size.value);
  }
  const auto delay = view.Int("max_queue_delay_microseconds", 0);
  CheckMicroseconds(view, delay, "max_queue_delay_microseconds");
  batching.max_queue_delay_microseconds = delay.value;
  if (const auto queue = view.Message("default_queue_policy")) {
    QueuePolicy& policy = batching.default_queue_policy;
    policy.timeout_action = queue->String("timeout_action", "REJECT").value;
    const auto timeout = queue->Int("default_timeout_microseconds", 0);
    CheckMicroseconds(*queue, timeout, "default_timeout_microseconds");
    policy.default_timeout_microseconds = timeout.value;
    policy.allow_timeout_override = queue->Bool("allow_timeout_override", false).value;
    policy.max_queue_size = queue->Int("max_queue_size", 0).value;
  }
  return batching;
}

// mmserve runs every instance on the CPU, so the instance groups reduce to a count.
int64_t ReadInstanceCount(const PbtxtView& root) {
  const auto groups = root.Messages("instance_group");
  if (groups.empty()) return 1;
  int64_t total = 0;
  for (const PbtxtView& group : groups) {
    const auto kind = group.String("kind", "KIND_AUTO");
    if (kind.value == "KIND_GPU") {
      group.Fail(kind.position, "GPU instances are not supported (instance_group kind KIND_GPU); use KIND_CPU");
    }
    if (kind.value == "KIND_MODEL") {
      group.Fail(kind.position, "instance_group kind KIND_MODEL is not supported; use KIND_CPU or KIND_AUTO");
    }
    const auto gpus = group.Ints("gpus");
    if (!gpus.empty()) group.Fail(gpus[0].position, "GPU instances are not supported (instance_group gpus)");
    const auto count = group.Int("count", 1);
    if (count.value < 1) group.Fail(count.position, "instance_group count must be at least 1, got " + std::to_string(count.value));
    total += count.value;  // int32 counts: the int64 sum cannot overflow
    if (total > kMaxInstances) {
      group.Fail(count.position, "instance_group counts add up to " + std::to_string(total) + ", over the limit of " +
                                     std::to_string(kMaxInstances) + " instances");
    }
  }
  return total;
}

std::map<std::string, std::string> ReadParameters(const PbtxtView& root) {
  std::map<std::string, std::string> parameters;
  for (const PbtxtView& entry : root.Messages("parameters")) {
    const auto key = entry.String("key", "");
    if (key.value.empty()) entry.Fail(entry.position(), "parameters entry needs a non-empty key");
    std::string value;
    if (const auto v = entry.Message("value")) value = v->String("string_value", "").value;
    if (!parameters.emplace(key.value, value).second) {
      entry.Fail(key.position, "parameter " + QuoteForMessage(key.value) + " is given twice");
    }
  }
  return parameters;
}

void CheckDims(const PbtxtView& view, const std::vector<Located<int64_t>>& dims, const std::string& what) {
  for (const auto& d : dims) {
    if (d.value < 1 && d.value != -1) {
      view.Fail(d.position, what + " must be positive or -1 (variable), got " + std::to_string(d.value));
    }
  }
}

// `field` is "input" or "output"; Triton users write them and we keep them, checking only
// that each has a name, a type and a plausible shape.
std::vector<TensorSpec> ReadTensors(const PbtxtView& root, const std::string& field) {
  std::vector<TensorSpec> tensors;
  std::set<std::string> names;
  for (const PbtxtView& view : root.Messages(field)) {
    TensorSpec spec;
    const auto name = view.String("name", "");
    if (name.value.empty()) view.Fail(view.position(), field + " needs a name");
    spec.name = name.value;
    const std::string quoted = QuoteForMessage(spec.name);
    if (!names.insert(spec.name).second) view.Fail(name.position, field + " " + quoted + " is declared twice");
    if (!view.Has("data_type")) view.Fail(view.position(), field + " " + quoted + " needs a data_type");
    spec.data_type = view.String("data_type", "").value;
    const auto dims = view.Ints("dims");
    CheckDims(view, dims, "dims of " + field + " " + quoted);
    for (const auto& d : dims) spec.dims.push_back(d.value);
    if (const auto reshape = view.Message("reshape")) {
      CheckDims(*reshape, reshape->Ints("shape"), "reshape of " + field + " " + quoted);
    }
    tensors.push_back(std::move(spec));
  }
  return tensors;
}

ModelConfig ReadModelConfig(const PbtxtView& root) {
  ModelConfig config;
  config.name = root.String("name", "").value;
  config.platform = root.String("platform", "").value;
  config.backend = root.String("backend", "").value;
  const auto max_batch_size = root.Int("max_batch_size", 0);
  if (max_batch_size.value < 0) {
    root.Fail(max_batch_size.position, "max_batch_size must not be negative, got " + std::to_string(max_batch_size.value));
  }
  if (max_batch_size.value > kMaxBatchSize) {
    root.Fail(max_batch_size.position, "max_batch_size " + std::to_string(max_batch_size.value) +
                                           " is over the limit of " + std::to_string(kMaxBatchSize));
  }
  config.max_batch_size = max_batch_size.value;
  config.version_policy = ReadVersionPolicy(root.Message("version_policy"));
  if (const auto batching = root.Message("dynamic_batching")) {
    config.dynamic_batching = ReadDynamicBatching(*batching, config.max_batch_size);
  }
  config.instance_count = ReadInstanceCount(root);
  config.parameters = ReadParameters(root);
  config.inputs = ReadTensors(root, "input");
  config.outputs = ReadTensors(root, "output");
  return config;
}

nlohmann::json TensorsToJson(const std::vector<TensorSpec>& tensors) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& t : tensors) out.push_back({{"name", t.name}, {"data_type", t.data_type}, {"dims", t.dims}});
  return out;
}

nlohmann::json VersionPolicyToJson(const VersionPolicy& policy) {
  switch (policy.kind) {
    case VersionPolicy::Kind::kAll: return {{"all", nlohmann::json::object()}};
    case VersionPolicy::Kind::kSpecific: return {{"specific", {{"versions", policy.versions}}}};
    case VersionPolicy::Kind::kLatest: break;
  }
  return {{"latest", {{"num_versions", policy.num_versions}}}};
}

}  // namespace

ModelConfig ParseModelConfig(std::string_view text, const std::string& source_name) {
  const PbtxtMessage tree = ParsePbtxt(text, source_name);
  const MessageSchema& schema = Schemas().model_config;
  CheckAgainstSchema(tree, schema, source_name);
  return ReadModelConfig(PbtxtView(tree, schema, source_name));
}

ModelConfig LoadModelConfig(const std::string& path) {
  // An ifstream opens a directory without complaint and reads nothing, which would pass
  // for an empty (valid) config.
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) ThrowInvalidModel("model config " + path + " is a directory");
  std::string text;
  try {
    text = ReadFileBytes(path);
  } catch (const Error& e) {
    ThrowInvalidModel(std::string("model config: ") + e.what());
  }
  return ParseModelConfig(text, path);
}

nlohmann::json ModelConfigToJson(const ModelConfig& config) {
  nlohmann::json j = {
      {"name", config.name},
      {"platform", config.platform},
      {"backend", config.backend},
      {"max_batch_size", config.max_batch_size},
      {"version_policy", VersionPolicyToJson(config.version_policy)},
      {"instance_group", nlohmann::json::array({{{"count", config.instance_count}, {"kind", "KIND_CPU"}}})},
      {"input", TensorsToJson(config.inputs)},
      {"output", TensorsToJson(config.outputs)},
  };
  nlohmann::json parameters = nlohmann::json::object();
  for (const auto& [key, value] : config.parameters) parameters[key] = {{"string_value", value}};
  j["parameters"] = std::move(parameters);
  if (config.dynamic_batching) {
    const DynamicBatching& b = *config.dynamic_batching;
    const QueuePolicy& q = b.default_queue_policy;
    j["dynamic_batching"] = {
        {"preferred_batch_size", b.preferred_batch_size},
        {"max_queue_delay_microseconds", b.max_queue_delay_microseconds},
        {"default_queue_policy",
         {{"timeout_action", q.timeout_action},
          {"default_timeout_microseconds", q.default_timeout_microseconds},
          {"allow_timeout_override", q.allow_timeout_override},
          {"max_queue_size", q.max_queue_size}}},
    };
  }
  return j;
}

}  // namespace mms::io
