// A small command-line parser: `--name value`, `--name=value` and boolean `--name`,
// keeping every occurrence in order (embed's outputs follow the argument order).
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

namespace mms::cli {

class Args {
 public:
  // value_flags take a value; switch_flags do not. Anything else is an error naming it.
  Args(int argc, char** argv, int first, const std::set<std::string>& value_flags,
       const std::set<std::string>& switch_flags = {});

  bool Has(const std::string& name) const;
  std::string Get(const std::string& name, const std::string& fallback = "") const;  // last occurrence
  std::string Required(const std::string& name) const;
  int GetInt(const std::string& name, int fallback) const;
  double GetDouble(const std::string& name, double fallback) const;
  std::vector<std::string> All(const std::string& name) const;

  // Fills in each flag the command line did not give from the environment variable
  // PREFIX + the flag in upper snake case (--model-repository: MMSERVE_MODEL_REPOSITORY),
  // so that containers can be configured by environment alone; the command line wins.
  // Switches take 1/true/yes/on or 0/false/no/off; `list_flags` (repeatable ones) take
  // comma-separated values.
  void ReadEnvironment(const std::string& prefix, const std::set<std::string>& list_flags = {});
  static std::string EnvironmentName(const std::string& prefix, const std::string& flag);
  // Fills in flags neither the command line nor the environment gave from a JSON object
  // file: {"redis-url": "redis://cache:6379/0", "rate-limit": 5, "protect-health": true,
  // "load-model": ["a", "b"]}. Unknown keys and wrong types are errors naming the file.
  void ReadConfigFile(const std::string& path);
  // Every (flag, value) pair in command-line order.
  const std::vector<std::pair<std::string, std::string>>& ordered() const { return ordered_; }

 private:
  std::vector<std::pair<std::string, std::string>> ordered_;
  std::set<std::string> value_flags_, switch_flags_;
};

}  // namespace mms::cli
