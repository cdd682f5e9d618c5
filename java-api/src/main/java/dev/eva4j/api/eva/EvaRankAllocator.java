package dev.eva4j.api.eva;

import dev.eva4j.spi.Availability;
import dev.eva4j.spi.RankAllocator;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * EVA's rule (docs/eva.md, "Convergence and ranks"): every layer offers its explained-variance ratios as candidates; the
 * {@code budget} largest across all layers are taken, and a layer's rank is how many of its own were taken (at most
 * its maximum). Equal values are ordered by layer, then by component index, so the result is deterministic.
 */
public final class EvaRankAllocator implements RankAllocator {

    @Override
    public String name() {
        return "eva";
    }

    @Override
    public int priority() {
        return 100;
    }

    @Override
    public String description() {
        return "EVA: global top-budget of explained-variance ratios";
    }

    @Override
    public Availability availability() {
        return Availability.ok("pure Java");
    }

    @Override
    public int[] allocate(List<double[]> spectra, int budget, int[] maxRanks) {
        Allocations.check(spectra, budget, maxRanks);
        record Candidate(int layer, int index, double value) {}
        List<Candidate> all = new ArrayList<>();
        for (int l = 0; l < maxRanks.length; l++) {
            double[] s = spectra.get(l);
            for (int i = 0; i < Math.min(maxRanks[l], s.length); i++) all.add(new Candidate(l, i, s[i]));
        }
        all.sort(Comparator.comparingDouble(Candidate::value).reversed()
                .thenComparingInt(Candidate::layer).thenComparingInt(Candidate::index));
        int[] rank = new int[maxRanks.length];
        for (int i = 0; i < Math.min(budget, all.size()); i++) rank[all.get(i).layer()]++;
        return rank;
    }
}
