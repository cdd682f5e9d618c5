package dev.eva4j.api.eva;

import java.util.List;

/** Per layer (declaration order) EVA's answer, and how the run went. */
public record EvaResult(EvaConfig config, List<LayerResult> layers, int steps, boolean converged,
                        List<String> unconverged, String allocator) {

    public int totalRank() {
        return layers.stream().mapToInt(LayerResult::rank).sum();
    }
}
