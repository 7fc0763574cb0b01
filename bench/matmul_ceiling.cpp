// mmserve-matmul-ceiling: what oneDNN's matmul alone achieves on a CLIP tower's linear
// layers, per precision, on this machine: the ceiling the bench scripts hold mmserve's
// encoder throughput against.
//
//   mmserve-matmul-ceiling [--case image-224] [--tokens 50] [--shapes 768x2304,768x768,768x3072,3072x768]
//                          [--batches 1,8,32] [--precisions fp32,bf16,int8] [--layers 12]
//                          [--threads 2] [--min-time 1]
//
// For each precision and batch, M = tokens * batch rows go through the four (K x N) weight
// shapes of one transformer layer (defaults: ViT-B/32's fused qkv, attention output, fc1,
// fc2). Weights are pre-packed (format_tag::any, reordered once, outside the timing), one
// distinct set per layer, cycled through as the tower does, so that weights stream from
// memory when they would in the model. Precisions:
//   fp32   f32 x f32 -> f32
//   bf16   bf16 x bf16 -> f32
//   int8   u8 x s8 -> f32 and s8 x s8 -> f32 (both timed; one line each, "src" says which),
//          with per-column output scales, as a dynamically quantised linear layer.
// Only the matrix products are timed (no quantisation of activations, no bias, no epilogue).
// One JSON line per point: case, precision, src, batch, m, gflop (one layer), median_ms,
// best_ms, gflops_per_s (from the median), iters, impl (oneDNN's implementation), threads.
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <dnnl.hpp>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <string>
#include <vector>

