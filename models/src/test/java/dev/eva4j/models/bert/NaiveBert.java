package dev.eva4j.models.bert;

import dev.eva4j.models.hf.FloatTensor;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A float64 BERT forward written from the Hugging Face definition with plain loops, independent of the ops package:
 * the oracle for {@link BertModel}. Also records each hooked linear's input.
 */
final class NaiveBert {
    final Map<String, double[]> linearInputs = new LinkedHashMap<>();
    private final BertConfig cfg;
    private final Map<String, FloatTensor> w;

    NaiveBert(BertConfig cfg, Map<String, FloatTensor> weights) {
        this.cfg = cfg;
        this.w = weights;
    }

    private double[] t(String name) {
        float[] f = w.get(name).values();
        double[] d = new double[f.length];
        for (int i = 0; i < f.length; i++) d[i] = f[i];
        return d;
    }

    /** Last hidden state [B, T, C]. */
    double[] forward(int[] ids, int[] mask, int B, int T) {
        int C = cfg.hiddenSize(), I = cfg.intermediateSize(), NH = cfg.numHeads(), HS = C / NH, N = B * T;
        double[] word = t("embeddings.word_embeddings.weight"), pos = t("embeddings.position_embeddings.weight"),
                type = t("embeddings.token_type_embeddings.weight");
        double[] x = new double[N * C];
        for (int b = 0; b < B; b++) {
            for (int s = 0; s < T; s++) {
                for (int c = 0; c < C; c++) {
                    x[(b * T + s) * C + c] = word[ids[b * T + s] * C + c] + pos[s * C + c] + type[c];
                }
            }
        }
        x = layerNorm(x, N, C, "embeddings.LayerNorm");
        for (int l = 0; l < cfg.numLayers(); l++) {
            String p = "encoder.layer." + l + ".";
            linearInputs.put(p + "attention.self.query", x);
            double[] q = linear(x, N, C, C, p + "attention.self.query");
            double[] k = linear(x, N, C, C, p + "attention.self.key");
            double[] v = linear(x, N, C, C, p + "attention.self.value");
            double[] ctx = new double[N * C];
            for (int b = 0; b < B; b++) {
                for (int h = 0; h < NH; h++) {
                    for (int i = 0; i < T; i++) {
                        double[] e = new double[T];
                        double max = Double.NEGATIVE_INFINITY, sum = 0;
                        for (int j = 0; j < T; j++) {
                            if (mask[b * T + j] == 0) continue;
                            double dot = 0;
                            for (int d = 0; d < HS; d++) dot += q[(b * T + i) * C + h * HS + d] * k[(b * T + j) * C + h * HS + d];
                            e[j] = dot / Math.sqrt(HS);
                            max = Math.max(max, e[j]);
                        }
                        for (int j = 0; j < T; j++) {
                            e[j] = mask[b * T + j] == 0 ? 0 : Math.exp(e[j] - max);
                            sum += e[j];
                        }
                        for (int d = 0; d < HS; d++) {
                            double acc = 0;
                            for (int j = 0; j < T; j++) acc += e[j] / sum * v[(b * T + j) * C + h * HS + d];
                            ctx[(b * T + i) * C + h * HS + d] = acc;
                        }
                    }
                }
            }
            linearInputs.put(p + "attention.output.dense", ctx);
            double[] a = linear(ctx, N, C, C, p + "attention.output.dense");
            for (int i = 0; i < N * C; i++) a[i] += x[i];
            x = layerNorm(a, N, C, p + "attention.output.LayerNorm");
            linearInputs.put(p + "intermediate.dense", x);
            double[] inter = linear(x, N, C, I, p + "intermediate.dense");
            for (int i = 0; i < inter.length; i++) {
                inter[i] = 0.5 * inter[i] * (1 + dev.eva4j.api.kernels.Erf.erfReference(inter[i] / Math.sqrt(2)));
            }
            linearInputs.put(p + "output.dense", inter);
            double[] o = linear(inter, N, I, C, p + "output.dense");
            for (int i = 0; i < N * C; i++) o[i] += x[i];
            x = layerNorm(o, N, C, p + "output.LayerNorm");
        }
        return x;
    }

    private double[] linear(double[] x, int N, int in, int out, String module) {
        double[] W = t(module + ".weight"), bias = t(module + ".bias"), y = new double[N * out];
        for (int n = 0; n < N; n++) {
            for (int o = 0; o < out; o++) {
                double s = bias[o];
                for (int i = 0; i < in; i++) s += x[n * in + i] * W[o * in + i];
                y[n * out + o] = s;
            }
        }
        return y;
    }

    private double[] layerNorm(double[] x, int N, int C, String module) {
        double[] g = t(module + ".weight"), b = t(module + ".bias"), y = new double[N * C];
        for (int n = 0; n < N; n++) {
            double mean = 0, var = 0;
            for (int c = 0; c < C; c++) mean += x[n * C + c] / C;
            for (int c = 0; c < C; c++) var += (x[n * C + c] - mean) * (x[n * C + c] - mean) / C;
            for (int c = 0; c < C; c++) y[n * C + c] = (x[n * C + c] - mean) / Math.sqrt(var + cfg.layerNormEps()) * g[c] + b[c];
        }
        return y;
    }
}
