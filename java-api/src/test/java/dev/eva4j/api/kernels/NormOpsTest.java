package dev.eva4j.api.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Random;
import org.junit.jupiter.api.Test;

/** LayerNorm's row statistics in widened vector lanes equal plain float64 loops (every tail length). */
class NormOpsTest {
    @Test
    void rowSumsAndSquaredDeviationsMatchFloat64Loops() {
        Random rnd = new Random(11);
        for (int C : new int[] {1, 7, 15, 16, 17, 31, 33, 384, 1000}) {
            float[] row = new float[C];
            for (int c = 0; c < C; c++) row[c] = (float) (100 + 3 * rnd.nextGaussian()); // a mean far from 0
            double sum = 0;
            for (float v : row) sum += v;
            double mu = sum / C, sq = 0;
            for (float v : row) sq += (v - mu) * (v - mu);
            assertEquals(sum, NormOps.rowSum(row, C), Math.abs(sum) * 1e-14, "sum, C=" + C);
            assertEquals(sq, NormOps.squaredDeviations(row, C, mu), sq * 1e-12 + 1e-12, "squared deviations, C=" + C);
        }
    }
}
