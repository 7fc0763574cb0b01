// Triton-style model configuration (config.pbtxt, protobuf text format) for the models of a
// model repository: the subset of Triton's ModelConfig that mmserve acts on, read without
// libprotobuf. Fields Triton users commonly write but mmserve does not act on (tensor
// specs, warmup, optimization hints) are accepted so that existing configs load; fields
// that would change behaviour mmserve cannot provide (GPU instances, sequence batching,
// ensembles) are refused with a message that says so.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mms::io {

struct QueuePolicy {
  int64_t max_queue_size = 0;                // 0 = unbounded
  int64_t default_timeout_microseconds = 0;  // 0 = none
  bool allow_timeout_override = false;
  std::string timeout_action = "REJECT";     // REJECT | DELAY
};

struct DynamicBatching {
  std::vector<int64_t> preferred_batch_size;
  int64_t max_queue_delay_microseconds = 0;
  QueuePolicy default_queue_policy;
};

struct VersionPolicy {
  enum class Kind { kLatest, kAll, kSpecific };
  Kind kind = Kind::kLatest;
  int64_t num_versions = 1;     // kLatest: how many of the newest versions to serve (>= 1)
  std::vector<int64_t> versions;  // kSpecific: the versions to serve (each >= 1)
};

struct TensorSpec {
  std::string name;
  std::string data_type;  // TYPE_STRING, TYPE_FP32, ... as Triton spells it
  std::vector<int64_t> dims;  // -1 = variable size
};

struct ModelConfig {
  std::string name, platform, backend;
  int64_t max_batch_size = 0;
  VersionPolicy version_policy;
  std::optional<DynamicBatching> dynamic_batching;  // present iff the block appears, even empty
  int64_t instance_count = 1;                       // sum of instance_group[].count (1 when none is given)
  std::map<std::string, std::string> parameters;    // key -> string_value
  std::vector<TensorSpec> inputs, outputs;          // kept as written; checked for shape only
};

// Parses config.pbtxt text. Any error is Error(kInvalidModel, "<source_name>:<line>:<col>: <what>").
// Empty text is a valid config with every field at its default.
ModelConfig ParseModelConfig(std::string_view text, const std::string& source_name);

// Reads and parses a file; a missing file is Error(kInvalidModel) naming it.
ModelConfig LoadModelConfig(const std::string& path);

// The config as Triton's GET /v2/models/{model}/config returns it: Triton's field names,
// numbers as JSON numbers, instance groups folded into one KIND_CPU group of instance_count.
nlohmann::json ModelConfigToJson(const ModelConfig& config);

}  // namespace mms::io
