package dev.eva4j.models.nn;

import dev.eva4j.spi.InvalidInputException;

import dev.eva4j.spi.Buffer;
import dev.eva4j.spi.Kernels;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * LoRA adapters on a model's linear layers, PEFT's semantics: {@code y = x W^T + b + scale * (drop(x) A^T) B^T},
 * dropout on the LoRA branch only, the base weight frozen. Every A [r, in] and B [out, r] lives in one parameter
 * block (PEFT's names: {@code <module>.lora_A.weight}, {@code <module>.lora_B.weight}) with a gradient block of the
 * same layout, so one AdamW call steps them all. Dropout masks are regenerated from a seed per (module, step).
 */
public final class Lora implements AutoCloseable {
    /** One adapted module: its path, shape, rank and scaling (alpha / r, or alpha / sqrt(r) for rsLoRA). */
    public record Module(String path, int in, int out, int rank, float scale) {
        public Module {
            if (rank < 1) throw new InvalidInputException("LoRA rank of " + path + " must be >= 1, got " + rank);
            if (rank > Math.min(in, out)) {
                throw new InvalidInputException("LoRA rank " + rank + " of " + path + " exceeds min(in, out) = "
                        + Math.min(in, out));
            }
        }

        public String aName() {
            return path + ".lora_A.weight";
        }

        public String bName() {
            return path + ".lora_B.weight";
        }
    }

    private final Map<String, Module> modules = new LinkedHashMap<>();
    private final Map<String, Integer> index = new LinkedHashMap<>();
    private final ParameterBlock params;
    private final ParameterBlock grads;
    private final float dropout;
    private final long seed;
    private long step;

    /** Zero-initialised adapters (initialise with {@link #params()}' write, e.g. from EVA or PEFT's default). */
    public Lora(Kernels kernels, List<Module> modules, float dropout, long seed) {
        if (!(dropout >= 0 && dropout < 1)) throw new InvalidInputException("LoRA dropout must be in [0, 1), got " + dropout);
        var specs = new ArrayList<ParameterBlock.Spec>();
        for (Module m : modules) {
            if (this.modules.put(m.path(), m) != null) throw new IllegalArgumentException("LoRA module " + m.path() + " listed twice");
            index.put(m.path(), index.size());
            specs.add(new ParameterBlock.Spec(m.aName(), m.rank(), m.in()));
            specs.add(new ParameterBlock.Spec(m.bName(), m.out(), m.rank()));
        }
        this.dropout = dropout;
        this.seed = seed;
        this.params = ParameterBlock.allocate(kernels, specs);
        try {
            this.grads = ParameterBlock.allocate(kernels, specs);
        } catch (RuntimeException | Error e) {
            params.close();
            throw e;
        }
    }

    public Module module(String path) {
        return modules.get(path);
    }

    public boolean adapts(String path) {
        return modules.containsKey(path);
    }

    public List<Module> modules() {
        return List.copyOf(modules.values());
    }

    /** The largest rank of any module. */
    public int maxRank() {
        int r = 0;
        for (Module m : modules.values()) r = Math.max(r, m.rank());
        return r;
    }

    public ParameterBlock params() {
        return params;
    }

    public ParameterBlock grads() {
        return grads;
    }

    public Buffer a(String path) {
        return params.get(modules.get(path).aName());
    }

    public Buffer b(String path) {
        return params.get(modules.get(path).bName());
    }

    public Buffer gradA(String path) {
        return grads.get(modules.get(path).aName());
    }

    public Buffer gradB(String path) {
        return grads.get(modules.get(path).bName());
    }

    public float dropout() {
        return dropout;
    }

    /** Sets the step whose dropout masks the next forward and backward passes use. */
    public void step(long step) {
        this.step = step;
    }

    public long step() {
        return step;
    }

    /** The dropout seed of module {@code path} at the current step. */
    public long dropoutSeed(String path) {
        long z = seed ^ (step * 0x9E3779B97F4A7C15L) ^ ((long) index.get(path) * 0xC2B2AE3D27D4EB4FL);
        return z ^ (z >>> 29);
    }

    /** Sets every gradient to zero. */
    public void zeroGrads() {
        grads.kernels().fill(grads.buffer(), 0, grads.size());
    }

    @Override
    public void close() {
        params.close();
        grads.close();
    }
}
