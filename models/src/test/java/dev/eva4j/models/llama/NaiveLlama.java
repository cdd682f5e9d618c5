package dev.eva4j.models.llama;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.eva4j.api.safetensors.SafetensorsCheckpoint;
import java.io.IOException;
import java.nio.file.Path;

/**
 * A naive float64 Llama forward, written from the Hugging Face modelling code and independent of the main
 * sources: it reads config.json with plain Jackson and the tensors by their Hugging Face names. One sequence at a
 * time, no padding: positions 0..T-1.
 */
final class NaiveLlama {
    final int vocab, hidden, inter, layers, heads, kvHeads, headDim;
    final double eps, theta;
    final JsonNode scaling;
    final boolean tied;
    private final SafetensorsCheckpoint ckpt;

    NaiveLlama(Path dir) throws IOException {
        JsonNode c = new ObjectMapper().readTree(dir.resolve("config.json").toFile());
        vocab = c.get("vocab_size").intValue();
        hidden = c.get("hidden_size").intValue();
        inter = c.get("intermediate_size").intValue();
        layers = c.get("num_hidden_layers").intValue();
        heads = c.get("num_attention_heads").intValue();
        kvHeads = c.has("num_key_value_heads") ? c.get("num_key_value_heads").intValue() : heads;
        headDim = c.has("head_dim") ? c.get("head_dim").intValue() : hidden / heads;
        eps = c.get("rms_norm_eps").doubleValue();
        theta = c.get("rope_theta").doubleValue();
        scaling = c.get("rope_scaling") == null || c.get("rope_scaling").isNull() ? null : c.get("rope_scaling");
        tied = c.path("tie_word_embeddings").asBoolean(false);
        ckpt = SafetensorsCheckpoint.open(dir);
    }

    private double[] w(String name) {
        float[] f = ckpt.readFloats(name);
        double[] d = new double[f.length];
        for (int i = 0; i < f.length; i++) d[i] = f[i];
        return d;
    }

    private double[] wOrNull(String name) {
        return ckpt.contains(name) ? w(name) : null;
    }

    /** y[t] = W x[t] + b; W [out, in]. */
    private static double[][] linear(double[][] x, double[] weight, double[] bias, int out) {
        int in = x[0].length;
        double[][] y = new double[x.length][out];
        for (int t = 0; t < x.length; t++) {
            for (int o = 0; o < out; o++) {
                double s = bias == null ? 0 : bias[o];
                for (int i = 0; i < in; i++) s += weight[o * in + i] * x[t][i];
                y[t][o] = s;
            }
        }
        return y;
    }

    private double[][] rmsNorm(double[][] x, double[] weight) {
        double[][] y = new double[x.length][];
        for (int t = 0; t < x.length; t++) {
            double ms = 0;
            for (double v : x[t]) ms += v * v;
            ms /= x[t].length;
            double r = 1 / Math.sqrt(ms + eps);
            y[t] = new double[x[t].length];
            for (int i = 0; i < x[t].length; i++) y[t][i] = weight[i] * x[t][i] * r;
        }
        return y;
    }

    /** The RoPE frequency of dimension pair i, with llama3 scaling written out as in HF's rope utils. */
    double invFreq(int i) {
        double f = 1.0 / Math.pow(theta, 2.0 * i / headDim);
        if (scaling == null) return f;
        double factor = scaling.get("factor").doubleValue();
        double low = scaling.get("low_freq_factor").doubleValue();
        double high = scaling.get("high_freq_factor").doubleValue();
        double old = scaling.get("original_max_position_embeddings").doubleValue();
        double wavelen = 2 * Math.PI / f;
        if (wavelen < old / high) return f;
        if (wavelen > old / low) return f / factor;
        double smooth = (old / wavelen - low) / (high - low);
        return (1 - smooth) * f / factor + smooth * f;
    }

