package dev.eva4j.models.bert;

import dev.eva4j.models.hf.FloatTensor;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;

/** A random BERT with Hugging Face tensor names, from a fixed seed (test fixture). */
public final class TinyBert {
    private TinyBert() {}

    /** 2 layers, C=32, 4 heads, I=64, 50 tokens, 16 positions. */
    public static BertConfig config() {
        return new BertConfig(50, 32, 2, 4, 64, 16, 2, 1e-12, "gelu");
    }

    public static Map<String, FloatTensor> weights(BertConfig cfg, long seed) {
        Random rnd = new Random(seed);
        int C = cfg.hiddenSize(), I = cfg.intermediateSize();
        var m = new LinkedHashMap<String, FloatTensor>();
        put(m, rnd, "embeddings.word_embeddings.weight", 1, 0, cfg.vocabSize(), C);
        put(m, rnd, "embeddings.position_embeddings.weight", 0.5, 0, cfg.maxPositions(), C);
        put(m, rnd, "embeddings.token_type_embeddings.weight", 0.5, 0, cfg.typeVocabSize(), C);
        put(m, rnd, "embeddings.LayerNorm.weight", 0.1, 1, C);
        put(m, rnd, "embeddings.LayerNorm.bias", 0.1, 0, C);
        double ws = 1 / Math.sqrt(C), wi = 1 / Math.sqrt(I);
        for (int l = 0; l < cfg.numLayers(); l++) {
            String p = "encoder.layer." + l + ".";
            for (String n : new String[] {"attention.self.query", "attention.self.key", "attention.self.value",
                    "attention.output.dense"}) {
                put(m, rnd, p + n + ".weight", ws, 0, C, C);
                put(m, rnd, p + n + ".bias", 0.1, 0, C);
            }
            put(m, rnd, p + "attention.output.LayerNorm.weight", 0.1, 1, C);
            put(m, rnd, p + "attention.output.LayerNorm.bias", 0.1, 0, C);
            put(m, rnd, p + "intermediate.dense.weight", ws, 0, I, C);
            put(m, rnd, p + "intermediate.dense.bias", 0.1, 0, I);
            put(m, rnd, p + "output.dense.weight", wi, 0, C, I);
            put(m, rnd, p + "output.dense.bias", 0.1, 0, C);
            put(m, rnd, p + "output.LayerNorm.weight", 0.1, 1, C);
            put(m, rnd, p + "output.LayerNorm.bias", 0.1, 0, C);
        }
        return m;
    }

    private static void put(Map<String, FloatTensor> m, Random rnd, String name, double scale, double offset, long... shape) {
        long n = 1;
        for (long d : shape) n *= d;
        float[] v = new float[(int) n];
        for (int i = 0; i < v.length; i++) v[i] = (float) (offset + scale * rnd.nextGaussian());
        m.put(name, new FloatTensor(shape, v));
    }
}
