package dev.eva4j.models.llama;

import dev.eva4j.spi.InvalidInputException;

import dev.eva4j.models.hf.TensorSource;
import dev.eva4j.models.nn.ParameterBlock;
import dev.eva4j.spi.Buffer;
import dev.eva4j.spi.Kernels;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * A Llama-family model's parameters in one backend block (F16, BF16 and F64 checkpoints widened or narrowed to the
 * backend's float type on upload). Linear weights keep Hugging Face's layout [out, in]. Shapes as
 * {@link LlamaTensors}. Biases are null where the architecture has none.
 */
public final class LlamaWeights implements AutoCloseable {

    /** One decoder layer's parameters. */
    public record Layer(Buffer inputNorm, Buffer q, Buffer qBias, Buffer k, Buffer kBias, Buffer v, Buffer vBias,
                        Buffer o, Buffer oBias, Buffer postNorm, Buffer gate, Buffer up, Buffer down) {}

    private final ParameterBlock block;
    private final List<Layer> layers;
    private final Buffer lmHead;

    private LlamaWeights(ParameterBlock block, LlamaConfig config) {
        this.block = block;
        var l = new ArrayList<Layer>();
        for (int i = 0; i < config.numLayers(); i++) {
            final int n = i;
            java.util.function.Function<String, Buffer> g = m -> block.find(LlamaTensors.layer(n, m));
            l.add(new Layer(g.apply("input_layernorm.weight"),
                    g.apply("self_attn.q_proj.weight"), g.apply("self_attn.q_proj.bias"),
                    g.apply("self_attn.k_proj.weight"), g.apply("self_attn.k_proj.bias"),
                    g.apply("self_attn.v_proj.weight"), g.apply("self_attn.v_proj.bias"),
                    g.apply("self_attn.o_proj.weight"), g.apply("self_attn.o_proj.bias"),
                    g.apply("post_attention_layernorm.weight"),
                    g.apply("mlp.gate_proj.weight"), g.apply("mlp.up_proj.weight"), g.apply("mlp.down_proj.weight")));
        }
        this.layers = List.copyOf(l);
        this.lmHead = config.tieWordEmbeddings() ? block.get(LlamaTensors.EMBED) : block.get(LlamaTensors.LM_HEAD);
    }

    /**
     * Uploads every tensor {@link LlamaTensors#expected} lists from {@code source}, checking every name and shape
     * before copying anything. Extra tensors (e.g. {@code lm_head.weight} of a tied checkpoint, rotary caches) are
     * ignored.
     *
     * @throws IllegalArgumentException one line naming a missing tensor, or a tensor with the wrong shape (expected
     *                                  and actual)
     */
    public static LlamaWeights load(LlamaConfig config, TensorSource source, Kernels kernels) {
        List<ParameterBlock.Spec> specs = LlamaTensors.expected(config);
        for (ParameterBlock.Spec s : specs) {
            long[] shape = source.shape(s.name()).orElseThrow(() -> new InvalidInputException("weight " + s.name()
                    + " is missing (" + config.modelType() + ", " + config.numLayers() + " layers, tie_word_embeddings="
                    + config.tieWordEmbeddings() + ")"));
            if (!Arrays.equals(shape, s.shape())) {
                throw new InvalidInputException("weight " + s.name() + " has shape " + Arrays.toString(shape)
                        + ", expected " + Arrays.toString(s.shape()) + " from config.json");
            }
        }
        return new LlamaWeights(ParameterBlock.load(kernels, specs, source, n -> n), config);
    }

    /** Token embeddings [V, C]. */
    public Buffer embed() {
        return block.get(LlamaTensors.EMBED);
    }

    public List<Layer> layers() {
        return layers;
    }

    /** The final RMSNorm's weight [C]. */
    public Buffer finalNorm() {
        return block.get(LlamaTensors.FINAL_NORM);
    }

    /** The output projection [V, C]; the embedding view itself when tied. */
    public Buffer lmHead() {
        return lmHead;
    }

    /** The whole parameter block. */
    public ParameterBlock block() {
        return block;
    }

    /** Frees the block; every view handed out becomes unusable. */
    @Override
    public void close() {
        block.close();
    }
}