    /** rotate_half RoPE on each head of x[t] ([nHeads * headDim]) at position t. */
    private void rope(double[][] x, int nHeads) {
        int half = headDim / 2;
        for (int t = 0; t < x.length; t++) {
            for (int h = 0; h < nHeads; h++) {
                double[] rotated = new double[headDim];
                for (int d = 0; d < headDim; d++) {
                    double angle = t * invFreq(d % half);
                    double rot = d < half ? -x[t][h * headDim + d + half] : x[t][h * headDim + d - half];
                    rotated[d] = x[t][h * headDim + d] * Math.cos(angle) + rot * Math.sin(angle);
                }
                System.arraycopy(rotated, 0, x[t], h * headDim, headDim);
            }
        }
    }

    /** Logits [T][V] of one unpadded sequence. */
    double[][] logits(int[] ids) {
        int T = ids.length;
        double[] embed = w("model.embed_tokens.weight");
        double[][] x = new double[T][hidden];
        for (int t = 0; t < T; t++) System.arraycopy(embed, ids[t] * hidden, x[t], 0, hidden);
        for (int l = 0; l < layers; l++) {
            String p = "model.layers." + l + ".";
            double[][] h = rmsNorm(x, w(p + "input_layernorm.weight"));
            double[][] q = linear(h, w(p + "self_attn.q_proj.weight"), wOrNull(p + "self_attn.q_proj.bias"), heads * headDim);
            double[][] k = linear(h, w(p + "self_attn.k_proj.weight"), wOrNull(p + "self_attn.k_proj.bias"), kvHeads * headDim);
            double[][] v = linear(h, w(p + "self_attn.v_proj.weight"), wOrNull(p + "self_attn.v_proj.bias"), kvHeads * headDim);
            rope(q, heads);
            rope(k, kvHeads);
            double[][] ctx = new double[T][heads * headDim];
            int perKv = heads / kvHeads;
            for (int hd = 0; hd < heads; hd++) {
                int g = hd / perKv; // repeat_kv: query head hd reads kv head hd / n_rep
                for (int t = 0; t < T; t++) {
                    double[] s = new double[t + 1];
                    double max = Double.NEGATIVE_INFINITY;
                    for (int j = 0; j <= t; j++) {
                        double dot = 0;
                        for (int d = 0; d < headDim; d++) dot += q[t][hd * headDim + d] * k[j][g * headDim + d];
                        s[j] = dot / Math.sqrt(headDim);
                        max = Math.max(max, s[j]);
                    }
                    double z = 0;
                    for (int j = 0; j <= t; j++) z += s[j] = Math.exp(s[j] - max);
                    for (int j = 0; j <= t; j++) {
                        for (int d = 0; d < headDim; d++) ctx[t][hd * headDim + d] += s[j] / z * v[j][g * headDim + d];
                    }
                }
            }
            double[][] o = linear(ctx, w(p + "self_attn.o_proj.weight"), wOrNull(p + "self_attn.o_proj.bias"), hidden);
            for (int t = 0; t < T; t++) for (int i = 0; i < hidden; i++) x[t][i] += o[t][i];
            h = rmsNorm(x, w(p + "post_attention_layernorm.weight"));
            double[][] gate = linear(h, w(p + "mlp.gate_proj.weight"), null, inter);
            double[][] up = linear(h, w(p + "mlp.up_proj.weight"), null, inter);
            for (int t = 0; t < T; t++) {
                for (int i = 0; i < inter; i++) gate[t][i] = gate[t][i] / (1 + Math.exp(-gate[t][i])) * up[t][i];
            }
            double[][] down = linear(gate, w(p + "mlp.down_proj.weight"), null, hidden);
            for (int t = 0; t < T; t++) for (int i = 0; i < hidden; i++) x[t][i] += down[t][i];
        }
        x = rmsNorm(x, w("model.norm.weight"));
        return linear(x, tied ? embed : w("lm_head.weight"), null, vocab);
    }

    void close() {
        ckpt.close();
    }
}
