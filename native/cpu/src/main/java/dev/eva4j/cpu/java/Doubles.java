package dev.eva4j.cpu.java;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/** Moves float32 or float64 segments to and from double[] work arrays (the decompositions run in float64). */
final class Doubles {
    private Doubles() {}

    static double[] read(MemorySegment seg, ValueLayout el, long count) {
        double[] out = new double[Math.toIntExact(count)];
        if (el instanceof ValueLayout.OfDouble d) {
            MemorySegment.copy(seg, d, 0, out, 0, out.length);
        } else {
            ValueLayout.OfFloat f = (ValueLayout.OfFloat) el;
            for (int i = 0; i < out.length; i++) out[i] = seg.getAtIndex(f, i);
        }
        return out;
    }

    static void write(MemorySegment seg, ValueLayout el, double[] v) {
        if (el instanceof ValueLayout.OfDouble d) {
            MemorySegment.copy(v, 0, seg, d, 0, v.length);
        } else {
            ValueLayout.OfFloat f = (ValueLayout.OfFloat) el;
            for (int i = 0; i < v.length; i++) seg.setAtIndex(f, i, (float) v[i]);
        }
    }
}
