package dev.eva4j.cuda;

import java.lang.foreign.MemorySegment;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Device memory owned by this object: a {@code CUdeviceptr} ({@link #address()}) of {@link #byteSize()} bytes in a
 * {@link CudaContext}. {@link #close()} frees it ({@code cuMemFree_v2}) on the calling thread after binding the
 * context there and waiting for the context's stream, so memory still read by queued work is never freed early.
 * Closing twice is a no-op. Not thread-safe for concurrent close; the address may be read from any thread.
 */
public final class DeviceMemory implements AutoCloseable {
    private final CudaContext context;
    private final long address;
    private final long bytes;
    private final AtomicBoolean closed = new AtomicBoolean();

    DeviceMemory(CudaContext context, long address, long bytes) {
        this.context = context;
        this.address = address;
        this.bytes = bytes;
    }

    /** The device pointer; 0 is never returned for a live allocation. */
    public long address() {
        if (closed.get()) throw new IllegalStateException("device memory was freed");
        return address;
    }

    /** The device pointer of byte {@code offset} (checked against the size). */
    public long address(long offset) {
        if (offset < 0 || offset > bytes) {
            throw new IndexOutOfBoundsException("offset " + offset + " outside [0, " + bytes + "]");
        }
        return address() + offset;
    }

    public long byteSize() {
        return bytes;
    }

    public CudaContext context() {
        return context;
    }

    public boolean isAlive() {
        return !closed.get();
    }

    /** Copies {@code src} (native host memory, at most {@link #byteSize()} bytes) to the start of this memory. */
    public void copyFrom(MemorySegment src) {
        if (src.byteSize() > bytes) {
            throw new IllegalArgumentException("source holds " + src.byteSize() + " bytes, more than " + bytes);
        }
        context.upload(address(), src, src.byteSize());
    }

    /** Copies the first {@code dst.byteSize()} bytes of this memory to {@code dst} (native host memory). */
    public void copyTo(MemorySegment dst) {
        if (dst.byteSize() > bytes) {
            throw new IllegalArgumentException("destination holds " + dst.byteSize() + " bytes, more than " + bytes);
        }
        context.download(dst, address(), dst.byteSize());
    }

    /** Sets every byte to zero (ordered on the context's stream). */
    public void zero() {
        context.bind();
        context.driver().memsetD32Async(address(), 0, bytes / 4, context.stream());
        long tail = bytes % 4;
        if (tail != 0) {
            context.driver().streamSynchronize(context.stream());
            context.driver().memsetD8(address + bytes - tail, (byte) 0, tail);
        }
    }

    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) return;
        if (context.isClosed()) return; // the primary context's release freed it
        context.bind();
        context.driver().streamSynchronize(context.stream());
        context.driver().memFree(address);
    }

    @Override
    public String toString() {
        return "DeviceMemory[0x" + Long.toHexString(address) + ", " + bytes + " bytes" + (closed.get() ? ", freed" : "") + "]";
    }
}
