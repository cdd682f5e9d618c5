package dev.eva4j.cuda;

import dev.eva4j.spi.Buffer;
import dev.eva4j.spi.DType;
import dev.eva4j.spi.Kernels;

/**
 * A {@link Buffer} in device memory: a root owns a {@link DeviceMemory}; a {@link #slice} is a view (a device pointer
 * further on) that frees nothing and dies with its root.
 *
 * <p>I32 buffers (ids, positions, targets, masks) also keep a host mirror of their values: they are only ever written
 * from the host ({@link Kernels#upload(Buffer, long, int[])}, {@link Kernels#copy}) and never by a kernel, so the
 * mirror is always exact, and the argument checks the contract asks for (an id or a target out of range is an
 * {@link IllegalArgumentException}) and the counts some kernels need (counted cross-entropy rows) cost no
 * device-to-host copy and no synchronisation.
 */
final class CudaBuffer implements Buffer {
    private final CudaKernels owner;
    private final DType dtype;
    private final long length;
    private final DeviceMemory memory;   // the root's memory (shared by views)
    private final long byteOffset;       // of this view in the root's memory
    private final int[] mirror;          // I32 only: the root's values, host side
    private final long mirrorOffset;     // of this view's element 0 in the mirror
    private final boolean root;

    private CudaBuffer(CudaKernels owner, DType dtype, long length, DeviceMemory memory, long byteOffset, int[] mirror,
                       long mirrorOffset, boolean root) {
        this.owner = owner;
        this.dtype = dtype;
        this.length = length;
        this.memory = memory;
        this.byteOffset = byteOffset;
        this.mirror = mirror;
        this.mirrorOffset = mirrorOffset;
        this.root = root;
    }

    /** A root buffer over {@code memory} (already zero-filled by the caller). */
    static CudaBuffer root(CudaKernels owner, DType dtype, long length, DeviceMemory memory) {
        int[] mirror = null;
        if (dtype == DType.I32) {
            if (length > Integer.MAX_VALUE - 8) {
                throw new IllegalArgumentException("allocate: an I32 buffer holds at most " + (Integer.MAX_VALUE - 8)
                        + " elements, asked for " + length);
            }
            mirror = new int[(int) length];
        }
        return new CudaBuffer(owner, dtype, length, memory, 0, mirror, 0, true);
    }

    /** The device pointer of element 0 (throws when the memory was freed). */
    long address() {
        return memory.address() + byteOffset;
    }

    /** The device pointer of element {@code index}. */
    long address(long index) {
        return address() + index * dtype.bytes();
    }

    /** I32 only: the host mirror of element {@code index} of this view. */
    int hostInt(long index) {
        return mirror[Math.toIntExact(mirrorOffset + index)];
    }

    /** I32 only: records that elements [offset, offset + values.length) now hold {@code values}. */
    void mirrorWrite(long offset, int[] values) {
        System.arraycopy(values, 0, mirror, Math.toIntExact(mirrorOffset + offset), values.length);
    }

    /** I32 only: records that this view's first n elements were copied from {@code src}'s. */
    void mirrorCopy(CudaBuffer src, long n) {
        System.arraycopy(src.mirror, Math.toIntExact(src.mirrorOffset), mirror, Math.toIntExact(mirrorOffset),
                Math.toIntExact(n));
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
    public CudaBuffer slice(long offset, long length) {
        if (offset < 0 || length < 0 || offset > this.length - length) {
            throw new IndexOutOfBoundsException("slice [" + offset + ", " + offset + " + " + length
                    + ") of a buffer of " + this.length + " elements");
        }
        return new CudaBuffer(owner, dtype, length, memory, byteOffset + offset * dtype.bytes(), mirror,
                mirrorOffset + offset, false);
    }

    @Override
    public boolean isAlive() {
        return memory.isAlive();
    }

    /** Frees the device memory (a root only; waits for the stream's queued work first). */
    @Override
    public void close() {
        if (root) memory.close();
    }

    @Override
    public String toString() {
        return "CudaBuffer[" + dtype + " x " + length + (root ? "" : ", view") + (isAlive() ? "" : ", closed") + "]";
    }
}