namespace {

using dnnl::memory;
using Clock = std::chrono::steady_clock;

struct Options {
  std::string case_name = "image-224";
  int tokens = 50;
  std::vector<std::pair<int, int>> shapes = {{768, 2304}, {768, 768}, {768, 3072}, {3072, 768}};
  std::vector<int> batches = {1, 8, 32};
  std::vector<std::string> precisions = {"fp32", "bf16", "int8"};
  int layers = 12;
  int threads = 2;
  double min_time = 1.0;
  int min_iters = 5;
};

[[noreturn]] void Usage(const std::string& why) {
  std::fprintf(stderr,
               "mmserve-matmul-ceiling: %s\nusage: mmserve-matmul-ceiling [--case NAME] [--tokens T] [--shapes KxN,...]\n"
               "       [--batches 1,8,32] [--precisions fp32,bf16,int8] [--layers L] [--threads N] [--min-time S]\n",
               why.c_str());
  std::exit(2);
}

std::vector<std::string> SplitList(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream in(s);
  std::string item;
  while (std::getline(in, item, ',')) {
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

int PositiveInt(const std::string& flag, const std::string& v) {
  try {
    size_t used = 0;
    const int n = std::stoi(v, &used);
    if (used == v.size() && n > 0) return n;
  } catch (const std::exception&) {
  }
  Usage(flag + " needs a positive integer, got \"" + v + "\"");
}

Options Parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (flag == "--help" || flag == "-h") Usage("times oneDNN matmul on a tower's linear shapes");
    if (i + 1 >= argc) Usage(flag + " needs a value");
    const std::string v = argv[++i];
    if (flag == "--case") {
      o.case_name = v;
    } else if (flag == "--tokens") {
      o.tokens = PositiveInt(flag, v);
    } else if (flag == "--shapes") {
      o.shapes.clear();
      for (const auto& s : SplitList(v)) {
        const size_t x = s.find('x');
        if (x == std::string::npos) Usage("--shapes takes KxN,KxN,...");
        o.shapes.emplace_back(PositiveInt(flag, s.substr(0, x)), PositiveInt(flag, s.substr(x + 1)));
      }
    } else if (flag == "--batches") {
      o.batches.clear();
      for (const auto& s : SplitList(v)) o.batches.push_back(PositiveInt(flag, s));
    } else if (flag == "--precisions") {
      o.precisions = SplitList(v);
      for (const auto& p : o.precisions) {
        if (p != "fp32" && p != "bf16" && p != "int8") Usage("--precisions takes fp32, bf16 and int8");
      }
    } else if (flag == "--layers") {
      o.layers = PositiveInt(flag, v);
    } else if (flag == "--threads") {
      o.threads = PositiveInt(flag, v);
    } else if (flag == "--min-time") {
      o.min_time = std::stod(v);
    } else if (flag == "--min-iters") {
      o.min_iters = PositiveInt(flag, v);
    } else {
      Usage("unknown option " + flag);
    }
  }
  if (o.shapes.empty() || o.batches.empty() || o.precisions.empty()) Usage("empty --shapes, --batches or --precisions");
  return o;
}

const char* IsaName(dnnl::cpu_isa isa) {
  switch (isa) {
    case dnnl::cpu_isa::avx512_core_amx: return "avx512_core_amx";
    case dnnl::cpu_isa::avx512_core_bf16: return "avx512_core_bf16";
    case dnnl::cpu_isa::avx512_core_vnni: return "avx512_core_vnni";
    case dnnl::cpu_isa::avx512_core: return "avx512_core";
    case dnnl::cpu_isa::avx2_vnni: return "avx2_vnni";
    case dnnl::cpu_isa::avx2: return "avx2";
    default: return "other";
  }
}

// The data types of one timed variant.
struct Variant {
  std::string precision, src_name;
  memory::data_type src, wei;
};

// One linear layer's product, ready to run: packed weights, its own src/dst buffers.
struct Product {
  dnnl::matmul prim;
  memory src, dst;
  std::vector<memory> weights;  // one per layer
};

// Fills a plain (ab) memory of the given type from floats in [-1, 1), scaled to the type.
void Fill(memory& m, const std::vector<float>& values, memory::data_type dt) {
  void* p = m.get_data_handle();
  const size_t n = values.size();
  switch (dt) {
    case memory::data_type::f32:
      std::memcpy(p, values.data(), n * sizeof(float));
      break;
    case memory::data_type::bf16: {
      auto* out = static_cast<uint16_t*>(p);
      for (size_t i = 0; i < n; ++i) {
        uint32_t bits;
        std::memcpy(&bits, &values[i], 4);
        out[i] = static_cast<uint16_t>(bits >> 16);
      }
      break;
    }
    case memory::data_type::s8: {
      auto* out = static_cast<int8_t*>(p);
      for (size_t i = 0; i < n; ++i) out[i] = static_cast<int8_t>(std::lrint(values[i] * 127.0f));
      break;
    }
    case memory::data_type::u8: {
      auto* out = static_cast<uint8_t*>(p);
      for (size_t i = 0; i < n; ++i) out[i] = static_cast<uint8_t>(std::lrint((values[i] + 1.0f) * 127.0f));
      break;
    }
    default:
      break;
  }
}

double Round(double x, int digits) {
  const double f = std::pow(10.0, digits);
  return std::round(x * f) / f;
}

std::vector<float> RandomValues(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> v(n);
  for (auto& x : v) x = dist(rng);
  return v;
}

}  // namespace

