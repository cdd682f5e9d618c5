package dev.eva4j.models.train;

import dev.eva4j.spi.InvalidInputException;

import dev.eva4j.models.hf.FloatTensor;
import dev.eva4j.models.nn.Lora;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Converts an adapter trained from PiSSA or OLoRA, which belongs to the residual base weights W_res = W - s B0 A0,
 * into a plain LoRA adapter for the ORIGINAL weights W, as PEFT's {@code save_pretrained(...,
 * path_initial_model_for_weight_conversion=...)} does ({@code subtract_mutated_init}): the trained change is
 * W_res + s B A - W = s (B A - B0 A0) = s' B' A' with
 * <pre>
 *   A' = [A; A0]    [2r, in]   (rows of A, then rows of A0)
 *   B' = [B, -B0]   [out, 2r]  (columns of B, then columns of -B0)
 * </pre>
 * and the settings changed so that each layer's scaling s' equals s: r, every rank_pattern value doubled; lora_alpha
 * and every alpha_pattern value doubled (plain scaling alpha / r), or multiplied by sqrt 2 with rsLoRA (alpha /
 * sqrt r). PEFT refuses rsLoRA together with rank or alpha patterns; scaling every alpha by sqrt 2 is exact there too,
 * so this conversion accepts it. The result is the tensors and settings; writing the folder is the PEFT writer's job.
 */
public final class PissaExport {
    private PissaExport() {}

    /** One converted module: a [rank, in] and b [out, rank] with rank = twice the trained rank. */
    public record Module(String path, int in, int out, int rank, float[] a, float[] b) {
        public String aName() {
            return path + ".lora_A.weight";
        }

        public String bName() {
            return path + ".lora_B.weight";
        }
    }

    /** The converted adapter: its settings (for adapter_config.json) and modules, in the trained adapter's order. */
    public record Converted(LoraSettings settings, List<Module> modules) {
        public Converted {
            modules = List.copyOf(modules);
        }

        /** Every tensor by PEFT's name without the {@code base_model.model.} prefix, lora_A then lora_B per module. */
        public Map<String, FloatTensor> tensors() {
            Map<String, FloatTensor> out = new LinkedHashMap<>();
            for (Module m : modules) {
                out.put(m.aName(), FloatTensor.of(m.a(), m.rank(), m.in()));
                out.put(m.bName(), FloatTensor.of(m.b(), m.out(), m.rank()));
            }
            return out;
        }
    }

    /**
     * The trained {@code lora} (its current A and B, read from backend memory) as a LoRA adapter for the original
     * weights, given what {@link InitPlan#apply} returned when training began.
     *
     * @throws IllegalArgumentException when the initialisation did not change the base weights (nothing to convert:
     *                                  the trained adapter already belongs to the original weights), or {@code lora}
     *                                  is not the adapter that was initialised
     */
    public static Converted convert(Lora lora, InitialAdapter initial) {
        if (!initial.kind().changesBaseWeights()) {
            throw new InvalidInputException("a " + initial.kind().cliName() + " adapter needs no conversion: its base "
                    + "weights are the original ones");
        }
        if (!lora.modules().equals(initial.modules())) {
            throw new InvalidInputException("the adapter to export is not the one initialised (" + lora.modules().size()
                    + " module(s) vs " + initial.modules().size() + ")");
        }
        List<Module> out = new ArrayList<>();
        for (Lora.Module m : lora.modules()) {
            int r = m.rank(), in = m.in(), o = m.out(), r2 = 2 * r;
            InitialAdapter.Factors f0 = initial.initial().get(m.path());
            float[] a = lora.params().read(m.aName()), b = lora.params().read(m.bName());
            float[] a2 = new float[r2 * in];
            System.arraycopy(a, 0, a2, 0, r * in);
            System.arraycopy(f0.a(), 0, a2, r * in, r * in);
            float[] b2 = new float[o * r2];
            for (int row = 0; row < o; row++) {
                for (int k = 0; k < r; k++) {
                    b2[row * r2 + k] = b[row * r + k];
                    b2[row * r2 + r + k] = -f0.b()[row * r + k];
                }
            }
            out.add(new Module(m.path(), in, o, r2, a2, b2));
        }
        return new Converted(settings(initial.settings()), out);
    }

    /** The settings of the doubled-rank adapter: same scaling for every layer. */
    public static LoraSettings settings(LoraSettings s) {
        double alphaFactor = s.rslora() ? Math.sqrt(2) : 2;
        Map<String, Integer> ranks = new LinkedHashMap<>();
        s.rankPattern().forEach((k, v) -> ranks.put(k, 2 * v));
        Map<String, Double> alphas = new LinkedHashMap<>();
        s.alphaPattern().forEach((k, v) -> alphas.put(k, alphaFactor * v));
        return new LoraSettings(2 * s.r(), alphaFactor * s.alpha(), s.dropout(), s.rslora(), s.targets(), ranks, alphas);
    }
}
