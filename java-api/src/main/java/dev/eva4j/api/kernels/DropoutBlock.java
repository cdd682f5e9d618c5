package dev.eva4j.api.kernels;

import dev.eva4j.spi.DropoutMask;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/** {@link DropoutMask} applied to a block of a tensor on the heap, the hash computed in integer vector lanes. */
final class DropoutBlock {
    private static final VectorSpecies<Integer> I = IntVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;

    private DropoutBlock() {}

    /** v[j] *= factor(seed, first + j, p) for j in [0, n). */
    static void apply(float[] v, int n, long seed, long first, float p) {
        if (p == 0f) return;
        int word = DropoutMask.seedWord(seed), threshold = DropoutMask.threshold(p);
        float keep = 1f / (1f - p);
        int L = Math.min(I.length(), F.length()), j = 0;
        if (I.length() == F.length()) {
            IntVector lane = IntVector.zero(I).addIndex(1);
            for (int upper = n - n % L; j < upper; j += L) {
                IntVector x = lane.add((int) (first + j)).mul(0x85EBCA6B).lanewise(VectorOperators.XOR, word);
                x = x.add(0x632BE5AB);
                x = x.lanewise(VectorOperators.XOR, x.lanewise(VectorOperators.LSHR, 16)).mul(0x85EBCA6B);
                x = x.lanewise(VectorOperators.XOR, x.lanewise(VectorOperators.LSHR, 13)).mul(0xC2B2AE35);
                x = x.lanewise(VectorOperators.XOR, x.lanewise(VectorOperators.LSHR, 16));
                VectorMask<Integer> kept = x.lanewise(VectorOperators.LSHR, 8).compare(VectorOperators.GE, threshold);
                FloatVector f = FloatVector.broadcast(F, keep).blend(0f, kept.cast(F).not());
                FloatVector.fromArray(F, v, j).mul(f).intoArray(v, j);
            }
        }
        for (; j < n; j++) v[j] *= DropoutMask.factor(seed, first + j, p);
    }
}
