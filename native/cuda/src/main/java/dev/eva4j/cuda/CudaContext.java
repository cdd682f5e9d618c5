package dev.eva4j.cuda;

import java.lang.foreign.MemorySegment;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The primary context of one device, with a stream of its own, a cuBLAS handle and a cuSOLVER handle (created on
 * first use, bound to that stream).
 *
 * <h2>Threads</h2>
 * A CUDA context is current per thread. Every method here that issues driver work first calls {@link #bind()}, which
 * makes the context current on the calling thread when it is not ({@code cuCtxGetCurrent}, then
 * {@code cuCtxSetCurrent} only when needed): any thread may use the context. Work is ordered on {@link #stream()};
 * the cuBLAS and cuSOLVER handles are not safe for concurrent use, so {@link Cublas} and {@link Cusolver} serialise
 * their calls. Closing the context while other threads use it is a bug of the caller.
 *
 * <h2>Ownership</h2>
 * {@link #allocate} returns {@link DeviceMemory} and {@link #allocateHost} {@link PinnedHostMemory}: each is
 * closeable and frees its memory on the closing thread, with the context bound there. {@link #close()} destroys the
 * handles and the stream and releases the primary context (memory still allocated is freed by the driver when the
 * last retain of the primary context is released).
 */
public final class CudaContext implements AutoCloseable {
    private final CudaDriver driver;
    private final CudaLibraries libraries;
    private final int ordinal;
    private final int device;
    private final long context;
    private final long stream;
    private final AtomicBoolean closed = new AtomicBoolean();
    private volatile Cublas cublas;
    private volatile Cusolver cusolver;

    private CudaContext(CudaDriver driver, CudaLibraries libraries, int ordinal) {
        this.driver = driver;
        this.libraries = libraries;
        this.ordinal = ordinal;
        int count = driver.deviceCount();
        if (ordinal < 0 || ordinal >= count) {
            throw new IllegalArgumentException("CUDA device " + ordinal + " does not exist (" + count + " device(s))");
        }
        this.device = driver.device(ordinal);
        this.context = driver.primaryCtxRetain(device);
        try {
            driver.ctxSetCurrent(context);
            this.stream = driver.streamCreate(CudaDriver.STREAM_NON_BLOCKING);
        } catch (RuntimeException e) {
            driver.primaryCtxRelease(device);
            throw e;
        }
    }

    /**
     * Retains the primary context of device {@code ordinal} on the system driver and creates a stream in it.
     *
     * @throws CudaException when the driver is missing, cannot initialise, or the device does not exist
     */
    public static CudaContext open(int ordinal) {
        return new CudaContext(CudaDriver.system(), CudaLibraries.system(), ordinal);
    }

    /** As {@link #open(int)} on a given driver. */
    public static CudaContext open(CudaDriver driver, int ordinal) {
        return new CudaContext(driver, CudaLibraries.system(), ordinal);
    }

    /** As {@link #open(int)} on a given driver, with cuBLAS and cuSOLVER loaded from {@code libraries}. */
    public static CudaContext open(CudaDriver driver, CudaLibraries libraries, int ordinal) {
        return new CudaContext(driver, libraries, ordinal);
    }

    /** The libraries cuBLAS and cuSOLVER are loaded from. */
    public CudaLibraries libraries() {
        return libraries;
    }

    /** Makes this context current on the calling thread if it is not already; cheap when it is. */
    public void bind() {
        if (closed.get()) throw new IllegalStateException("CUDA context of device " + ordinal + " is closed");
        if (driver.ctxGetCurrent() != context) driver.ctxSetCurrent(context);
    }

    public CudaDriver driver() {
        return driver;
    }

    /** The device ordinal this context was opened for. */
    public int ordinal() {
        return ordinal;
    }

    /** The {@code CUdevice}. */
    public int device() {
        return device;
    }

    /** The {@code CUcontext} handle. */
    public long handle() {
        return context;
    }

    /** The context's stream ({@code CU_STREAM_NON_BLOCKING}); all of eva4j's work on this context is ordered on it. */
    public long stream() {
        return stream;
    }

    public String deviceName() {
        return driver.deviceName(device);
    }

    /** Compute capability as major * 10 + minor (90 for an H100/H200). */
    public int computeCapability() {
        return driver.deviceAttribute(CudaDriver.ATTR_COMPUTE_CAPABILITY_MAJOR, device) * 10
                + driver.deviceAttribute(CudaDriver.ATTR_COMPUTE_CAPABILITY_MINOR, device);
    }

    /** Waits for everything queued on {@link #stream()}; errors of asynchronous work surface here. */
    public void synchronize() {
        bind();
        driver.streamSynchronize(stream);
    }

    /** Device memory of {@code bytes} (> 0), owned by the returned object. */
    public DeviceMemory allocate(long bytes) {
        bind();
        return new DeviceMemory(this, driver.memAlloc(bytes), bytes);
    }

    /** Page-locked host memory of {@code bytes} (> 0), owned by the returned object. */
    public PinnedHostMemory allocateHost(long bytes) {
        bind();
        return new PinnedHostMemory(this, driver.memAllocHost(bytes));
    }

    /** A new event on this context (timing enabled). */
    public CudaEvent event() {
        bind();
        return new CudaEvent(this, driver.eventCreate(CudaDriver.EVENT_DEFAULT));
    }

    /** Copies {@code bytes} from native host memory to device memory and waits until done. */
    public void upload(long dst, MemorySegment src, long bytes) {
        bind();
        driver.memcpyHtoDAsync(dst, src, bytes, stream);
        driver.streamSynchronize(stream);
    }

    /** Waits for the stream's work, then copies {@code bytes} from device memory to native host memory. */
    public void download(MemorySegment dst, long src, long bytes) {
        bind();
        driver.memcpyDtoHAsync(dst, src, bytes, stream);
        driver.streamSynchronize(stream);
    }

    /** The cuBLAS handle of this context, bound to {@link #stream()} (created on first call). */
    public Cublas cublas() {
        Cublas c = cublas;
        if (c == null) {
            synchronized (this) {
                c = cublas;
                if (c == null) cublas = c = new Cublas(this, libraries);
            }
        }
        return c;
    }

    /** The cuSOLVER dense handle of this context, bound to {@link #stream()} (created on first call). */
    public Cusolver cusolver() {
        Cusolver c = cusolver;
        if (c == null) {
            synchronized (this) {
                c = cusolver;
                if (c == null) cusolver = c = new Cusolver(this, libraries);
            }
        }
        return c;
    }

    public boolean isClosed() {
        return closed.get();
    }

    /** Destroys the handles and the stream, then releases the primary context. Idempotent. */
    @Override
    public void close() {
        if (closed.get()) return;
        driver.ctxSetCurrent(context);
        RuntimeException first = null;
        try {
            Cusolver s = cusolver;
            if (s != null) s.close();
        } catch (RuntimeException e) {
            first = e;
        }
        try {
            Cublas c = cublas;
            if (c != null) c.close();
        } catch (RuntimeException e) {
            if (first == null) first = e;
        }
        try {
            driver.streamSynchronize(stream);
            driver.streamDestroy(stream);
        } catch (RuntimeException e) {
            if (first == null) first = e;
        }
        closed.set(true);
        try {
            driver.primaryCtxRelease(device);
        } catch (RuntimeException e) {
            if (first == null) first = e;
        }
        if (first != null) throw first;
    }

    @Override
    public String toString() {
        return "CUDA context of device " + ordinal + (closed.get() ? " (closed)" : "");
    }
}
