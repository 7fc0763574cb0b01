// mmserve-loadgen: a bounded closed-loop load on /predict or KServe infer from N
// concurrent keep-alive clients, reporting throughput and latency quantiles as JSON.
//
//   mmserve-loadgen --port 8080 --clients 32 --requests 640 --image cat.png
//                   --texts '["a cat","a dog"]' [--mode predict|kserve] [--model clip]
#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace {

struct Options {
  std::string host = "127.0.0.1";
  int port = 8080;
  int clients = 8;
  int requests = 100;
  std::string mode = "predict";
  std::string model = "clip";
  std::string image_path;
  std::string texts_json = R"(["a photo of a cat","a photo of a dog"])";
  int distinct = 0;  // > 0: request i's last text gets " #(i mod distinct)", so that caches see repeats
};

[[noreturn]] void Usage(const std::string& why) {
  std::fprintf(stderr, "mmserve-loadgen: %s\nusage: mmserve-loadgen --image F [--host H] [--port P] [--clients N] "
                       "[--requests M] [--texts JSON] [--mode predict|kserve] [--model NAME] [--distinct K]\n", why.c_str());
  std::exit(2);
}

Options Parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (i + 1 >= argc) Usage(flag + " needs a value");
    const std::string v = argv[++i];
    if (flag == "--host") o.host = v;
    else if (flag == "--port") o.port = std::stoi(v);
    else if (flag == "--clients") o.clients = std::stoi(v);
    else if (flag == "--requests") o.requests = std::stoi(v);
    else if (flag == "--mode") o.mode = v;
    else if (flag == "--model") o.model = v;
    else if (flag == "--image") o.image_path = v;
    else if (flag == "--texts") o.texts_json = v;
    else if (flag == "--distinct") o.distinct = std::stoi(v);
    else Usage("unknown option " + flag);
  }
  if (o.image_path.empty()) Usage("--image is required");
  if (o.mode != "predict" && o.mode != "kserve") Usage("--mode must be predict or kserve");
  if (o.clients < 1 || o.requests < 1) Usage("--clients and --requests must be positive");
  return o;
}

// A KServe binary-tensor request: the JSON header, then each BYTES element as a 4-byte
// little-endian length and its bytes (the form Triton's HTTP clients send).
std::string KServeBinaryBody(const std::string& image, const std::vector<std::string>& texts, size_t* header_len) {
  auto element = [](const std::string& s) {
    std::string out(4, '\0');
    const uint32_t n = static_cast<uint32_t>(s.size());
    for (int i = 0; i < 4; ++i) out[i] = static_cast<char>((n >> (8 * i)) & 0xff);
    return out + s;
  };
  const std::string image_data = element(image);
  std::string text_data;
  for (const auto& t : texts) text_data += element(t);
  const nlohmann::json header = {
      {"inputs",
       {{{"name", "IMAGE"}, {"datatype", "BYTES"}, {"shape", {1}}, {"parameters", {{"binary_data_size", image_data.size()}}}},
        {{"name", "TEXT"}, {"datatype", "BYTES"}, {"shape", {texts.size()}}, {"parameters", {{"binary_data_size", text_data.size()}}}}}},
      {"outputs", {{{"name", "PROBS"}}}}};
  const std::string h = header.dump();
  *header_len = h.size();
  return h + image_data + text_data;
}

}  // namespace

int main(int argc, char** argv) {
  const Options o = Parse(argc, argv);
  std::ifstream in(o.image_path, std::ios::binary);
  if (!in) Usage("cannot read " + o.image_path);
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string image = ss.str();
  const std::vector<std::string> texts = nlohmann::json::parse(o.texts_json).get<std::vector<std::string>>();
  size_t header_len = 0;
  const std::string kserve_body = KServeBinaryBody(image, texts, &header_len);

  std::atomic<int> next{0};
  std::mutex mutex;
  std::vector<double> latencies_ms;
  std::map<int, int> statuses;  // -1 = no response
  std::map<std::string, int> errors;
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> threads;
  for (int c = 0; c < o.clients; ++c) {
    threads.emplace_back([&] {
      httplib::Client client(o.host, o.port);
      client.set_keep_alive(true);
      // As curl, browsers and the usual HTTP client libraries do: without it, the request's
      // header and body go out as two writes, and Nagle's algorithm holds the body until
      // the server's delayed ACK of the header (40 ms on Linux), which is not the server's time.
      client.set_tcp_nodelay(true);
      client.set_read_timeout(300, 0);
      std::vector<double> mine;
      std::map<int, int> my_statuses;
      std::map<std::string, int> my_errors;  // why a request got no response, e.g. "Read"
      for (int i; (i = next.fetch_add(1)) < o.requests;) {
        std::vector<std::string> my_texts = texts;
        if (o.distinct > 0 && !my_texts.empty()) my_texts.back() += " #" + std::to_string(i % o.distinct);
        const auto t0 = std::chrono::steady_clock::now();
        httplib::Result res = [&] {
          if (o.mode == "predict") {
            httplib::MultipartFormDataItems items = {{"image", image, "image", "application/octet-stream"},
                                                     {"texts", nlohmann::json(my_texts).dump(), "", ""}};
            return client.Post("/predict", items);
          }
          size_t my_header_len = header_len;
          const std::string body = o.distinct > 0 ? KServeBinaryBody(image, my_texts, &my_header_len) : kserve_body;
          httplib::Headers headers = {{"Inference-Header-Content-Length", std::to_string(my_header_len)}};
          return client.Post(("/v2/models/" + o.model + "/infer").c_str(), headers, body, "application/octet-stream");
        }();
        mine.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
        ++my_statuses[res ? res->status : -1];
        if (!res) ++my_errors[httplib::to_string(res.error())];
      }
      std::lock_guard<std::mutex> lock(mutex);
      latencies_ms.insert(latencies_ms.end(), mine.begin(), mine.end());
      for (const auto& [s, n] : my_statuses) statuses[s] += n;
      for (const auto& [e, n] : my_errors) errors[e] += n;
    });
  }
  for (auto& t : threads) t.join();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::sort(latencies_ms.begin(), latencies_ms.end());
  auto quantile = [&](double q) {
    return latencies_ms.empty() ? 0.0 : latencies_ms[std::min(latencies_ms.size() - 1, static_cast<size_t>(q * latencies_ms.size()))];
  };
  int ok = statuses.count(200) ? statuses[200] : 0;
  nlohmann::json status_json = nlohmann::json::object();
  for (const auto& [s, n] : statuses) status_json[std::to_string(s)] = n;
  const nlohmann::json report = {{"mode", o.mode}, {"clients", o.clients}, {"sent", latencies_ms.size()}, {"ok", ok},
                                 {"failed", static_cast<int>(latencies_ms.size()) - ok}, {"statuses", status_json}, {"errors", errors},
                                 {"seconds", seconds}, {"requests_per_s", latencies_ms.size() / seconds},
                                 {"p50_ms", quantile(0.50)}, {"p90_ms", quantile(0.90)}, {"p99_ms", quantile(0.99)}};
  std::printf("%s\n", report.dump().c_str());
  return ok == static_cast<int>(latencies_ms.size()) ? 0 : 1;
}
