#pragma once

namespace dnnl {
struct engine;
}

namespace mms {

// The process's oneDNN CPU engine. It is immutable once made and safe to share
// between threads; streams are made per call.
const dnnl::engine& CpuEngine();

}  // namespace mms
