package dev.eva4j.testkit.cpu;

import dev.eva4j.cpu.java.JavaBackend;
import dev.eva4j.spi.Kernels;
import dev.eva4j.testkit.ModelGradientContract;

/** Whole tiny models' LoRA gradients on the java backend against the float64 reference and finite differences. */
class JavaModelContractTest extends ModelGradientContract {
    @Override
    protected Kernels kernels() {
        return new JavaBackend().kernels();
    }
}
