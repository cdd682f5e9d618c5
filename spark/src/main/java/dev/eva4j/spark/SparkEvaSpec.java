package dev.eva4j.spark;

import dev.eva4j.api.eva.EvaConfig;
import dev.eva4j.spi.InvalidInputException;
import dev.eva4j.spi.SvdBackend;
import java.io.Serializable;

/**
 * What every executor needs to compute its part of a round, sent with each task (a few hundred bytes): where the model
 * and its tokenizer are (a path every executor can read; the weights themselves never travel), how to batch the
 * records, the backends to use there, and the PCA settings of the run.
 *
 * @param model        the model folder or ONNX file, as every executor sees it
 * @param tokenizer    tokenizer.json (null: the one beside the model; none at all: the data must be pre-tokenised)
 * @param targets      target modules as PEFT's target_modules (null: all-linear)
 * @param shuffleSeed  null: each partition's records in file order; else a seeded order, a new one every pass
 * @param backend      compute backend on the executors (null: the best available there)
 * @param svdBackend   SVD backend on the executors (null: the best available there, on the compute backend)
 * @param components   k = round(r * rho) before capping at a layer's in_features
 * @param dataName     the data's file name, for errors that point at a line
 * @param depth        treeAggregate's depth (>= 1)
 * @param stateComponents components each partition's state (and each merge in the tree) keeps per group, capped at the
 *                     layer's width: 0 for the default, {@link #DEFAULT_STATE_FACTOR} x k. With at least
 *                     min(d, rows of a partition's share) the states lose nothing and a run gives what a single-JVM
 *                     run gives; fewer make the states smaller and the result an approximation of it
 */
public record SparkEvaSpec(String model, String tokenizer, String targets, int batchSize, int maxLength, Long shuffleSeed,
                           String backend, String svdBackend, int components, boolean float64, long seed,
                           SvdBackend.Mode svdMode, boolean useLabelMask, int labelMaskValue, String dataName, int depth,
                           int stateComponents)
        implements Serializable {
    /** Components a state keeps by default, as a multiple of k = round(r * rho). */
    public static final int DEFAULT_STATE_FACTOR = 4;

    public SparkEvaSpec {
        if (model == null || model.isBlank()) throw new InvalidInputException("the model path is empty");
        if (batchSize < 1) throw new InvalidInputException("--batch-size must be >= 1, got " + batchSize);
        if (maxLength < 1) throw new InvalidInputException("--max-length must be >= 1, got " + maxLength);
        if (components < 1) throw new InvalidInputException("components must be >= 1, got " + components);
        if (depth < 1) throw new InvalidInputException("treeAggregate depth must be >= 1, got " + depth);
        if (svdMode == null) throw new InvalidInputException("no SVD mode");
        if (dataName == null) dataName = "data";
        if (stateComponents < 0) throw new InvalidInputException("--state-components must be >= 1, got " + stateComponents);
    }

    /** Components a state of a layer keeps, for its k and width d. */
    public int stateComponents(int k, int d) {
        int want = stateComponents == 0 ? DEFAULT_STATE_FACTOR * k : Math.max(stateComponents, k);
        return Math.min(d, want);
    }

    /** The spec of an engine configuration (depth 2). */
    public static SparkEvaSpec of(String model, String tokenizer, String targets, int batchSize, int maxLength,
                                  Long shuffleSeed, String backend, String svdBackend, EvaConfig config, String dataName) {
        return new SparkEvaSpec(model, tokenizer, targets, batchSize, maxLength, shuffleSeed, backend, svdBackend,
                config.components(), config.precision() == EvaConfig.Precision.FLOAT64, config.seed(), config.svd(),
                config.useLabelMask(), config.labelMaskValue(), dataName, 2, 0);
    }

    /** The same spec with another treeAggregate depth. */
    public SparkEvaSpec withDepth(int d) {
        return new SparkEvaSpec(model, tokenizer, targets, batchSize, maxLength, shuffleSeed, backend, svdBackend,
                components, float64, seed, svdMode, useLabelMask, labelMaskValue, dataName, d, stateComponents);
    }

    /** The same spec with states of {@code n} components (0: the default). */
    public SparkEvaSpec withStateComponents(int n) {
        return new SparkEvaSpec(model, tokenizer, targets, batchSize, maxLength, shuffleSeed, backend, svdBackend,
                components, float64, seed, svdMode, useLabelMask, labelMaskValue, dataName, depth, n);
    }
}
