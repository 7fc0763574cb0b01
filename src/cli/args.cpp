#include "cli/args.h"

#include <cstdlib>

#include <nlohmann/json.hpp>

#include "base/error.h"
#include "base/file_util.h"

namespace mms::cli {

Args::Args(int argc, char** argv, int first, const std::set<std::string>& value_flags,
           const std::set<std::string>& switch_flags)
    : value_flags_(value_flags), switch_flags_(switch_flags) {
  for (int i = first; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg.rfind("--", 0) != 0) ThrowInvalidArgument("unexpected argument \"" + arg + "\"");
    std::string name = arg.substr(2), value;
    const size_t eq = name.find('=');
    const bool inline_value = eq != std::string::npos;
    if (inline_value) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
    }
    if (switch_flags.count(name)) {
      if (inline_value) ThrowInvalidArgument("--" + name + " takes no value");
      ordered_.emplace_back(name, "true");
      continue;
    }
    if (!value_flags.count(name)) ThrowInvalidArgument("unknown option --" + name);
    if (!inline_value) {
      if (i + 1 >= argc) ThrowInvalidArgument("--" + name + " needs a value");
      value = argv[++i];
    }
    ordered_.emplace_back(name, value);
  }
}

bool Args::Has(const std::string& name) const {
  for (const auto& [k, v] : ordered_) {
    if (k == name) return true;
  }
  return false;
}

std::string Args::Get(const std::string& name, const std::string& fallback) const {
  std::string out = fallback;
  for (const auto& [k, v] : ordered_) {
    if (k == name) out = v;
  }
  return out;
}

std::string Args::Required(const std::string& name) const {
  if (!Has(name)) ThrowInvalidArgument("--" + name + " is required");
  return Get(name);
}

int Args::GetInt(const std::string& name, int fallback) const {
  if (!Has(name)) return fallback;
  const std::string v = Get(name);
  try {
    size_t used = 0;
    const int n = std::stoi(v, &used);
    if (used != v.size()) throw std::invalid_argument(v);
    return n;
  } catch (const std::exception&) {
    ThrowInvalidArgument("--" + name + " expects an integer, got \"" + v + "\"");
  }
}

double Args::GetDouble(const std::string& name, double fallback) const {
  if (!Has(name)) return fallback;
  const std::string v = Get(name);
  try {
    size_t used = 0;
    const double d = std::stod(v, &used);
    if (used != v.size()) throw std::invalid_argument(v);
    return d;
  } catch (const std::exception&) {
    ThrowInvalidArgument("--" + name + " expects a number, got \"" + v + "\"");
  }
}

std::vector<std::string> Args::All(const std::string& name) const {
  std::vector<std::string> out;
  for (const auto& [k, v] : ordered_) {
    if (k == name) out.push_back(v);
  }
  return out;
}

std::string Args::EnvironmentName(const std::string& prefix, const std::string& flag) {
  std::string name = prefix;
  for (char c : flag) name += c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return name;
}

void Args::ReadEnvironment(const std::string& prefix, const std::set<std::string>& list_flags) {
  std::vector<std::pair<std::string, std::string>> from_env;
  for (const auto& flag : value_flags_) {
    const char* value = std::getenv(EnvironmentName(prefix, flag).c_str());
    if (!value || Has(flag)) continue;
    if (!list_flags.count(flag)) {
      from_env.emplace_back(flag, value);
      continue;
    }
    std::string item;
    for (const char* p = value;; ++p) {
      if (*p == ',' || *p == '\0') {
        if (!item.empty()) from_env.emplace_back(flag, item);
        item.clear();
        if (*p == '\0') break;
      } else if (*p != ' ') {
        item += *p;
      }
    }
  }
  for (const auto& flag : switch_flags_) {
    const std::string name = EnvironmentName(prefix, flag);
    const char* value = std::getenv(name.c_str());
    if (!value || Has(flag)) continue;
    const std::string v = value;
    if (v == "1" || v == "true" || v == "yes" || v == "on") {
      from_env.emplace_back(flag, "true");
    } else if (!(v.empty() || v == "0" || v == "false" || v == "no" || v == "off")) {
      ThrowInvalidArgument(name + " must be 1/true/yes/on or 0/false/no/off, got \"" + v + "\"");
    }
  }
  // First, so that a later Get() of the same flag would still prefer the command line.
  ordered_.insert(ordered_.begin(), from_env.begin(), from_env.end());
}

void Args::ReadConfigFile(const std::string& path) {
  nlohmann::json config;
  try {
    config = nlohmann::json::parse(ReadFileBytes(path));
  } catch (const nlohmann::json::parse_error& e) {
    ThrowInvalidArgument(path + ": not valid JSON (error at byte " + std::to_string(e.byte) + ")");
  }
  if (!config.is_object()) ThrowInvalidArgument(path + ": must hold a JSON object of flag names and values");
  std::vector<std::pair<std::string, std::string>> from_file;
  for (const auto& [flag, value] : config.items()) {
    const std::string where = path + ": \"" + flag + "\"";
    if (flag == "config") ThrowInvalidArgument(where + ": a config file cannot name another");
    const bool is_switch = switch_flags_.count(flag) > 0;
    if (!is_switch && !value_flags_.count(flag)) ThrowInvalidArgument(where + " is not a flag of this command");
    if (Has(flag)) continue;  // the command line and the environment win
    auto scalar = [&](const nlohmann::json& v) -> std::string {
      if (v.is_string()) return v.get<std::string>();
      if (v.is_number_integer()) return std::to_string(v.get<int64_t>());
      if (v.is_number()) return std::to_string(v.get<double>());
      ThrowInvalidArgument(where + " must be a string or a number");
    };
    if (is_switch) {
      if (!value.is_boolean()) ThrowInvalidArgument(where + " must be true or false");
      if (value.get<bool>()) from_file.emplace_back(flag, "true");
    } else if (value.is_array()) {
      for (const auto& item : value) from_file.emplace_back(flag, scalar(item));
    } else {
      from_file.emplace_back(flag, scalar(value));
    }
  }
  ordered_.insert(ordered_.begin(), from_file.begin(), from_file.end());
}

}  // namespace mms::cli
