package com.example.eva4j.compute;

import dev.eva4j.spi.Kernels;
import dev.eva4j.testkit.ModelGradientContract;

/**
 * Whole tiny BERT and Llama models train through the example backend: their LoRA gradients match the float64
 * reference, whose own gradients match finite differences (eva4j-testkit's model contract).
 */
class NaiveBackendModelContractTest extends ModelGradientContract {
    @Override
    protected Kernels kernels() {
        return new NaiveJavaBackend().kernels();
    }
}
