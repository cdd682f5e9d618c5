package dev.eva4j.api.eva;

import java.util.List;

/** Argument checks shared by the rank allocators. */
final class Allocations {
    private Allocations() {}

    static void check(List<double[]> spectra, int budget, int[] maxRanks) {
        if (spectra.size() != maxRanks.length) {
            throw new IllegalArgumentException("spectra has " + spectra.size() + " layers but maxRanks has " + maxRanks.length);
        }
        if (budget < 0) throw new IllegalArgumentException("budget must be >= 0, got " + budget);
        for (int m : maxRanks) if (m < 0) throw new IllegalArgumentException("maxRanks must be >= 0, got " + m);
    }
}
