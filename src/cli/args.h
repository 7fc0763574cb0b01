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
  // Every (flag, value) pair in command-line order.
  const std::vector<std::pair<std::string, std::string>>& ordered() const { return ordered_; }

 private:
  std::vector<std::pair<std::string, std::string>> ordered_;
};

}  // namespace mms::cli
