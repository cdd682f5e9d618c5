package dev.eva4j.api.eva;

import dev.eva4j.spi.Availability;
import dev.eva4j.spi.RankAllocator;
import java.util.List;

/**
 * The same rank everywhere: budget / layers each (the remainder to the first layers), capped by each layer's maximum
 * — with EVA's budget r * layers this is plain LoRA's rank r for every layer, with EVA's directions.
 */
public final class UniformRankAllocator implements RankAllocator {

    @Override
    public String name() {
        return "uniform";
    }

    @Override
    public int priority() {
        return 10;
    }

    @Override
    public String description() {
        return "uniform: the same rank for every layer";
    }

    @Override
    public Availability availability() {
        return Availability.ok("pure Java");
    }

    @Override
    public int[] allocate(List<double[]> spectra, int budget, int[] maxRanks) {
        Allocations.check(spectra, budget, maxRanks);
        int layers = maxRanks.length;
        int[] rank = new int[layers];
        if (layers == 0) return rank;
        int left = budget;
        boolean progress = true;
        while (left > 0 && progress) { // hand out round by round; capped layers drop out
            progress = false;
            for (int l = 0; l < layers && left > 0; l++) {
                if (rank[l] < maxRanks[l]) {
                    rank[l]++;
                    left--;
                    progress = true;
                }
            }
        }
        return rank;
    }
}
