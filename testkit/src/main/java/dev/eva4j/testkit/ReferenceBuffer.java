package dev.eva4j.testkit;

import dev.eva4j.spi.Buffer;
import dev.eva4j.spi.DType;
import dev.eva4j.spi.Kernels;

/**
 * A {@link ReferenceKernels} buffer: a Java array (double[] for F64, float[] for F32, int[] for I32) and a window
 * {@code [offset, offset + length)} into it. A slice is a view sharing the array; closing the root marks every view
 * dead (the array is left to the garbage collector).
 */
final class ReferenceBuffer implements Buffer {

    /** The array and whether it is still open, shared by a root buffer and its views. */
    static final class Storage {
        final double[] f64;
        final float[] f32;
        final int[] i32;
        boolean alive = true;

        Storage(DType dtype, int length) {
            f64 = dtype == DType.F64 ? new double[length] : null;
            f32 = dtype == DType.F32 ? new float[length] : null;
            i32 = dtype == DType.I32 ? new int[length] : null;
        }
    }

    private final ReferenceKernels owner;
    private final DType dtype;
    private final Storage storage;
    private final int offset;
    private final int length;
    private final boolean root;

    private ReferenceBuffer(ReferenceKernels owner, DType dtype, Storage storage, int offset, int length,
                            boolean root) {
        this.owner = owner;
        this.dtype = dtype;
        this.storage = storage;
        this.offset = offset;
        this.length = length;
        this.root = root;
    }

    static ReferenceBuffer allocate(ReferenceKernels owner, DType dtype, long length) {
        if (dtype == null) throw new IllegalArgumentException("allocate: dtype is null");
        if (length < 0 || length > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("allocate: length " + length + " is outside [0, 2^31 - 9]"
                    + " (the reference keeps buffers in Java arrays)");
        }
        return new ReferenceBuffer(owner, dtype, new Storage(dtype, (int) length), 0, (int) length, true);
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
    public Buffer slice(long offset, long length) {
        if (offset < 0 || length < 0 || offset + length > this.length) {
            throw new IllegalArgumentException("slice: [" + offset + ", " + (offset + length)
                    + ") is outside a buffer of " + this.length + " elements");
        }
        return new ReferenceBuffer(owner, dtype, storage, this.offset + (int) offset, (int) length, false);
    }

    @Override
    public boolean isAlive() {
        return storage.alive;
    }

    @Override
    public void close() {
        if (root) storage.alive = false;
    }

    /** Element {@code i} of a float buffer (F64 or F32) as a double. */
    double get(long i) {
        return dtype == DType.F64 ? storage.f64[offset + (int) i] : storage.f32[offset + (int) i];
    }

    /** Sets element {@code i} of a float buffer (rounded to float32 on an F32 buffer). */
    void set(long i, double value) {
        if (dtype == DType.F64) storage.f64[offset + (int) i] = value;
        else storage.f32[offset + (int) i] = (float) value;
    }

    int getInt(long i) {
        return storage.i32[offset + (int) i];
    }

    void setInt(long i, int value) {
        storage.i32[offset + (int) i] = value;
    }

    @Override
    public String toString() {
        return "reference " + dtype + "[" + length + "]" + (root ? "" : " view at " + offset);
    }
}
