package dev.eva4j.models.ops;

import dev.eva4j.spi.InvalidInputException;

/**
 * Rotary position embeddings (the rotation itself is a kernel: {@code Kernels.ropeForward}) in Hugging Face Llama's rotate-half convention: with h = HS/2 and angle
 * a_i = position * invFreq[i] (a float32 product, as HF computes it),
 * out[i] = x[i] cos a_i - x[i + h] sin a_i and out[i + h] = x[i + h] cos a_i + x[i] sin a_i, for i < h.
 */
public final class Rope {
    private Rope() {}

    /**
     * Hugging Face's {@code rope_scaling} of type {@code llama3} (Llama 3.1+): long wavelengths are divided by
     * {@code factor}, short ones kept, the band between smoothly interpolated.
     */
    public record Llama3Scaling(double factor, double lowFreqFactor, double highFreqFactor, int originalMaxPositions) {
        public Llama3Scaling {
            if (!(factor > 0) || !(lowFreqFactor > 0) || !(highFreqFactor > lowFreqFactor) || originalMaxPositions < 1) {
                throw new InvalidInputException("llama3 rope_scaling needs factor > 0, 0 < low_freq_factor < "
                        + "high_freq_factor and original_max_position_embeddings >= 1; got factor=" + factor
                        + ", low_freq_factor=" + lowFreqFactor + ", high_freq_factor=" + highFreqFactor
                        + ", original_max_position_embeddings=" + originalMaxPositions);
            }
        }
    }

    /**
     * invFreq[i] = 1 / theta^(2i / HS), i < HS/2, in float32 as HF's default rope init computes it; then the llama3
     * scaling when {@code scaling} is not null. Shapes: out [HS/2].
     */
    public static float[] inverseFrequencies(int headSize, double theta, Llama3Scaling scaling) {
        if (headSize < 2 || headSize % 2 != 0) throw new InvalidInputException("RoPE head size must be even, got " + headSize);
        if (!(theta > 1)) throw new InvalidInputException("rope_theta must be > 1, got " + theta);
        int half = headSize / 2;
        float[] inv = new float[half];
        for (int i = 0; i < half; i++) {
            float exponent = (float) (2 * i) / (float) headSize;
            inv[i] = 1f / (float) Math.pow(theta, exponent);
        }
        if (scaling != null) {
            double lowFreqWavelen = scaling.originalMaxPositions() / scaling.lowFreqFactor();
            double highFreqWavelen = scaling.originalMaxPositions() / scaling.highFreqFactor();
            for (int i = 0; i < half; i++) {
                double f = inv[i], wavelen = 2 * Math.PI / f;
                if (wavelen > lowFreqWavelen) {
                    inv[i] = (float) (f / scaling.factor());
                } else if (wavelen >= highFreqWavelen) {
                    double smooth = (scaling.originalMaxPositions() / wavelen - scaling.lowFreqFactor())
                            / (scaling.highFreqFactor() - scaling.lowFreqFactor());
                    inv[i] = (float) ((1 - smooth) * f / scaling.factor() + smooth * f);
                }
            }
        }
        return inv;
    }
}
