package dev.eva4j.cuda;

import dev.eva4j.spi.Kernels;
import dev.eva4j.testkit.ModelGradientContract;
import org.junit.jupiter.api.extension.ExtendWith;

/** Whole tiny models' LoRA gradients on the CUDA kernels run by the CPU {@link Emulator}, against the reference. */
@ExtendWith(Emulator.Condition.class)
class EmulatedModelGradientContractTest extends ModelGradientContract {
    @Override
    protected Kernels kernels() {
        return Emulator.kernels();
    }
}
