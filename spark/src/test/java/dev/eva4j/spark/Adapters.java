package dev.eva4j.spark;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.eva4j.api.safetensors.SafetensorsCheckpoint;
import dev.eva4j.api.safetensors.TensorInfo;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/** Reads an adapter folder's lora_A matrices and report, and compares two adapters. */
final class Adapters {
    private Adapters() {}

    /** module -> lora_A rows (rank x d), from adapter_model.safetensors. */
    static Map<String, float[][]> loraA(Path dir) throws IOException {
        Map<String, float[][]> out = new LinkedHashMap<>();
        try (SafetensorsCheckpoint ck = SafetensorsCheckpoint.open(dir.resolve("adapter_model.safetensors"))) {
            for (String name : ck.tensorNames()) {
                if (!name.endsWith(".lora_A.weight")) continue;
                TensorInfo info = ck.info(name);
                int r = (int) info.shape()[0], d = (int) info.shape()[1];
                MemorySegment raw = ck.raw(name);
                float[][] a = new float[r][d];
                for (int i = 0; i < r; i++) {
                    for (int j = 0; j < d; j++) a[i][j] = raw.getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, (long) i * d + j);
                }
                out.put(name.substring("base_model.model.".length(), name.length() - ".lora_A.weight".length()), a);
            }
        }
        return out;
    }

    static JsonNode report(Path dir) throws IOException {
        return new ObjectMapper().readTree(dir.resolve("eva_report.json").toFile());
    }

    /**
     * The mean cosine of the principal angles between the spans of the first min(r1, r2) rows of two orthonormal row
     * sets: the mean singular value of A1 A2^T (1 when the subspaces agree).
     */
    static double subspaceCosine(float[][] a1, float[][] a2) {
        int r = Math.min(a1.length, a2.length);
        if (r == 0) return a1.length == a2.length ? 1 : 0;
        int d = a1[0].length;
        double[][] m = new double[r][r];
        for (int i = 0; i < r; i++) {
            for (int j = 0; j < r; j++) {
                double s = 0;
                for (int c = 0; c < d; c++) s += (double) a1[i][c] * a2[j][c];
                m[i][j] = s;
            }
        }
        // singular values of the small r x r matrix: eigenvalues of M M^T by Jacobi rotations
        double[][] g = new double[r][r];
        for (int i = 0; i < r; i++) for (int j = 0; j < r; j++) {
            double s = 0;
            for (int c = 0; c < r; c++) s += m[i][c] * m[j][c];
            g[i][j] = s;
        }
        for (int sweep = 0; sweep < 100; sweep++) {
            double off = 0;
            for (int p = 0; p < r; p++) for (int q = p + 1; q < r; q++) off += g[p][q] * g[p][q];
            if (off < 1e-24) break;
            for (int p = 0; p < r; p++) {
                for (int q = p + 1; q < r; q++) {
                    if (Math.abs(g[p][q]) < 1e-300) continue;
                    double theta = (g[q][q] - g[p][p]) / (2 * g[p][q]);
                    double t = Math.signum(theta) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
                    if (theta == 0) t = 1;
                    double c = 1 / Math.sqrt(t * t + 1), s = t * c;
                    for (int k = 0; k < r; k++) {
                        double gkp = g[k][p], gkq = g[k][q];
                        g[k][p] = c * gkp - s * gkq;
                        g[k][q] = s * gkp + c * gkq;
                    }
                    for (int k = 0; k < r; k++) {
                        double gpk = g[p][k], gqk = g[q][k];
                        g[p][k] = c * gpk - s * gqk;
                        g[q][k] = s * gpk + c * gqk;
                    }
                }
            }
        }
        double sum = 0;
        for (int i = 0; i < r; i++) sum += Math.sqrt(Math.max(0, Math.min(1, g[i][i])));
        return sum / r;
    }
}
