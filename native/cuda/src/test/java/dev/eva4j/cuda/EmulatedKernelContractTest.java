package dev.eva4j.cuda;

import dev.eva4j.spi.Kernels;
import dev.eva4j.testkit.KernelContract;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The kernel contract on eva4j's CUDA kernels and {@link CudaKernels} run by the CPU {@link Emulator}: the same kernel
 * source and the same Java launches as on a GPU, against the float64 reference, without a GPU.
 */
@ExtendWith(Emulator.Condition.class)
class EmulatedKernelContractTest extends KernelContract {
    @Override
    protected Kernels kernels() {
        return Emulator.kernels();
    }
}
