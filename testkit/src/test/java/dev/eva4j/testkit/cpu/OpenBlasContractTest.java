package dev.eva4j.testkit.cpu;

import dev.eva4j.cpu.openblas.OpenBlasBackend;
import dev.eva4j.spi.Kernels;
import dev.eva4j.testkit.KernelContract;

/** The openblas backend's kernels pass the contract (from another package, as a third party's test would). */
class OpenBlasContractTest extends KernelContract {
    @Override
    protected Kernels kernels() {
        return new OpenBlasBackend().kernels();
    }
}
