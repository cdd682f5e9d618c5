package dev.eva4j.models.nn;

import dev.eva4j.spi.InvalidInputException;

import dev.eva4j.models.hf.TensorSource;
import dev.eva4j.spi.Buffer;
import dev.eva4j.spi.Kernels;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;

/**
 * Named parameters in one contiguous backend buffer (llm.c's single parameter block): each tensor is a view at its
 * offset, so the whole block can be uploaded once, stepped by one AdamW call, or zeroed by one fill.
 */
public final class ParameterBlock implements AutoCloseable {
    /** A tensor's name and shape (outermost first). */
    public record Spec(String name, long... shape) {
        public long length() {
            long n = 1;
            for (long d : shape) n = Math.multiplyExact(n, d);
            return n;
        }

        @Override
        public String toString() {
            return name + Arrays.toString(shape);
        }
    }

    private final Kernels kernels;
    private final Buffer block;
    private final Map<String, Buffer> views = new LinkedHashMap<>();
    private final Map<String, Spec> specs = new LinkedHashMap<>();

    private ParameterBlock(Kernels kernels, List<Spec> specs) {
        this.kernels = kernels;
        long total = 0;
        for (Spec s : specs) total = Math.addExact(total, s.length());
        this.block = kernels.allocateFloats(Math.max(1, total));
        long offset = 0;
        for (Spec s : specs) {
            if (this.specs.put(s.name(), s) != null) {
                block.close();
                throw new IllegalArgumentException("parameter " + s.name() + " is listed twice");
            }
            views.put(s.name(), block.slice(offset, s.length()));
            offset += s.length();
        }
    }

    /** A zero-filled block with one view per spec, in order. */
    public static ParameterBlock allocate(Kernels kernels, List<Spec> specs) {
        return new ParameterBlock(kernels, specs);
    }

    /**
     * A block filled from {@code source}: spec {@code s} is read from the tensor named {@code sourceName(s.name())},
     * which must have exactly {@code s.shape()}; each tensor passes through a temporary host copy, one at a time.
     *
     * @throws IllegalArgumentException one line naming a missing tensor or a wrong shape
     */
    public static ParameterBlock load(Kernels kernels, List<Spec> specs, TensorSource source,
                                      UnaryOperator<String> sourceName) {
        for (Spec s : specs) {
            String name = sourceName.apply(s.name());
            long[] actual = source.shape(name).orElseThrow(() -> new InvalidInputException("weight " + name
                    + " is missing"));
            if (!Arrays.equals(actual, s.shape())) {
                throw new InvalidInputException("weight " + name + " has shape " + Arrays.toString(actual)
                        + ", expected " + Arrays.toString(s.shape()));
            }
        }
        ParameterBlock p = new ParameterBlock(kernels, specs);
        try {
            for (Spec s : specs) {
                try (Arena tmp = Arena.ofConfined()) {
                    MemorySegment values = source.floats(sourceName.apply(s.name()), tmp);
                    kernels.uploadFloats(p.get(s.name()), 0, values);
                }
            }
            return p;
        } catch (RuntimeException | Error e) {
            p.close();
            throw e;
        }
    }

    public Kernels kernels() {
        return kernels;
    }

    /** The view of parameter {@code name}. */
    public Buffer get(String name) {
        Buffer b = views.get(name);
        if (b == null) throw new IllegalArgumentException("no parameter " + name);
        return b;
    }

    /** The view of parameter {@code name}, or null when there is none. */
    public Buffer find(String name) {
        return views.get(name);
    }

    public boolean contains(String name) {
        return views.containsKey(name);
    }

    public List<Spec> specs() {
        return List.copyOf(specs.values());
    }

    /** The whole block. */
    public Buffer buffer() {
        return block;
    }

    /** Number of floats in the block. */
    public long size() {
        long n = 0;
        for (Spec s : specs.values()) n += s.length();
        return n;
    }

    /** Values of parameter {@code name} as floats on the host. */
    public float[] read(String name) {
        Buffer b = get(name);
        float[] out = new float[Math.toIntExact(b.length())];
        kernels.download(b, 0, out);
        return out;
    }

    /** Sets parameter {@code name} from host floats (exactly its length). */
    public void write(String name, float[] values) {
        Buffer b = get(name);
        if (values.length != b.length()) {
            throw new IllegalArgumentException("parameter " + name + " holds " + b.length() + " values, got "
                    + values.length);
        }
        kernels.upload(b, 0, values);
    }

    /** Frees the block. */
    @Override
    public void close() {
        block.close();
    }
}