int main(int argc, char** argv) {
  const Options o = Parse(argc, argv);
  omp_set_num_threads(o.threads);
  dnnl::engine eng(dnnl::engine::kind::cpu, 0);
  dnnl::stream strm(eng);
  const char* isa = IsaName(dnnl::get_effective_cpu_isa());

  // Float weights per (shape, layer), made once and converted for each variant.
  std::vector<std::vector<std::vector<float>>> weight_values(o.shapes.size());
  for (size_t s = 0; s < o.shapes.size(); ++s) {
    for (int l = 0; l < o.layers; ++l) {
      weight_values[s].push_back(RandomValues(size_t(o.shapes[s].first) * o.shapes[s].second, 1000 + 97 * s + l));
    }
  }

  std::vector<Variant> variants;
  for (const auto& p : o.precisions) {
    using dt = memory::data_type;
    if (p == "fp32") variants.push_back({p, "f32", dt::f32, dt::f32});
    if (p == "bf16") variants.push_back({p, "bf16", dt::bf16, dt::bf16});
    if (p == "int8") {
      variants.push_back({p, "u8", dt::u8, dt::s8});
      variants.push_back({p, "s8", dt::s8, dt::s8});
    }
  }

  for (const Variant& v : variants) {
    for (int batch : o.batches) {
      const memory::dim m = memory::dim(o.tokens) * batch;
      std::vector<Product> products;
      double layer_flop = 0;
      std::string impl;
      try {
        for (size_t s = 0; s < o.shapes.size(); ++s) {
          const memory::dim k = o.shapes[s].first, n = o.shapes[s].second;
          layer_flop += 2.0 * m * k * n;
          const memory::desc src_md({m, k}, v.src, memory::format_tag::ab);
          const memory::desc wei_any({k, n}, v.wei, memory::format_tag::any);
          const memory::desc dst_md({m, n}, memory::data_type::f32, memory::format_tag::ab);
          dnnl::primitive_attr attr;
          if (v.precision == "int8") attr.set_output_scales(1 << 1, std::vector<float>(n, 1.0f / (127.0f * 127.0f)));
          const dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(src_md, wei_any, dst_md), attr, eng);
          if (s == 0) impl = pd.impl_info_str();
          Product prod{dnnl::matmul(pd), memory(src_md, eng), memory(dst_md, eng), {}};
          Fill(prod.src, RandomValues(size_t(m) * k, 7 + s), v.src);
          const memory::desc wei_plain({k, n}, v.wei, memory::format_tag::ab);
          for (int l = 0; l < o.layers; ++l) {
            memory plain(wei_plain, eng);
            Fill(plain, weight_values[s][l], v.wei);
            memory packed(pd.weights_desc(), eng);
            dnnl::reorder(plain, packed).execute(strm, plain, packed);
            prod.weights.push_back(packed);
          }
          products.push_back(std::move(prod));
        }
      } catch (const dnnl::error& e) {
        std::fprintf(stderr, "mmserve-matmul-ceiling: %s (%s) at batch %d is not available: %s\n", v.precision.c_str(),
                     v.src_name.c_str(), batch, e.what());
        continue;
      }
      strm.wait();

      // One pass = one layer's four products; successive passes take the next layer's weights.
      int layer = 0;
      auto pass = [&] {
        for (auto& p : products) {
          p.prim.execute(strm, {{DNNL_ARG_SRC, p.src}, {DNNL_ARG_WEIGHTS, p.weights[layer]}, {DNNL_ARG_DST, p.dst}});
        }
        strm.wait();
        layer = (layer + 1) % o.layers;
      };
      for (int i = 0; i < o.layers; ++i) pass();  // warm-up: every layer once (kernel generation, first touch)
      std::vector<double> times;
      const auto start = Clock::now();
      while (static_cast<int>(times.size()) < std::max(o.min_iters, o.layers) ||
             std::chrono::duration<double>(Clock::now() - start).count() < o.min_time) {
        const auto t0 = Clock::now();
        pass();
        times.push_back(std::chrono::duration<double>(Clock::now() - t0).count());
      }
      std::sort(times.begin(), times.end());
      const double median = times[times.size() / 2];
      nlohmann::ordered_json shapes = nlohmann::ordered_json::array();
      for (const auto& [k, n] : o.shapes) shapes.push_back({k, n});
      const nlohmann::ordered_json line = {
          {"case", o.case_name}, {"engine", "onednn-matmul"}, {"precision", v.precision}, {"src", v.src_name},
          {"batch", batch}, {"m", m}, {"shapes", shapes}, {"layers", o.layers}, {"gflop", layer_flop / 1e9},
          {"iters", times.size()}, {"median_ms", Round(median * 1e3, 4)}, {"best_ms", Round(times.front() * 1e3, 4)},
          {"gflops_per_s", Round(layer_flop / median / 1e9, 1)}, {"impl", impl}, {"isa", isa}, {"threads", o.threads},
          {"onednn", std::to_string(dnnl_version()->major) + "." + std::to_string(dnnl_version()->minor) + "." +
                         std::to_string(dnnl_version()->patch)}};
      std::printf("%s\n", line.dump().c_str());
      std::fflush(stdout);
    }
  }
  return 0;
}
