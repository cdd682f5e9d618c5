package com.example.eva4j.compute;

import dev.eva4j.spi.Kernels;
import dev.eva4j.testkit.KernelContract;

/**
 * The example backend passes the contract every eva4j compute backend passes (eva4j-testkit): every kernel against
 * the float64 reference, backward passes adding into gradients, bad operands named — here with its own GEMM under
 * eva4j's host kernels.
 */
class NaiveBackendContractTest extends KernelContract {
    @Override
    protected Kernels kernels() {
        return new NaiveJavaBackend().kernels();
    }
}
