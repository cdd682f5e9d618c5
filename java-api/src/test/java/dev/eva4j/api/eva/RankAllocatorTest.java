package dev.eva4j.api.eva;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class RankAllocatorTest {
    private final EvaRankAllocator eva = new EvaRankAllocator();
    private final UniformRankAllocator uniform = new UniformRankAllocator();

    @Test
    void takesTheGlobalTopBudgetOfRatios() {
        List<double[]> spectra = List.of(new double[] {0.5, 0.3, 0.1, 0.05}, new double[] {0.4, 0.02, 0.01, 0.0},
                new double[] {0.2, 0.15, 0.12, 0.11});
        // top 6: 0.5 0.4 0.3 0.2 0.15 0.12 -> layer0: 2, layer1: 1, layer2: 3
        assertArrayEquals(new int[] {2, 1, 3}, eva.allocate(spectra, 6, new int[] {4, 4, 4}));
    }

    /**
     * rho = 1 makes the budget equal to the number of candidates (k = r per layer), so every candidate is taken and
     * every layer gets r, however unequal the spectra; one rank less must come off the layer holding the globally
     * smallest candidate (a budget equal to the candidate count alone would let any allocator pass).
     */
    @Test
    void rhoOneGivesREverywhereAndOneLessDropsTheSmallestCandidate() {
        Random rnd = new Random(1);
        List<double[]> spectra = new ArrayList<>();
        for (int l = 0; l < 7; l++) spectra.add(sortedDesc(rnd, 8));
        int[] max = new int[7];
        Arrays.fill(max, 8);
        int[] r = eva.allocate(spectra, 56, max);
        for (int v : r) assertEquals(8, v);
        int smallest = 0;
        for (int l = 1; l < 7; l++) if (spectra.get(l)[7] < spectra.get(smallest)[7]) smallest = l;
        int[] less = eva.allocate(spectra, 55, max);
        for (int l = 0; l < 7; l++) assertEquals(l == smallest ? 7 : 8, less[l], "layer " + l);
    }

    @Test
    void matchesBruteForceOnRandomSpectra() {
        Random rnd = new Random(2);
        for (int t = 0; t < 300; t++) {
            int layers = 1 + rnd.nextInt(6), k = 1 + rnd.nextInt(6);
            List<double[]> spectra = new ArrayList<>();
            int[] max = new int[layers];
            for (int l = 0; l < layers; l++) {
                spectra.add(sortedDesc(rnd, k));
                max[l] = k;
            }
            int budget = rnd.nextInt(layers * k + 1);
            int[] got = eva.allocate(spectra, budget, max);
            assertEquals(budget, Arrays.stream(got).sum());
            // every taken candidate is >= every candidate left behind
            double minTaken = Double.POSITIVE_INFINITY, maxLeft = Double.NEGATIVE_INFINITY;
            for (int l = 0; l < layers; l++) {
                for (int i = 0; i < k; i++) {
                    if (i < got[l]) minTaken = Math.min(minTaken, spectra.get(l)[i]);
                    else maxLeft = Math.max(maxLeft, spectra.get(l)[i]);
                }
            }
            if (budget > 0 && budget < layers * k) assertEquals(true, minTaken >= maxLeft);
        }
    }

    @Test
    void uniformHandsOutEvenlyWithinCaps() {
        assertArrayEquals(new int[] {4, 4, 4}, uniform.allocate(List.of(new double[0], new double[0], new double[0]), 12,
                new int[] {8, 8, 8}));
        assertArrayEquals(new int[] {2, 5, 5}, uniform.allocate(List.of(new double[0], new double[0], new double[0]), 12,
                new int[] {2, 8, 8}));
        assertThrows(IllegalArgumentException.class, () -> uniform.allocate(List.of(), 1, new int[] {1}));
    }

    private static double[] sortedDesc(Random rnd, int k) {
        double[] s = new double[k];
        for (int i = 0; i < k; i++) s[i] = rnd.nextDouble() / (i + 1);
        Arrays.sort(s);
        for (int i = 0; i < k / 2; i++) { double t = s[i]; s[i] = s[k - 1 - i]; s[k - 1 - i] = t; }
        return s;
    }
}
