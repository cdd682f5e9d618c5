package dev.eva4j.models.train;

import dev.eva4j.models.nn.Lora;
import java.util.List;
import java.util.Map;

/**
 * What {@link InitPlan#apply} did: the kind, the settings and modules the adapter was built with, and, when the
 * initialisation rewrote the base weights (PiSSA, OLoRA), each module's initial factors A0 [r, in] and B0 [out, r] as
 * written (float32, host copies), which {@link PissaExport} needs to convert the trained adapter for the original
 * weights. {@code initial} is empty for EVA, LORA and GAUSSIAN (B0 = 0: nothing to convert).
 */
public record InitialAdapter(LoraInit kind, LoraSettings settings, List<Lora.Module> modules,
                             Map<String, Factors> initial) {
    public InitialAdapter {
        modules = List.copyOf(modules);
        initial = Map.copyOf(initial);
    }

    /** One module's factors: a [rank, in], b [out, rank], row-major. */
    public record Factors(float[] a, float[] b) {}
}
