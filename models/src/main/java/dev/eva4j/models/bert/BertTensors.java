package dev.eva4j.models.bert;

import dev.eva4j.models.nn.ParameterBlock.Spec;
import java.util.ArrayList;
import java.util.List;

/**
 * The Hugging Face tensor names and shapes of a BERT encoder (BertModel, optionally under {@code bert.}).
 * V vocab, P max positions, Y token types, C hidden, I intermediate.
 */
public final class BertTensors {
    private BertTensors() {}

    public static final String WORD = "embeddings.word_embeddings.weight";
    public static final String POSITION = "embeddings.position_embeddings.weight";
    public static final String TOKEN_TYPE = "embeddings.token_type_embeddings.weight";
    public static final String EMB_LN_W = "embeddings.LayerNorm.weight";
    public static final String EMB_LN_B = "embeddings.LayerNorm.bias";

    /** Module path of layer {@code i}'s part, e.g. {@code layer(0, "attention.self.query")}. */
    public static String layer(int i, String module) {
        return "encoder.layer." + i + "." + module;
    }

    /** The linear modules of a layer, in forward order. */
    public static final List<String> LINEARS = List.of("attention.self.query", "attention.self.key",
            "attention.self.value", "attention.output.dense", "intermediate.dense", "output.dense");

    /** Every tensor the model reads, in forward order. */
    public static List<Spec> expected(BertConfig c) {
        long v = c.vocabSize(), p = c.maxPositions(), y = c.typeVocabSize(), h = c.hiddenSize(), in = c.intermediateSize();
        var out = new ArrayList<Spec>();
        out.add(new Spec(WORD, v, h));
        out.add(new Spec(POSITION, p, h));
        out.add(new Spec(TOKEN_TYPE, y, h));
        out.add(new Spec(EMB_LN_W, h));
        out.add(new Spec(EMB_LN_B, h));
        for (int i = 0; i < c.numLayers(); i++) {
            for (String m : List.of("attention.self.query", "attention.self.key", "attention.self.value",
                    "attention.output.dense")) {
                out.add(new Spec(layer(i, m) + ".weight", h, h));
                out.add(new Spec(layer(i, m) + ".bias", h));
            }
            out.add(new Spec(layer(i, "attention.output.LayerNorm.weight"), h));
            out.add(new Spec(layer(i, "attention.output.LayerNorm.bias"), h));
            out.add(new Spec(layer(i, "intermediate.dense.weight"), in, h));
            out.add(new Spec(layer(i, "intermediate.dense.bias"), in));
            out.add(new Spec(layer(i, "output.dense.weight"), h, in));
            out.add(new Spec(layer(i, "output.dense.bias"), h));
            out.add(new Spec(layer(i, "output.LayerNorm.weight"), h));
            out.add(new Spec(layer(i, "output.LayerNorm.bias"), h));
        }
        return out;
    }
}
