package com.example.eva4j;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class ProportionalRankAllocatorTest {
    private final ProportionalRankAllocator allocator = new ProportionalRankAllocator();

    @Test
    void splitsInProportionToCapturedVariance() {
        int[] r = allocator.allocate(List.of(new double[] {0.6, 0.2}, new double[] {0.1, 0.1}, new double[] {0, 0}),
                10, new int[] {20, 20, 20});
        assertArrayEquals(new int[] {8, 2, 0}, r);
    }

    @Test
    void respectsCapsAndSpendsTheWholeBudget() {
        Random rnd = new Random(7);
        for (int t = 0; t < 200; t++) {
            int layers = 1 + rnd.nextInt(8);
            int[] max = new int[layers];
            List<double[]> spectra = new java.util.ArrayList<>();
            for (int i = 0; i < layers; i++) {
                max[i] = rnd.nextInt(10);
                spectra.add(new double[] {rnd.nextDouble(), rnd.nextDouble() * 0.1});
            }
            int budget = rnd.nextInt(40);
            int[] r = allocator.allocate(spectra, budget, max);
            for (int i = 0; i < layers; i++) assertEquals(true, r[i] >= 0 && r[i] <= max[i]);
            assertEquals(Math.min(budget, Arrays.stream(max).sum()), Arrays.stream(r).sum());
        }
    }
}
