package dev.eva4j.spi;

/**
 * The dropout mask every backend regenerates from a seed instead of storing it: element {@code i} of a tensor is
 * kept when {@code uniform(seed, i) >= p}, and a kept element is scaled by {@code 1 / (1 - p)} (inverted dropout).
 * {@code uniform} is a counter-based hash in 32-bit integer arithmetic, so that it vectorises on a CPU and costs a
 * few instructions in a CUDA kernel, identical everywhere:
 * <pre>
 *   s = (int) (seed ^ (seed >>> 32)) * 0x9E3779B9        (the seed folded to 32 bits)
 *   x = s ^ ((int) i * 0x85EBCA6B)                      (i taken modulo 2^32)
 *   x = fmix32(x + 0x632BE5AB)                          (MurmurHash3's finaliser: xor-shift 16, * 0x85EBCA6B,
 *                                                          xor-shift 13, * 0xC2B2AE35, xor-shift 16)
 *   uniform = (x >>> 8) * 2^-24                          (a float in [0, 1))
 * </pre>
 * Forward and backward (and every backend) see the same mask.
 */
public final class DropoutMask {
    private DropoutMask() {}

    /** The seed folded to the 32 bits the hash starts from. */
    public static int seedWord(long seed) {
        return (int) (seed ^ (seed >>> 32)) * 0x9E3779B9;
    }

    /** The 32-bit hash of element {@code index} under a folded seed. */
    public static int hash(int seedWord, long index) {
        int x = seedWord ^ ((int) index * 0x85EBCA6B);
        x += 0x632BE5AB;
        x ^= x >>> 16;
        x *= 0x85EBCA6B;
        x ^= x >>> 13;
        x *= 0xC2B2AE35;
        x ^= x >>> 16;
        return x;
    }

    /** A uniform float in [0, 1) for element {@code index} under {@code seed}. */
    public static float uniform(long seed, long index) {
        return (hash(seedWord(seed), index) >>> 8) * 0x1.0p-24f;
    }

    /** The factor element {@code index} is multiplied by: 0 when dropped, {@code 1 / (1 - p)} when kept. */
    public static float factor(long seed, long index, float p) {
        if (p == 0f) return 1f;
        return uniform(seed, index) >= p ? 1f / (1f - p) : 0f;
    }

    /**
     * The threshold on {@code hash >>> 8} (an int in [0, 2^24)) below which an element is dropped: element i is kept
     * when {@code (hash(seedWord, i) >>> 8) >= threshold(p)} — the same decision as {@code uniform >= p}.
     */
    public static int threshold(float p) {
        // uniform = k * 2^-24 >= p  <=>  k >= ceil(p * 2^24) (exact: p * 2^24 is exact in float arithmetic)
        return (int) Math.ceil(p * 0x1.0p24f);
    }
}
