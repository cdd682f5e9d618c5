package dev.eva4j.models.nn;

import dev.eva4j.spi.Buffer;
import dev.eva4j.spi.DType;
import dev.eva4j.spi.Kernels;
import java.util.ArrayList;
import java.util.List;

/** Activation buffers of one pass shape, allocated once and freed together. */
public final class Workspace implements AutoCloseable {
    private final Kernels kernels;
    private final List<Buffer> buffers = new ArrayList<>();

    public Workspace(Kernels kernels) {
        this.kernels = kernels;
    }

    /** A zero-filled float buffer of n elements. */
    public Buffer floats(long n) {
        Buffer b = kernels.allocateFloats(Math.max(1, n));
        buffers.add(b);
        return b;
    }

    /** A zero-filled I32 buffer of n elements. */
    public Buffer ints(long n) {
        Buffer b = kernels.allocate(DType.I32, Math.max(1, n));
        buffers.add(b);
        return b;
    }

    /** An I32 buffer holding {@code values}. */
    public Buffer ints(int[] values) {
        Buffer b = ints(values.length);
        kernels.upload(b, 0, values);
        return b;
    }

    @Override
    public void close() {
        for (Buffer b : buffers) b.close();
        buffers.clear();
    }
}
