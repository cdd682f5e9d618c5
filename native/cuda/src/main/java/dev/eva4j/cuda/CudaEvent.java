package dev.eva4j.cuda;

import java.util.concurrent.atomic.AtomicBoolean;

/** A CUDA event with timing, owned by this object ({@code cuEventDestroy_v2} on {@link #close()}). */
public final class CudaEvent implements AutoCloseable {
    private final CudaContext context;
    private final long event;
    private final AtomicBoolean closed = new AtomicBoolean();

    CudaEvent(CudaContext context, long event) {
        this.context = context;
        this.event = event;
    }

    public long handle() {
        return event;
    }

    /** Records the event on the context's stream. */
    public void record() {
        context.bind();
        context.driver().eventRecord(event, context.stream());
    }

    /** Waits for the event. */
    public void synchronize() {
        context.bind();
        context.driver().eventSynchronize(event);
    }

    /** Milliseconds from {@code start} to this event (both recorded; waits for this one first). */
    public float elapsedSince(CudaEvent start) {
        synchronize();
        return context.driver().eventElapsedTime(start.event, event);
    }

    @Override
    public void close() {
        if (!closed.compareAndSet(false, true) || context.isClosed()) return;
        context.bind();
        context.driver().eventDestroy(event);
    }
}
