package dev.eva4j.models.ops;

import dev.eva4j.spi.ComputeBackend;
import dev.eva4j.spi.Transpose;
import java.lang.foreign.MemorySegment;

/** A linear layer as Hugging Face stores it: y = x W^T + b (llm.c's matmul_forward). */
public final class Linear {
    private Linear() {}

    /**
     * out = inp weight^T (+ bias). Shapes: inp [N, IN], weight [OUT, IN], bias [OUT] or null, out [N, OUT].
     * One sgemm (A as stored, B transposed); with a bias, out is first filled with it and the GEMM adds to it.
     */
    public static void forward(ComputeBackend backend, MemorySegment out, MemorySegment inp, MemorySegment weight,
                               MemorySegment bias, int N, int in, int outFeatures) {
        Floats.require("linear", "inp", inp, (long) N * in, "[N=" + N + ", in=" + in + "]");
        Floats.require("linear", "weight", weight, (long) outFeatures * in, "[out=" + outFeatures + ", in=" + in + "]");
        Floats.require("linear", "out", out, (long) N * outFeatures, "[N=" + N + ", out=" + outFeatures + "]");
        float beta = 0f;
        if (bias != null) {
            Floats.require("linear", "bias", bias, outFeatures, "[out=" + outFeatures + "]");
            long rowBytes = (long) outFeatures * Float.BYTES;
            for (int n = 0; n < N; n++) MemorySegment.copy(bias, 0, out, n * rowBytes, rowBytes);
            beta = 1f;
        }
        backend.sgemm(Transpose.NO, Transpose.YES, N, outFeatures, in, 1f, inp, in, weight, in, beta, out, outFeatures);
    }
}
