package dev.eva4j.cuda;

import org.junit.jupiter.api.extension.ExtendWith;

/** The EVA step's kernels on the CPU {@link Emulator} against IncrementalPca. */
@ExtendWith(Emulator.Condition.class)
class EmulatedPcaKernelsTest extends PcaKernelsChecks {
    @Override
    CudaKernels kernels() {
        return Emulator.kernels();
    }
}
