package dev.eva4j.cuda;

import dev.eva4j.spi.Kernels;
import dev.eva4j.testkit.ModelGradientContract;
import org.junit.jupiter.api.extension.ExtendWith;

/** Whole tiny models' LoRA gradients on the GPU against the float64 reference; skipped with the reason without one. */
@ExtendWith(RequiresCudaKernels.class)
class CudaModelGradientContractTest extends ModelGradientContract {
    @Override
    protected Kernels kernels() {
        return CudaKernelsLoader.shared();
    }
}
