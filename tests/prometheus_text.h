// Reading Prometheus's text exposition format (0.0.4) in tests: the samples with their
// labels, and the declared type of each family, so that tests assert on values rather
// than on how the serializer happens to order labels.
#pragma once

#include <cstdlib>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

namespace mms::testing {

struct PromSample {
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0;
};

// Every sample line; comments and blank lines are skipped. Label values are unescaped.
inline std::vector<PromSample> ParsePromSamples(const std::string& text) {
  std::vector<PromSample> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    PromSample s;
    size_t i = line.find_first_of("{ ");
    s.name = line.substr(0, i);
    if (i != std::string::npos && line[i] == '{') {
      ++i;
      while (i < line.size() && line[i] != '}') {
        const size_t eq = line.find('=', i);
        const std::string key = line.substr(i, eq - i);
        std::string value;
        size_t j = eq + 2;  // past ="
        for (; j < line.size() && line[j] != '"'; ++j) {
          if (line[j] == '\\' && j + 1 < line.size()) {
            ++j;
            value += line[j] == 'n' ? '\n' : line[j];
          } else {
            value += line[j];
          }
        }
        s.labels[key] = value;
        i = j + 1;
        if (i < line.size() && line[i] == ',') ++i;
      }
      ++i;  // past }
    }
    const std::string rest = i < line.size() ? line.substr(i) : "";
    const size_t start = rest.find_first_not_of(' ');
    if (start == std::string::npos) continue;
    const std::string number = rest.substr(start, rest.find(' ', start) - start);
    s.value = number == "+Inf" ? 1e300 : number == "-Inf" ? -1e300 : std::strtod(number.c_str(), nullptr);
    out.push_back(std::move(s));
  }
  return out;
}

// The value of the sample named `name` whose labels include all of `labels`; the sum over
// every such sample when several match (e.g. all status codes of a route). nullopt when none does.
inline std::optional<double> PromValue(const std::vector<PromSample>& samples, const std::string& name,
                                       const std::map<std::string, std::string>& labels = {}) {
  std::optional<double> sum;
  for (const PromSample& s : samples) {
    if (s.name != name) continue;
    bool match = true;
    for (const auto& [k, v] : labels) {
      auto it = s.labels.find(k);
      if (it == s.labels.end() || it->second != v) {
        match = false;
        break;
      }
    }
    if (match) sum = sum.value_or(0) + s.value;
  }
  return sum;
}

// "# TYPE name type" lines: family name -> counter, gauge, histogram, summary, untyped.
inline std::map<std::string, std::string> PromTypes(const std::string& text) {
  std::map<std::string, std::string> types;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("# TYPE ", 0) != 0) continue;
    std::istringstream fields(line.substr(7));
    std::string name, type;
    fields >> name >> type;
    types[name] = type;
  }
  return types;
}

}  // namespace mms::testing
