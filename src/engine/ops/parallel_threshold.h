// Below how many elements an element-wise op (layer norm, conversion, quantization) runs
// on the calling thread instead of forking its OpenMP team.
//
// Why so high: a fork/join costs a few microseconds on idle cores, but a served /predict
// runs the image and text towers at once, two teams on the same cores, and then every
// join waits for a thread the other team has the core of. At batch 1 (50 rows of 768)
// the image tower's 24 layer norms took 58 us each and its quantizations 70 us each this
// way (serve --profile), where one thread does either in under 20 us. The figure is a
// compromise: at 64K elements one thread takes about 30 us, two would save about 15 us
// when the cores are idle.
#pragma once

#include <cstdint>

namespace mms::ops {

inline constexpr int64_t kParallelMinElements = 65536;

}  // namespace mms::ops
