package dev.eva4j.models.ops;

/**
 * The oracle: every op of this package as plain loops over Java arrays, accumulating in float64, returning a new
 * float32 array. Slow and obvious on purpose; tests compare the fast ops against it. Shapes as in the fast ops.
 */
public final class ReferenceOps {
    private ReferenceOps() {}

    /** out[n] = wte[ids[n]] (+ wpe[positionOffset + t]) (+ wtt[typeIds[n]] or wtt[0]); wpe/wtt may be null. */
    public static float[] embed(int[] ids, float[] wte, float[] wpe, float[] wtt, int[] typeIds, int B, int T, int C,
                                int positionOffset) {
        float[] out = new float[B * T * C];
        for (int b = 0; b < B; b++) {
            for (int t = 0; t < T; t++) {
                int n = b * T + t;
                for (int c = 0; c < C; c++) {
                    double v = wte[ids[n] * C + c];
                    if (wpe != null) v += wpe[(positionOffset + t) * C + c];
                    if (wtt != null) v += wtt[(typeIds == null ? 0 : typeIds[n]) * C + c];
                    out[n * C + c] = (float) v;
                }
            }
        }
        return out;
    }

    /** LayerNorm over rows of C. Shapes: inp [N, C], weight, bias [C]. */
    public static float[] layerNorm(float[] inp, float[] weight, float[] bias, int N, int C, double eps) {
        float[] out = new float[N * C];
        for (int n = 0; n < N; n++) {
            double mean = 0, var = 0;
            for (int c = 0; c < C; c++) mean += inp[n * C + c];
            mean /= C;
            for (int c = 0; c < C; c++) var += (inp[n * C + c] - mean) * (inp[n * C + c] - mean);
            var /= C;
            for (int c = 0; c < C; c++) {
                out[n * C + c] = (float) ((inp[n * C + c] - mean) / Math.sqrt(var + eps) * weight[c] + bias[c]);
            }
        }
        return out;
    }

    /** RMSNorm over rows of C. Shapes: inp [N, C], weight [C]. */
    public static float[] rmsNorm(float[] inp, float[] weight, int N, int C, double eps) {
        float[] out = new float[N * C];
        for (int n = 0; n < N; n++) {
            double sq = 0;
            for (int c = 0; c < C; c++) sq += (double) inp[n * C + c] * inp[n * C + c];
            double rstd = 1 / Math.sqrt(sq / C + eps);
            for (int c = 0; c < C; c++) out[n * C + c] = (float) (inp[n * C + c] * rstd * weight[c]);
        }
        return out;
    }

    /** out = inp W^T + bias. Shapes: inp [N, IN], weight [OUT, IN], bias [OUT] or null. */
    public static float[] linear(float[] inp, float[] weight, float[] bias, int N, int in, int outFeatures) {
        float[] out = new float[N * outFeatures];
        for (int n = 0; n < N; n++) {
            for (int o = 0; o < outFeatures; o++) {
                double s = bias == null ? 0 : bias[o];
                for (int i = 0; i < in; i++) s += (double) inp[n * in + i] * weight[o * in + i];
                out[n * outFeatures + o] = (float) s;
            }
        }
        return out;
    }

