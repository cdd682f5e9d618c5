package dev.eva4j.cuda;

import dev.eva4j.spi.Kernels;
import dev.eva4j.testkit.KernelContract;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The kernel contract (every op against the float64 reference, fp32 <= 1e-5 norm-wise relative) on the GPU. Where the
 * kernels cannot run (no driver, no device, a build without nvcc, cuBLAS missing) the class is skipped with the
 * reason ({@link RequiresCudaKernels}).
 */
@ExtendWith(RequiresCudaKernels.class)
class CudaKernelContractTest extends KernelContract {
    @Override
    protected Kernels kernels() {
        return CudaKernelsLoader.shared();
    }
}
