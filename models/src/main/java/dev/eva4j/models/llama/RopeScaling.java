package dev.eva4j.models.llama;

/**
 * Llama 3's frequency-dependent RoPE scaling ({@code rope_scaling.rope_type == "llama3"}): frequencies whose
 * wavelength exceeds {@code originalMaxPositionEmbeddings / lowFreqFactor} are divided by {@code factor}, those
 * below {@code originalMaxPositionEmbeddings / highFreqFactor} are kept, and those in between are interpolated.
 */
public record RopeScaling(double factor, double lowFreqFactor, double highFreqFactor, int originalMaxPositionEmbeddings) {
    public RopeScaling {
        if (!(factor > 0)) throw new IllegalArgumentException("rope_scaling.factor must be > 0, got " + factor);
        if (!(lowFreqFactor > 0)) throw new IllegalArgumentException("rope_scaling.low_freq_factor must be > 0, got " + lowFreqFactor);
        if (!(highFreqFactor > lowFreqFactor)) {
            throw new IllegalArgumentException("rope_scaling.high_freq_factor must be > low_freq_factor (" + lowFreqFactor
                    + "), got " + highFreqFactor);
        }
        if (originalMaxPositionEmbeddings < 1) {
            throw new IllegalArgumentException("rope_scaling.original_max_position_embeddings must be >= 1, got "
                    + originalMaxPositionEmbeddings);
        }
    }

    /**
     * The inverse frequencies of RoPE for a head of {@code headDim} (even) values: {@code headDim / 2} values,
     * {@code theta^(-2i/headDim)}, with this scaling applied when {@code scaling} is not null (as Hugging Face's
     * {@code _compute_llama3_parameters}).
     */
    public static double[] inverseFrequencies(int headDim, double theta, RopeScaling scaling) {
        double[] inv = new double[headDim / 2];
        for (int i = 0; i < inv.length; i++) {
            inv[i] = 1.0 / Math.pow(theta, (2.0 * i) / headDim);
        }
        if (scaling == null) return inv;
        double old = scaling.originalMaxPositionEmbeddings;
        double lowFreqWavelen = old / scaling.lowFreqFactor;
        double highFreqWavelen = old / scaling.highFreqFactor;
        for (int i = 0; i < inv.length; i++) {
            double wavelen = 2 * Math.PI / inv[i];
            if (wavelen > lowFreqWavelen) {
                inv[i] = inv[i] / scaling.factor;
            } else if (wavelen >= highFreqWavelen) {
                double smooth = (old / wavelen - scaling.lowFreqFactor) / (scaling.highFreqFactor - scaling.lowFreqFactor);
                inv[i] = (1 - smooth) * inv[i] / scaling.factor + smooth * inv[i];
            }
        }
        return inv;
    }
}
