// What the CPU can run, decided once at run time, for the project's own kernels (the
// engine's ops, image resampling; oneDNN decides for itself and is capped by
// ONEDNN_MAX_CPU_ISA). MMSERVE_CPU_ISA=generic forces
// the plain C++ paths, so that tests on an AVX-512 machine also cover what an older CPU
// runs.
#pragma once

namespace mms {

// AVX-512 F, BW, VL and DQ are present and not switched off by MMSERVE_CPU_ISA=generic.
bool CpuHasAvx512();

}  // namespace mms
