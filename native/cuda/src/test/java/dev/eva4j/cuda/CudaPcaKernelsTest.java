package dev.eva4j.cuda;

import org.junit.jupiter.api.extension.ExtendWith;

/** The EVA step's kernels on the GPU against IncrementalPca; skipped with the reason where they cannot run. */
@ExtendWith(RequiresCudaKernels.class)
class CudaPcaKernelsTest extends PcaKernelsChecks {
    @Override
    CudaKernels kernels() {
        return CudaKernelsLoader.shared();
    }
}
