package dev.eva4j.models.llama;

import dev.eva4j.models.nn.ParameterBlock.Spec;
import java.util.ArrayList;
import java.util.List;

/**
 * The Hugging Face tensor names and shapes of a Llama-family checkpoint (LlamaForCausalLM, MistralForCausalLM,
 * Qwen2ForCausalLM). V vocab, C hidden, I intermediate, Q = heads * head_dim, K = kv heads * head_dim.
 */
public final class LlamaTensors {
    private LlamaTensors() {}

    public static final String EMBED = "model.embed_tokens.weight";
    public static final String FINAL_NORM = "model.norm.weight";
    public static final String LM_HEAD = "lm_head.weight";

    /** Module path of layer {@code i}'s part, e.g. {@code layer(3, "self_attn.q_proj")}. */
    public static String layer(int i, String module) {
        return "model.layers." + i + "." + module;
    }

    /** Every tensor the model reads, in forward order ({@code lm_head.weight} absent when tied). */
    public static List<Spec> expected(LlamaConfig c) {
        long v = c.vocabSize(), h = c.hiddenSize(), in = c.intermediateSize(), q = c.qDim(), kv = c.kvDim();
        var out = new ArrayList<Spec>();
        out.add(new Spec(EMBED, v, h));
        for (int i = 0; i < c.numLayers(); i++) {
            out.add(new Spec(layer(i, "input_layernorm.weight"), h));
            out.add(new Spec(layer(i, "self_attn.q_proj.weight"), q, h));
            if (c.qkvBias()) out.add(new Spec(layer(i, "self_attn.q_proj.bias"), q));
            out.add(new Spec(layer(i, "self_attn.k_proj.weight"), kv, h));
            if (c.qkvBias()) out.add(new Spec(layer(i, "self_attn.k_proj.bias"), kv));
            out.add(new Spec(layer(i, "self_attn.v_proj.weight"), kv, h));
            if (c.qkvBias()) out.add(new Spec(layer(i, "self_attn.v_proj.bias"), kv));
            out.add(new Spec(layer(i, "self_attn.o_proj.weight"), h, q));
            if (c.oBias()) out.add(new Spec(layer(i, "self_attn.o_proj.bias"), h));
            out.add(new Spec(layer(i, "post_attention_layernorm.weight"), h));
            out.add(new Spec(layer(i, "mlp.gate_proj.weight"), in, h));
            out.add(new Spec(layer(i, "mlp.up_proj.weight"), in, h));
            out.add(new Spec(layer(i, "mlp.down_proj.weight"), h, in));
        }
        out.add(new Spec(FINAL_NORM, h));
        if (!c.tieWordEmbeddings()) out.add(new Spec(LM_HEAD, v, h));
        return out;
    }
}
