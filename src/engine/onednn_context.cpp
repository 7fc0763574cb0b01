#include "engine/onednn_context.h"

#include <oneapi/dnnl/dnnl.hpp>

namespace mms {

const dnnl::engine& CpuEngine() {
  static const dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

}  // namespace mms
