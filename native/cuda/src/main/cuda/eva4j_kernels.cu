// eva4j's CUDA kernels: every non-GEMM op of dev.eva4j.spi.Kernels and the EVA step's helpers, in one translation
// unit so that the build makes one fatbin (sm_80 and sm_90 code, compute_90 PTX) that the backend loads with
// cuModuleLoadData and whose functions it looks up by their unmangled names, eva4j_<op>.
//
// Conventions: row-major tensors, float32 data, int32 ids/masks/positions, 64-bit element counts; a gradient output
// of a backward kernel is added into (never overwritten) and may be null where its comment says so; sums that are
// long (row statistics, losses, norms, column sums) accumulate in float64. Each kernel's comment gives its launch
// geometry; kernels that are correct for any grid use grid-stride loops.
#include "common.cuh"
#include "elementwise.cuh"
#include "norms.cuh"
#include "attention.cuh"
#include "rope_embed_loss.cuh"
#include "eva.cuh"
