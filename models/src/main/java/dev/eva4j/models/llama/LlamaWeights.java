package dev.eva4j.models.llama;

import dev.eva4j.models.hf.TensorSource;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A Llama-family model's parameters as float32 (native byte order) in native memory owned by this object; F16,
 * BF16 and F64 checkpoints are widened (or narrowed) on load. Linear weights keep Hugging Face's layout [out, in].
 * Shapes as {@link LlamaTensors}. Biases are null where the architecture has none.
 */
public final class LlamaWeights implements AutoCloseable {

    /** One decoder layer's parameters. */
    public record Layer(MemorySegment inputNorm, MemorySegment q, MemorySegment qBias, MemorySegment k,
                        MemorySegment kBias, MemorySegment v, MemorySegment vBias, MemorySegment o,
                        MemorySegment oBias, MemorySegment postNorm, MemorySegment gate, MemorySegment up,
                        MemorySegment down) {}

    private final Arena arena;
    private final MemorySegment embed;
    private final List<Layer> layers;
    private final MemorySegment finalNorm;
    private final MemorySegment lmHead;

    private LlamaWeights(Arena arena, MemorySegment embed, List<Layer> layers, MemorySegment finalNorm, MemorySegment lmHead) {
        this.arena = arena;
        this.embed = embed;
        this.layers = List.copyOf(layers);
        this.finalNorm = finalNorm;
        this.lmHead = lmHead;
    }

    /**
     * Reads every tensor {@link LlamaTensors#expected} lists from {@code source}, checking every name and shape
     * before copying anything. Extra tensors (e.g. {@code lm_head.weight} of a tied checkpoint, rotary caches) are
     * ignored.
     *
     * @throws IllegalArgumentException one line naming a missing tensor, or a tensor with the wrong shape (expected
     *                                  and actual)
     */
    public static LlamaWeights load(LlamaConfig config, TensorSource source) {
        List<LlamaTensors.Spec> specs = LlamaTensors.expected(config);
        for (LlamaTensors.Spec s : specs) {
            long[] shape = source.shape(s.name()).orElseThrow(() -> new IllegalArgumentException("weight " + s.name()
                    + " is missing (" + config.modelType() + ", " + config.numLayers() + " layers, tie_word_embeddings="
                    + config.tieWordEmbeddings() + ")"));
            if (!Arrays.equals(shape, s.shape())) {
                throw new IllegalArgumentException("weight " + s.name() + " has shape " + Arrays.toString(shape)
                        + ", expected " + Arrays.toString(s.shape()) + " from config.json");
            }
        }
        Arena arena = Arena.ofShared();
        try {
            Map<String, MemorySegment> w = new HashMap<>();
            for (LlamaTensors.Spec s : specs) {
                w.put(s.name(), source.require(s.name(), arena, s.shape()));
            }
            var layers = new ArrayList<Layer>();
            for (int i = 0; i < config.numLayers(); i++) {
                final int n = i;
                java.util.function.Function<String, MemorySegment> get = m -> w.get(LlamaTensors.layer(n, m));
                layers.add(new Layer(get.apply("input_layernorm.weight"),
                        get.apply("self_attn.q_proj.weight"), get.apply("self_attn.q_proj.bias"),
                        get.apply("self_attn.k_proj.weight"), get.apply("self_attn.k_proj.bias"),
                        get.apply("self_attn.v_proj.weight"), get.apply("self_attn.v_proj.bias"),
                        get.apply("self_attn.o_proj.weight"), get.apply("self_attn.o_proj.bias"),
                        get.apply("post_attention_layernorm.weight"),
                        get.apply("mlp.gate_proj.weight"), get.apply("mlp.up_proj.weight"), get.apply("mlp.down_proj.weight")));
            }
            MemorySegment embed = w.get(LlamaTensors.EMBED);
            MemorySegment head = config.tieWordEmbeddings() ? embed : w.get(LlamaTensors.LM_HEAD);
            return new LlamaWeights(arena, embed, layers, w.get(LlamaTensors.FINAL_NORM), head);
        } catch (RuntimeException | Error e) {
            arena.close();
            throw e;
        }
    }

    /** Token embeddings [V, C]. */
    public MemorySegment embed() {
        return embed;
    }

    public List<Layer> layers() {
        return layers;
    }

    /** The final RMSNorm's weight [C]. */
    public MemorySegment finalNorm() {
        return finalNorm;
    }

    /** The output projection [V, C]; the embedding segment itself when tied. */
    public MemorySegment lmHead() {
        return lmHead;
    }

    /** Frees the native memory; every segment handed out becomes inaccessible. */
    @Override
    public void close() {
        if (arena.scope().isAlive()) arena.close();
    }
}