    /**
     * Attention, one (b, h, t) at a time. Shapes: q [B, T, NH, HS], k, v [B, T, NKV, HS], mask [B, T] or null.
     * Visible keys: mask != 0 and (not causal or s <= t); a query with none gets zeros.
     */
    public static float[] attention(float[] q, float[] k, float[] v, int[] mask, int B, int T, int NH, int NKV, int HS,
                                    boolean causal) {
        float[] out = new float[B * T * NH * HS];
        int group = NH / NKV;
        double scale = 1 / Math.sqrt(HS);
        double[] w = new double[T];
        for (int b = 0; b < B; b++) {
            for (int h = 0; h < NH; h++) {
                int g = h / group;
                for (int t = 0; t < T; t++) {
                    double max = Double.NEGATIVE_INFINITY;
                    for (int s = 0; s < T; s++) {
                        boolean visible = (mask == null || mask[b * T + s] != 0) && (!causal || s <= t);
                        if (!visible) {
                            w[s] = Double.NEGATIVE_INFINITY;
                            continue;
                        }
                        double dot = 0;
                        for (int i = 0; i < HS; i++) {
                            dot += (double) q[((b * T + t) * NH + h) * HS + i] * k[((b * T + s) * NKV + g) * HS + i];
                        }
                        w[s] = dot * scale;
                        max = Math.max(max, w[s]);
                    }
                    if (max == Double.NEGATIVE_INFINITY) continue;
                    double sum = 0;
                    for (int s = 0; s < T; s++) {
                        w[s] = w[s] == Double.NEGATIVE_INFINITY ? 0 : Math.exp(w[s] - max);
                        sum += w[s];
                    }
                    for (int i = 0; i < HS; i++) {
                        double acc = 0;
                        for (int s = 0; s < T; s++) acc += w[s] / sum * v[((b * T + s) * NKV + g) * HS + i];
                        out[((b * T + t) * NH + h) * HS + i] = (float) acc;
                    }
                }
            }
        }
        return out;
    }

    /**
     * RoPE (rotate-half). Shapes: x [B, T, NH, HS], positions [T] or [B, T], invFreq [HS/2]. The angle is the
     * float32 product position * invFreq[i], as in the fast op and Hugging Face.
     */
    public static float[] rope(float[] x, int B, int T, int NH, int HS, int[] positions, float[] invFreq) {
        float[] out = x.clone();
        int half = HS / 2;
        for (int b = 0; b < B; b++) {
            for (int t = 0; t < T; t++) {
                int pos = positions.length == T ? positions[t] : positions[b * T + t];
                for (int h = 0; h < NH; h++) {
                    int base = ((b * T + t) * NH + h) * HS;
                    for (int i = 0; i < half; i++) {
                        double angle = (float) ((double) pos * invFreq[i]);
                        double x1 = x[base + i], x2 = x[base + i + half];
                        out[base + i] = (float) (x1 * Math.cos(angle) - x2 * Math.sin(angle));
                        out[base + i + half] = (float) (x2 * Math.cos(angle) + x1 * Math.sin(angle));
                    }
                }
            }
        }
        return out;
    }

    /** 0.5 x (1 + erf(x / sqrt 2)) with the series erf. */
    public static float[] gelu(float[] x) {
        float[] out = new float[x.length];
        for (int i = 0; i < x.length; i++) out[i] = (float) (0.5 * x[i] * Erf.erfcReference(-x[i] / Math.sqrt(2)));
        return out;
    }

    /** x / (1 + exp(-x)). */
    public static float[] silu(float[] x) {
        float[] out = new float[x.length];
        for (int i = 0; i < x.length; i++) out[i] = (float) (x[i] / (1 + Math.exp(-(double) x[i])));
        return out;
    }

    /** silu(gate) * up. */
    public static float[] siluMul(float[] gate, float[] up) {
        float[] out = new float[gate.length];
        for (int i = 0; i < gate.length; i++) out[i] = (float) (gate[i] / (1 + Math.exp(-(double) gate[i])) * up[i]);
        return out;
    }

    /** a + b. */
    public static float[] add(float[] a, float[] b) {
        float[] out = new float[a.length];
        for (int i = 0; i < a.length; i++) out[i] = (float) ((double) a[i] + b[i]);
        return out;
    }

    /** Row-wise softmax. Shapes: x [R, K]. */
    public static float[] softmax(float[] x, int rows, int cols) {
        float[] out = new float[rows * cols];
        for (int r = 0; r < rows; r++) {
            double max = Double.NEGATIVE_INFINITY, sum = 0;
            for (int c = 0; c < cols; c++) max = Math.max(max, x[r * cols + c]);
            for (int c = 0; c < cols; c++) sum += Math.exp(x[r * cols + c] - max);
            for (int c = 0; c < cols; c++) out[r * cols + c] = (float) (Math.exp(x[r * cols + c] - max) / sum);
        }
        return out;
    }
}
