package dev.eva4j.spi;

import java.util.List;

/** Distributes a global LoRA rank budget across layers from their explained-variance spectra. */
public interface RankAllocator extends Provider {

    /**
     * @param spectra  per layer, its explained-variance ratios, descending (layer i offers spectra.get(i))
     * @param budget   the total rank to hand out
     * @param maxRanks per layer, the largest rank it may receive
     * @return per layer, its rank; 0 <= rank[i] <= maxRanks[i]; the ranks sum to the budget
     *         (or to the sum of maxRanks when that is smaller)
     */
    int[] allocate(List<double[]> spectra, int budget, int[] maxRanks);
}
