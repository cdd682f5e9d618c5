package dev.eva4j.testkit;

import dev.eva4j.spi.Kernels;

/** The oracle passes its own contract (identical float64 inputs on both sides: the results agree exactly). */
class ReferenceContractTest extends KernelContract {
    @Override
    protected Kernels kernels() {
        return new ReferenceKernels();
    }
}
