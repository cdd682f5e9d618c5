package dev.eva4j.testkit.cpu;

import dev.eva4j.cpu.openblas.OpenBlasBackend;
import dev.eva4j.spi.Kernels;
import dev.eva4j.testkit.ModelGradientContract;

/** Whole tiny models' LoRA gradients on the openblas backend against the float64 reference and finite differences. */
class OpenBlasModelContractTest extends ModelGradientContract {
    @Override
    protected Kernels kernels() {
        return new OpenBlasBackend().kernels();
    }
}
