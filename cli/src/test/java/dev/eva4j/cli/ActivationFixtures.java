package dev.eva4j.cli;

import dev.eva4j.api.safetensors.SafetensorsWriter;
import dev.eva4j.api.safetensors.TensorData;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * Writes activation batches as init --activations reads them: per batch one file, per layer one [rows, d] tensor.
 * Layers: an attention block (q, k, v share an input, d = 32) and an MLP output (d = 48), with planted spectra.
 */
final class ActivationFixtures {
    static final String Q = "model.layers.0.self_attn.q_proj", K = "model.layers.0.self_attn.k_proj",
            V = "model.layers.0.self_attn.v_proj", DOWN = "model.layers.0.mlp.down_proj";
    static final Map<String, Integer> OUT = Map.of(Q, 32, K, 16, V, 16, DOWN, 32);
    static final String OUT_JSON = "{\"" + Q + "\":32,\"" + K + "\":16,\"" + V + "\":16,\"" + DOWN + "\":32}";
    static final String GROUPS_JSON = "[[\"" + Q + "\",\"" + K + "\",\"" + V + "\"]]";

    private ActivationFixtures() {}

    static Path write(Path dir, int batches, int rows, long seed) throws IOException {
        Files.createDirectories(dir);
        Random rnd = new Random(seed);
        double[][] attnBasis = basis(32, rnd), mlpBasis = basis(48, rnd);
        for (int b = 0; b < batches; b++) {
            List<TensorData> tensors = new ArrayList<>();
            tensors.add(TensorData.ofFloats(Q, new long[] {rows, 32}, rows(rows, attnBasis, 0.8, rnd)));
            tensors.add(TensorData.ofFloats(DOWN, new long[] {rows, 48}, rows(rows, mlpBasis, 0.9, rnd)));
            Map<String, String> meta = new LinkedHashMap<>();
            meta.put("eva4j.out_features", OUT_JSON);
            meta.put("eva4j.groups", GROUPS_JSON);
            SafetensorsWriter.write(dir.resolve(String.format("batch-%04d.safetensors", b)), tensors, meta);
        }
        return dir;
    }

    static double[][] basis(int d, Random rnd) {
        double[][] q = new double[d][d];
        for (double[] r : q) for (int j = 0; j < d; j++) r[j] = rnd.nextGaussian();
        for (int pass = 0; pass < 2; pass++) {
            for (int c = 0; c < d; c++) {
                for (int p = 0; p < c; p++) {
                    double dot = 0;
                    for (int j = 0; j < d; j++) dot += q[c][j] * q[p][j];
                    for (int j = 0; j < d; j++) q[c][j] -= dot * q[p][j];
                }
                double n = 0;
                for (int j = 0; j < d; j++) n += q[c][j] * q[c][j];
                for (int j = 0; j < d; j++) q[c][j] /= Math.sqrt(n);
            }
        }
        return q;
    }

    static float[] rows(int n, double[][] basis, double decay, Random rnd) {
        int d = basis.length;
        float[] x = new float[n * d];
        for (int i = 0; i < n; i++) {
            for (int c = 0; c < d; c++) {
                double z = rnd.nextGaussian() * 5 * Math.pow(decay, c);
                for (int j = 0; j < d; j++) x[i * d + j] += (float) (z * basis[c][j]);
            }
            for (int j = 0; j < d; j++) x[i * d + j] += 1.5f;
        }
        return x;
    }
}
