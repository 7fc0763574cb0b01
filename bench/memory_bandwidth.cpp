// A STREAM-like copy: the memory bandwidth that bounds single-stream decoding (every
// generated token reads every weight once). Built and run by bench/run_llama_bench.sh:
//   c++ -O3 -march=native -fopenmp bench/memory_bandwidth.cpp -o bench/out/memory_bandwidth
//   OMP_NUM_THREADS=2 bench/out/memory_bandwidth [MiB=1024] [repeats=5]
// Prints one JSON line: {"mode":"bandwidth","mib":..,"threads":..,"copy_gb_s":..,"read_gb_s":..}
// copy_gb_s counts bytes read + bytes written (STREAM's convention for Copy), best of the
// repeats; read_gb_s is a sum over the buffer (reads only, what weight streaming does).
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>

namespace {

double Seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

}  // namespace

int main(int argc, char** argv) {
  const long mib = argc > 1 ? std::atol(argv[1]) : 1024;
  const int repeats = argc > 2 ? std::atoi(argv[2]) : 5;
  if (mib < 1 || mib > 65536 || repeats < 1 || repeats > 100) {
    std::fprintf(stderr, "memory_bandwidth: MiB in [1, 65536] and repeats in [1, 100], got %ld and %d\n", mib, repeats);
    return 2;
  }
  const size_t n = static_cast<size_t>(mib) << 20 >> 2;  // floats
  std::unique_ptr<float[]> a(new float[n]), b(new float[n]);
  // First touch by the threads that copy, so that pages sit where they are used.
#pragma omp parallel for schedule(static)
  for (size_t i = 0; i < n; ++i) {
    a[i] = static_cast<float>(i & 1023);
    b[i] = 0.0f;
  }
  double best_copy = 1e30, best_read = 1e30;
  double sink = 0.0;
  for (int r = 0; r < repeats; ++r) {
    double t0 = Seconds();
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; ++i) b[i] = a[i];
    best_copy = std::min(best_copy, Seconds() - t0);
    t0 = Seconds();
    double total = 0.0;
    // Sixteen independent float lanes per thread: the sum must not wait on add latency.
#pragma omp parallel reduction(+ : total)
    {
      const size_t parts = static_cast<size_t>(omp_get_num_threads());
      const size_t me = static_cast<size_t>(omp_get_thread_num());
      const size_t begin = n / parts * me, end = me + 1 == parts ? n : n / parts * (me + 1);
      float lanes[16] = {};
      size_t i = begin;
      for (; i + 16 <= end; i += 16) {
        for (int l = 0; l < 16; ++l) lanes[l] += b[i + l];
      }
      for (; i < end; ++i) lanes[0] += b[i];
      for (float l : lanes) total += l;
    }
    best_read = std::min(best_read, Seconds() - t0);
    sink += total;
  }
  const double bytes = static_cast<double>(n) * sizeof(float);
  std::printf("{\"mode\":\"bandwidth\",\"mib\":%ld,\"threads\":%d,\"copy_gb_s\":%.2f,\"read_gb_s\":%.2f,\"check\":%g}\n",
              mib, omp_get_max_threads(), 2.0 * bytes / best_copy / 1e9, bytes / best_read / 1e9, sink > 0 ? 1.0 : 0.0);
  return 0;
}
