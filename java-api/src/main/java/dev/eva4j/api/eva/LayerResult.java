package dev.eva4j.api.eva;

/**
 * EVA's answer for one layer.
 *
 * @param a          rank x inFeatures row-major (lora_A; whitened when configured); empty when rank is 0
 * @param spectrum   explained-variance ratios of the layer's group, the k tracked components
 * @param steps      incremental steps the group took
 * @param tokens     rows (real tokens) the group consumed
 * @param group      the module path of the group's first member (equal-input layers share it)
 */
public record LayerResult(TargetLayer layer, int rank, double alpha, float[] a, double[] spectrum, int steps,
                          long tokens, boolean converged, String group) {}
