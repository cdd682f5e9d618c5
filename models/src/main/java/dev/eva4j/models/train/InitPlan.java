package dev.eva4j.models.train;

import dev.eva4j.models.TransformerModel;
import dev.eva4j.models.nn.Lora;
import dev.eva4j.models.nn.ParameterBlock;
import dev.eva4j.spi.ComputeBackend;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * An initialisation decided but not yet done: the settings and modules the adapter must be built with (EVA's
 * redistributed ranks included), then {@link #apply} fills a {@link Lora} built from {@link #modules()}. Made by
 * {@link LoraInit#plan} or {@link EvaInit}; applied once.
 */
public final class InitPlan {
    private final LoraInit kind;
    private final TransformerModel model;
    private final LoraSettings settings;
    private final List<Lora.Module> modules;
    private final long seed;
    private final ComputeBackend lapack;
    private final Map<String, InitialAdapter.Factors> given; // EVA: A per module, B or null (zeros)
    private boolean applied;

    InitPlan(LoraInit kind, TransformerModel model, LoraSettings settings, List<Lora.Module> modules, long seed,
             ComputeBackend lapack, Map<String, InitialAdapter.Factors> given) {
        this.kind = kind;
        this.model = model;
        this.settings = settings;
        this.modules = List.copyOf(modules);
        this.seed = seed;
        this.lapack = lapack;
        this.given = given == null ? Map.of() : Map.copyOf(given);
    }

    public LoraInit kind() {
        return kind;
    }

    /** The settings to build and save the adapter with (EVA: its rank_pattern, alpha_pattern and targets). */
    public LoraSettings settings() {
        return settings;
    }

    /** The adapted modules, in the model's order: {@code new Lora(kernels, plan.modules(), dropout, seed)}. */
    public List<Lora.Module> modules() {
        return modules;
    }

    /**
     * Writes every module's A and B into {@code lora}, which must have been built from {@link #modules()}; for PiSSA
     * and OLoRA also replaces each adapted layer's base weight ({@code <path>.weight} of {@code model.parameters()})
     * with the residual W - s B A, computed in float64 from the float32 A and B as written, so base + adapter gives
     * the original outputs. Layers are done one at a time: if a PiSSA SVD fails midway, earlier layers keep their
     * residual weights and the model must be reloaded.
     *
     * <p>Deterministic: the same plan on the same weights and backend gives the same values, so a resumed run can
     * apply it again (to get the residual base weights and A0, B0 back) and then load its checkpoint's adapter.
     *
     * @throws IllegalStateException    when the plan was applied already (PiSSA would subtract twice)
     * @throws IllegalArgumentException when {@code lora}'s modules are not this plan's
     */
    public InitialAdapter apply(Lora lora) {
        if (applied) throw new IllegalStateException("this " + kind.cliName() + " initialisation was applied already");
        if (!lora.modules().equals(modules)) {
            throw new IllegalArgumentException("the LoRA adapters were not built from this plan's modules: "
                    + lora.modules().size() + " module(s) vs " + modules.size());
        }
        applied = true;
        Map<String, InitialAdapter.Factors> initial = new LinkedHashMap<>();
        ParameterBlock base = model.parameters();
        for (Lora.Module m : modules) {
            float[] w = kind.changesBaseWeights() ? base.read(weightName(m)) : null; // W [out, in]
            InitialAdapter.Factors f = switch (kind) {
                case LORA -> new InitialAdapter.Factors(kaimingUniform(m), new float[m.out() * m.rank()]);
                case GAUSSIAN -> new InitialAdapter.Factors(gaussian(m), new float[m.out() * m.rank()]);
                case EVA -> given(m);
                case PISSA -> pissa(m, w);
                case OLORA -> olora(m, w);
            };
            lora.params().write(m.aName(), f.a());
            lora.params().write(m.bName(), f.b());
            if (w != null) {
                base.write(weightName(m), HostLinearAlgebra.residual(w, f.b(), f.a(), m.out(), m.in(), m.rank(), m.scale()));
                initial.put(m.path(), f);
            }
        }
        return new InitialAdapter(kind, settings, modules, initial);
    }

    private static String weightName(Lora.Module m) {
        return m.path() + ".weight";
    }

    /** PyTorch's kaiming_uniform_(a = sqrt 5) on A [r, in]: gain sqrt(1/3), bound = gain sqrt(3 / in) = 1/sqrt(in). */
    private float[] kaimingUniform(Lora.Module m) {
        Random rnd = new Random(LoraInit.moduleSeed(seed, m.path()));
        double bound = 1 / Math.sqrt(m.in());
        float[] a = new float[m.rank() * m.in()];
        for (int i = 0; i < a.length; i++) a[i] = (float) (bound * (2 * rnd.nextDouble() - 1));
        return a;
    }

    /** normal_(std = 1 / r) on A [r, in], PEFT's "gaussian". */
    private float[] gaussian(Lora.Module m) {
        Random rnd = new Random(LoraInit.moduleSeed(seed, m.path()));
        double std = 1.0 / m.rank();
        float[] a = new float[m.rank() * m.in()];
        for (int i = 0; i < a.length; i++) a[i] = (float) (std * rnd.nextGaussian());
        return a;
    }

    private InitialAdapter.Factors given(Lora.Module m) {
        InitialAdapter.Factors f = given.get(m.path());
        if (f == null) throw new IllegalStateException("no EVA components for " + m.path());
        return new InitialAdapter.Factors(f.a(), f.b() != null ? f.b() : new float[m.out() * m.rank()]);
    }

    /** PEFT's pissa_init: W = U S V^T, Sr = S[:r] / s; A = diag(sqrt Sr) V^T[:r] [r, in]; B = U[:, :r] diag(sqrt Sr) [out, r]. */
    private InitialAdapter.Factors pissa(Lora.Module m, float[] w) {
        int out = m.out(), in = m.in(), r = m.rank();
        HostLinearAlgebra.Svd svd = HostLinearAlgebra.svd(lapack, out, in, w);
        int p = svd.p();
        float[] a = new float[r * in], b = new float[out * r];
        for (int k = 0; k < r; k++) {
            double root = Math.sqrt(svd.s()[k] / m.scale());
            for (int i = 0; i < in; i++) a[k * in + i] = (float) (root * svd.vt()[k * in + i]);
            for (int o = 0; o < out; o++) b[o * r + k] = (float) (svd.u()[o * p + k] * root);
        }
        return new InitialAdapter.Factors(a, b);
    }

    /** PEFT's olora_init: W = QR; A = R[:r] [r, in]; B = Q[:, :r] [out, r]. */
    private static InitialAdapter.Factors olora(Lora.Module m, float[] w) {
        HostLinearAlgebra.Qr qr = HostLinearAlgebra.qrLeading(m.out(), m.in(), w, m.rank());
        float[] a = new float[qr.rr().length], b = new float[qr.q().length];
        for (int i = 0; i < a.length; i++) a[i] = (float) qr.rr()[i];
        for (int i = 0; i < b.length; i++) b[i] = (float) qr.q()[i];
        return new InitialAdapter.Factors(a, b);
    }
}
