package dev.eva4j.spi;

/**
 * The dropout mask every backend regenerates from a seed instead of storing it: element {@code i} of a tensor is
 * kept when {@code uniform(seed, i) >= p}, and a kept element is scaled by {@code 1 / (1 - p)} (inverted dropout).
 * {@code uniform} is splitmix64's finaliser applied to {@code seed + (i + 1) * golden} (golden = 0x9E3779B97F4A7C15), its top 24 bits as a float in [0, 1) — identical on
 * the CPU and in a CUDA kernel, so forward and backward (and every backend) see the same mask.
 */
public final class DropoutMask {
    private static final long GOLDEN = 0x9E3779B97F4A7C15L;

    private DropoutMask() {}

    /** A uniform float in [0, 1) for element {@code index} under {@code seed}. */
    public static float uniform(long seed, long index) {
        long z = seed + (index + 1) * GOLDEN;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        z = z ^ (z >>> 31);
        return (z >>> 40) * 0x1.0p-24f;
    }

    /** The factor element {@code index} is multiplied by: 0 when dropped, {@code 1 / (1 - p)} when kept. */
    public static float factor(long seed, long index, float p) {
        if (p == 0f) return 1f;
        return uniform(seed, index) >= p ? 1f / (1f - p) : 0f;
    }
}
