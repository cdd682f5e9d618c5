package dev.eva4j.testkit.cpu;

import dev.eva4j.cpu.java.JavaBackend;
import dev.eva4j.spi.Kernels;
import dev.eva4j.testkit.KernelContract;

/** The pure-Java backend's kernels pass the contract (from another package, as a third party's test would). */
class JavaContractTest extends KernelContract {
    @Override
    protected Kernels kernels() {
        return new JavaBackend().kernels();
    }
}
