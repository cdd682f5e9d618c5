package dev.eva4j.api.kernels;

import dev.eva4j.spi.Buffer;
import dev.eva4j.spi.DType;
import dev.eva4j.spi.Kernels;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Objects;

/**
 * A {@link Buffer} in host memory: a native segment of exactly {@code length} elements. A root buffer owns a shared
 * arena (any thread may use it) that {@link #close()} frees; a {@link #slice} is a view that frees nothing and dies
 * with its root.
 */
public final class HostBuffer implements Buffer {
    /** Alignment of a root buffer's memory: a cache line, so vector loads at the start do not split lines. */
    private static final long ALIGNMENT = 64;

    private final Kernels owner;
    private final DType dtype;
    private final long length;
    private final MemorySegment segment;
    private final Arena arena;

    private HostBuffer(Kernels owner, DType dtype, long length, MemorySegment segment, Arena arena) {
        this.owner = owner;
        this.dtype = dtype;
        this.length = length;
        this.segment = segment;
        this.arena = arena;
    }

    /** A new zero-filled root buffer of {@code length} elements owned by {@code owner}. */
    public static HostBuffer allocate(Kernels owner, DType dtype, long length) {
        Objects.requireNonNull(owner, "owner");
        Objects.requireNonNull(dtype, "dtype");
        if (length < 0) throw new IllegalArgumentException("allocate: length must be >= 0, got " + length);
        long bytes;
        try {
            bytes = Math.multiplyExact(length, dtype.bytes());
        } catch (ArithmeticException overflow) {
            throw new IllegalArgumentException("allocate: " + length + " elements of " + dtype + " overflow a long");
        }
        Arena arena = Arena.ofShared();
        try {
            return new HostBuffer(owner, dtype, length, arena.allocate(bytes, ALIGNMENT), arena);
        } catch (RuntimeException | Error e) {
            arena.close();
            throw e;
        }
    }

    /** The memory: exactly {@link #byteSize()} bytes, elements in native byte order. */
    public MemorySegment segment() {
        return segment;
    }

    @Override
    public Kernels owner() {
        return owner;
    }

    @Override
    public DType dtype() {
        return dtype;
    }

    @Override
    public long length() {
        return length;
    }

    @Override
    public HostBuffer slice(long offset, long length) {
        if (offset < 0 || length < 0 || offset > this.length - length) {
            throw new IndexOutOfBoundsException("slice [" + offset + ", " + offset + " + " + length
                    + ") of a buffer of " + this.length + " elements");
        }
        int bytes = dtype.bytes();
        return new HostBuffer(owner, dtype, length, segment.asSlice(offset * bytes, length * bytes), null);
    }

    @Override
    public boolean isAlive() {
        return segment.scope().isAlive();
    }

    @Override
    public void close() {
        if (arena != null && arena.scope().isAlive()) arena.close();
    }

    @Override
    public String toString() {
        return "HostBuffer[" + owner.name() + ", " + dtype + " x " + length + (arena == null ? ", view" : "")
                + (isAlive() ? "" : ", closed") + "]";
    }
}
