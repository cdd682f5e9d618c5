package dev.eva4j.models.bert;

import dev.eva4j.spi.InvalidInputException;

import dev.eva4j.models.hf.TensorSource;
import dev.eva4j.models.nn.ParameterBlock;
import dev.eva4j.spi.Buffer;
import dev.eva4j.spi.Kernels;
import java.util.ArrayList;
import java.util.List;

/**
 * A BERT encoder's parameters in one backend block (shapes as {@link BertTensors}); linear weights keep Hugging
 * Face's layout [out, in].
 */
public final class BertWeights implements AutoCloseable {
    /** One encoder layer's parameters; W [out, in], b [out]. */
    public record Layer(Buffer qW, Buffer qB, Buffer kW, Buffer kB, Buffer vW, Buffer vB, Buffer oW, Buffer oB,
                        Buffer ln1W, Buffer ln1B, Buffer iW, Buffer iB, Buffer dW, Buffer dB, Buffer ln2W,
                        Buffer ln2B) {}

    private final ParameterBlock block;
    private final List<Layer> layers;

    private BertWeights(ParameterBlock block, int numLayers) {
        this.block = block;
        var l = new ArrayList<Layer>();
        for (int i = 0; i < numLayers; i++) {
            final int n = i;
            java.util.function.Function<String, Buffer> g = m -> block.get(BertTensors.layer(n, m));
            l.add(new Layer(g.apply("attention.self.query.weight"), g.apply("attention.self.query.bias"),
                    g.apply("attention.self.key.weight"), g.apply("attention.self.key.bias"),
                    g.apply("attention.self.value.weight"), g.apply("attention.self.value.bias"),
                    g.apply("attention.output.dense.weight"), g.apply("attention.output.dense.bias"),
                    g.apply("attention.output.LayerNorm.weight"), g.apply("attention.output.LayerNorm.bias"),
                    g.apply("intermediate.dense.weight"), g.apply("intermediate.dense.bias"),
                    g.apply("output.dense.weight"), g.apply("output.dense.bias"),
                    g.apply("output.LayerNorm.weight"), g.apply("output.LayerNorm.bias")));
        }
        this.layers = List.copyOf(l);
    }

    /**
     * Uploads every tensor {@link BertTensors#expected} lists from {@code source} (names optionally under
     * {@code bert.}), checking names and shapes first.
     *
     * @throws IllegalArgumentException one line naming a missing tensor or a wrong shape
     */
    public static BertWeights load(BertConfig config, TensorSource source, Kernels kernels) {
        String prefix;
        if (source.contains(BertTensors.WORD)) prefix = "";
        else if (source.contains("bert." + BertTensors.WORD)) prefix = "bert.";
        else throw new InvalidInputException("weight " + BertTensors.WORD + " (or bert." + BertTensors.WORD
                + ") is missing: not a BERT checkpoint?");
        ParameterBlock block = ParameterBlock.load(kernels, BertTensors.expected(config), source, n -> prefix + n);
        return new BertWeights(block, config.numLayers());
    }

    public Buffer word() {
        return block.get(BertTensors.WORD);
    }

    public Buffer position() {
        return block.get(BertTensors.POSITION);
    }

    public Buffer tokenType() {
        return block.get(BertTensors.TOKEN_TYPE);
    }

    public Buffer embLnW() {
        return block.get(BertTensors.EMB_LN_W);
    }

    public Buffer embLnB() {
        return block.get(BertTensors.EMB_LN_B);
    }

    public List<Layer> layers() {
        return layers;
    }

    /** The whole parameter block. */
    public ParameterBlock block() {
        return block;
    }

    @Override
    public void close() {
        block.close();
    }
}
