package dev.eva4j.models.train;

import dev.eva4j.spi.InvalidInputException;

import dev.eva4j.models.LinearModule;
import dev.eva4j.models.Targets;
import dev.eva4j.models.nn.Lora;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * A LoRA configuration with PEFT's semantics: rank {@code r} and {@code alpha} for every target, overridden per module
 * by {@code rankPattern} / {@code alphaPattern} (a key matches a module whose path equals it or ends with "." + key;
 * the first matching key in the map's order wins), scaling {@code alpha / r}, or {@code alpha / sqrt(r)} with
 * rsLoRA, dropout on the LoRA branch. {@code targets} is PEFT's {@code target_modules} as {@link Targets} reads it
 * (names, {@code re:REGEX}, or {@code all-linear}).
 */
public record LoraSettings(int r, double alpha, double dropout, boolean rslora, String targets,
                           Map<String, Integer> rankPattern, Map<String, Double> alphaPattern) {
    public LoraSettings {
        if (r < 1) throw new InvalidInputException("--rank must be >= 1, got " + r);
        if (!(alpha > 0) || !Double.isFinite(alpha)) throw new InvalidInputException("--alpha must be > 0, got " + alpha);
        if (!(dropout >= 0 && dropout < 1)) throw new InvalidInputException("--dropout must be in [0, 1), got " + dropout);
        // insertion order matters: the first matching key wins
        rankPattern = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(Objects.requireNonNullElse(rankPattern, Map.of())));
        alphaPattern = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(Objects.requireNonNullElse(alphaPattern, Map.of())));
        rankPattern.forEach((k, v) -> {
            if (v < 1) throw new InvalidInputException("rank_pattern '" + k + "': rank must be >= 1, got " + v);
        });
        alphaPattern.forEach((k, v) -> {
            if (!(v > 0)) throw new InvalidInputException("alpha_pattern '" + k + "': alpha must be > 0, got " + v);
        });
    }

    /** rank r, alpha, everything else default: no dropout, plain scaling, every linear layer. */
    public static LoraSettings of(int r, double alpha) {
        return new LoraSettings(r, alpha, 0, false, "all-linear", Map.of(), Map.of());
    }

    public LoraSettings withPatterns(Map<String, Integer> ranks, Map<String, Double> alphas) {
        return new LoraSettings(r, alpha, dropout, rslora, targets, ranks, alphas);
    }

    public LoraSettings withDropout(double p) {
        return new LoraSettings(r, alpha, p, rslora, targets, rankPattern, alphaPattern);
    }

    public LoraSettings withTargets(String spec) {
        return new LoraSettings(r, alpha, dropout, rslora, spec, rankPattern, alphaPattern);
    }

    public LoraSettings withRslora(boolean on) {
        return new LoraSettings(r, alpha, dropout, on, targets, rankPattern, alphaPattern);
    }

    /** The first key of {@code pattern} (in its order) that {@code path} equals or ends with "." + key, or null. */
    static <V> String matchingKey(Map<String, V> pattern, String path) {
        for (String key : pattern.keySet()) {
            if (path.equals(key) || path.endsWith("." + key)) return key;
        }
        return null;
    }

    /** The rank of module {@code path}. */
    public int rankOf(String path) {
        String k = matchingKey(rankPattern, path);
        return k == null ? r : rankPattern.get(k);
    }

    /** The alpha of module {@code path}. */
    public double alphaOf(String path) {
        String k = matchingKey(alphaPattern, path);
        return k == null ? alpha : alphaPattern.get(k);
    }

    /** PEFT's scaling of a module: alpha / r, or alpha / sqrt(r) with rsLoRA. */
    public float scaleOf(String path) {
        int rank = rankOf(path);
        double a = alphaOf(path);
        return (float) (rslora ? a / Math.sqrt(rank) : a / rank);
    }

    /**
     * The adapted modules of a model: its linear layers selected by {@link #targets}, each with its rank and scaling.
     *
     * @throws IllegalArgumentException one line when a rank exceeds a layer's smaller dimension, or the targets match
     *                                  nothing
     */
    public List<Lora.Module> modules(List<LinearModule> linears) {
        var out = new ArrayList<Lora.Module>();
        for (LinearModule m : Targets.select(linears, targets)) {
            int rank = rankOf(m.path());
            if (rank > Math.min(m.inFeatures(), m.outFeatures())) {
                throw new InvalidInputException("rank " + rank + " of " + m.path() + " exceeds the layer's smaller "
                        + "dimension (" + m.outFeatures() + " x " + m.inFeatures() + ")");
            }
            out.add(new Lora.Module(m.path(), m.inFeatures(), m.outFeatures(), rank, scaleOf(m.path())));
        }
        return out;
    }
}
