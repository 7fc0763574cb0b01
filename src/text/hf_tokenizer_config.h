// What the server needs from tokenizer_config.json besides tokenizer.json: the BOS/EOS
// token strings, whether BOS/EOS are added, and the chat template.
#pragma once

#include <string>

namespace mms::text {

struct TokenizerConfig {
  std::string bos_token, eos_token;  // empty when not set
  bool add_bos_token = true, add_eos_token = false;
  std::string chat_template;  // empty = none
};

// Reads tokenizer_config.json. A missing file gives the defaults; a file that is not a JSON
// object, over 16 MiB, or with a field of the wrong type throws Error(kInvalidModel) naming
// the file and field. bos_token / eos_token may be a string or {"content": ...};
// chat_template a string or a list of {name, template} (the one named "default", else the first).
TokenizerConfig LoadTokenizerConfig(const std::string& path);

}  // namespace mms::text
