package dev.eva4j.models.ops;

import static dev.eva4j.models.ops.Floats.F32;

import java.lang.foreign.MemorySegment;

/** Row normalisations: LayerNorm (BERT) and RMSNorm (Llama). Statistics accumulate in float64. out may be inp. */
public final class Norms {
    private Norms() {}

    /**
     * out[n, :] = (inp[n, :] - mean) / sqrt(var + eps) * weight + bias, mean and (biased) var over the C channels.
     * Shapes: inp, out [N, C]; weight, bias [C].
     */
    public static void layerNorm(MemorySegment out, MemorySegment inp, MemorySegment weight, MemorySegment bias,
                                 int N, int C, float eps) {
        String shape = "[N=" + N + ", C=" + C + "]";
        Floats.require("layerNorm", "inp", inp, (long) N * C, shape);
        Floats.require("layerNorm", "out", out, (long) N * C, shape);
        Floats.require("layerNorm", "weight", weight, C, "[C=" + C + "]");
        Floats.require("layerNorm", "bias", bias, C, "[C=" + C + "]");
        Parallel.rows(N, C, (first, end) -> {
            for (int n = first; n < end; n++) {
                long base = (long) n * C;
                double sum = 0;
                for (int c = 0; c < C; c++) sum += inp.getAtIndex(F32, base + c);
                double mean = sum / C;
                double sq = 0;
                for (int c = 0; c < C; c++) {
                    double d = inp.getAtIndex(F32, base + c) - mean;
                    sq += d * d;
                }
                float m = (float) mean;
                float rstd = (float) (1 / Math.sqrt(sq / C + eps));
                for (int c = 0; c < C; c++) {
                    float norm = (inp.getAtIndex(F32, base + c) - m) * rstd;
                    out.setAtIndex(F32, base + c, norm * weight.getAtIndex(F32, c) + bias.getAtIndex(F32, c));
                }
            }
        }, out, inp, weight, bias);
    }

    /**
     * out[n, :] = inp[n, :] / sqrt(mean(inp[n, :]^2) + eps) * weight (Hugging Face's LlamaRMSNorm).
     * Shapes: inp, out [N, C]; weight [C].
     */
    public static void rmsNorm(MemorySegment out, MemorySegment inp, MemorySegment weight, int N, int C, float eps) {
        String shape = "[N=" + N + ", C=" + C + "]";
        Floats.require("rmsNorm", "inp", inp, (long) N * C, shape);
        Floats.require("rmsNorm", "out", out, (long) N * C, shape);
        Floats.require("rmsNorm", "weight", weight, C, "[C=" + C + "]");
        Parallel.rows(N, C, (first, end) -> {
            for (int n = first; n < end; n++) {
                long base = (long) n * C;
                double sq = 0;
                for (int c = 0; c < C; c++) {
                    double v = inp.getAtIndex(F32, base + c);
                    sq += v * v;
                }
                float rstd = (float) (1 / Math.sqrt(sq / C + eps));
                for (int c = 0; c < C; c++) {
                    out.setAtIndex(F32, base + c, inp.getAtIndex(F32, base + c) * rstd * weight.getAtIndex(F32, c));
                }
            }
        }, out, inp, weight);
    }
}
