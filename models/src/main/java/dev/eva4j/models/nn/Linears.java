package dev.eva4j.models.nn;

import dev.eva4j.spi.Buffer;
import dev.eva4j.spi.Kernels;

/** A model's linear layer with or without a LoRA adapter: one place that picks the kernel pair. */
public final class Linears {
    private Linears() {}

    /**
     * out = inp W^T (+ bias), plus the LoRA branch when {@code lora} adapts {@code path} (then xa [N, r] receives
     * the saved drop(inp) A^T; dropout only when {@code training}, as PEFT's eval mode turns it off).
     * Shapes: inp [N, IN]; weight [OUT, IN]; out [N, OUT].
     */
    public static void forward(Kernels k, Lora lora, boolean training, String path, Buffer out, Buffer xa, Buffer inp,
                               Buffer weight, Buffer bias, int N, int IN, int OUT) {
        Lora.Module m = lora == null ? null : lora.module(path);
        if (m == null) {
            k.matmulForward(out, inp, weight, bias, N, IN, OUT);
        } else {
            k.loraForward(out, xa, inp, weight, bias, lora.a(path), lora.b(path), m.scale(),
                    training ? lora.dropout() : 0f,
                    lora.dropoutSeed(path), N, IN, OUT, m.rank());
        }
    }

    /** Whether {@code lora} (may be null) adapts the layer at {@code path}. */
    public static boolean adapted(Lora lora, String path) {
        return lora != null && lora.module(path) != null;
    }

    /** Adds dinp [N, IN] (may be null) and, with an adapter, its dA and dB into the LoRA gradients. */
    public static void backward(Kernels k, Lora lora, String path, Buffer dinp, Buffer dout, Buffer xa, Buffer inp,
                                Buffer weight, int N, int IN, int OUT) {
        Lora.Module m = lora == null ? null : lora.module(path);
        if (m == null) {
            if (dinp != null) k.matmulBackward(dinp, null, null, dout, inp, weight, N, IN, OUT);
        } else {
            k.loraBackward(dinp, lora.gradA(path), lora.gradB(path), dout, inp, xa, weight, lora.a(path), lora.b(path),
                    m.scale(), lora.dropout(), lora.dropoutSeed(path), N, IN, OUT, m.rank());
        }
    }
}
