package com.example.eva4j;

import dev.eva4j.spi.Availability;
import dev.eva4j.spi.RankAllocator;
import java.util.List;

/**
 * A third party's rank allocator, shipped in its own jar and found by eva4j through
 * {@code META-INF/services/dev.eva4j.spi.RankAllocator} — no change to eva4j needed.
 *
 * <p>Rule: each layer receives a share of the budget proportional to the explained variance its offered components
 * capture (the sum of its spectrum), rounded by largest remainder and capped by its maximum; what a capped layer
 * cannot take goes to the others in the same proportion.
 */
public final class ProportionalRankAllocator implements RankAllocator {

    @Override
    public String name() {
        return "proportional";
    }

    @Override
    public int priority() {
        return 5;
    }

    @Override
    public String description() {
        return "example third-party allocator: rank proportional to captured explained variance";
    }

    @Override
    public Availability availability() {
        return Availability.ok("pure Java, from " + getClass().getPackageName());
    }

    @Override
    public int[] allocate(List<double[]> spectra, int budget, int[] maxRanks) {
        int layers = maxRanks.length;
        if (spectra.size() != layers) {
            throw new IllegalArgumentException("spectra has " + spectra.size() + " layers but maxRanks " + layers);
        }
        if (budget < 0) throw new IllegalArgumentException("budget must be >= 0, got " + budget);
        long capacity = 0;
        for (int m : maxRanks) {
            if (m < 0) throw new IllegalArgumentException("maxRanks must be >= 0");
            capacity += m;
        }
        int[] rank = new int[layers];
        int left = (int) Math.min(budget, capacity);
        while (left > 0) {
            double total = 0;
            for (int i = 0; i < layers; i++) if (rank[i] < maxRanks[i]) total += weight(spectra.get(i));
            int given = 0;
            double[] remainder = new double[layers];
            for (int i = 0; i < layers; i++) {
                if (rank[i] >= maxRanks[i]) continue;
                double share = total > 0 ? left * weight(spectra.get(i)) / total : 0;
                int add = (int) Math.min(Math.floor(share), maxRanks[i] - rank[i]);
                rank[i] += add;
                given += add;
                remainder[i] = share - Math.floor(share);
            }
            if (given == 0) { // hand single units out by largest remainder (then by index)
                int best = -1;
                for (int i = 0; i < layers; i++) {
                    if (rank[i] < maxRanks[i] && (best < 0 || remainder[i] > remainder[best])) best = i;
                }
                rank[best]++;
                given = 1;
            }
            left -= given;
        }
        return rank;
    }

    private static double weight(double[] spectrum) {
        double s = 0;
        for (double v : spectrum) s += Math.max(0, v);
        return s;
    }
}
