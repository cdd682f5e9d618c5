package dev.eva4j.cuda;

import java.lang.foreign.MemorySegment;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Page-locked host memory ({@code cuMemAllocHost_v2}) owned by this object: copies from and to it run
 * asynchronously and at full bus speed. {@link #segment()} is valid until {@link #close()}, which frees it
 * ({@code cuMemFreeHost}) with the context bound on the calling thread. Using the segment after close is a bug the
 * JVM cannot catch (the segment is a raw native one); {@link #segment()} refuses once closed.
 */
public final class PinnedHostMemory implements AutoCloseable {
    private final CudaContext context;
    private final MemorySegment segment;
    private final AtomicBoolean closed = new AtomicBoolean();

    PinnedHostMemory(CudaContext context, MemorySegment segment) {
        this.context = context;
        this.segment = segment;
    }

    public MemorySegment segment() {
        if (closed.get()) throw new IllegalStateException("pinned host memory was freed");
        return segment;
    }

    public long byteSize() {
        return segment.byteSize();
    }

    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) return;
        if (context.isClosed()) return;
        context.bind();
        context.driver().streamSynchronize(context.stream());
        context.driver().memFreeHost(segment);
    }
}
