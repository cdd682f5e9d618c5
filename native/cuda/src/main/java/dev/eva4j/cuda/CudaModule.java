package dev.eva4j.cuda;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_DOUBLE;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A module (fatbin, cubin or PTX image) loaded into a {@link CudaContext} with {@code cuModuleLoadData}, its kernels
 * looked up by name once and cached, and launched with {@link #launch}. Thread-safe; {@link #close()} unloads the
 * module ({@code cuModuleUnload}).
 *
 * <h2>Kernel arguments</h2>
 * {@code cuLaunchKernel} takes an array of pointers, one per kernel parameter, each to a value of that parameter's
 * exact C size. {@link #launch} builds it from Java values in a confined arena (the driver copies the values during
 * the call, so the arena is closed on return):
 * <ul>
 *   <li>{@link Long}: 8 bytes — device pointers ({@code float*}, {@code const T*}), {@code size_t}, {@code int64_t};</li>
 *   <li>{@link DeviceMemory}: its device pointer (8 bytes);</li>
 *   <li>{@link Integer}: 4 bytes ({@code int}, {@code unsigned}); {@link Float}: 4 bytes; {@link Double}: 8 bytes;
 *       {@link Short}: 2 bytes; {@link Byte} and {@link Boolean}: 1 byte.</li>
 * </ul>
 * A Java {@code int} passed where the kernel declares a pointer or {@code size_t} is a bug the driver cannot see:
 * pass {@code long}s for those.
 */
public final class CudaModule implements AutoCloseable {
    private final CudaContext context;
    private final long module;
    private final Map<String, Long> functions = new ConcurrentHashMap<>();
    private final AtomicBoolean closed = new AtomicBoolean();

    private CudaModule(CudaContext context, long module) {
        this.context = context;
        this.module = module;
    }

    /**
     * Loads an image (a fatbin from {@code nvcc -fatbin}, a cubin, or PTX text) into {@code context}. PTX gets the
     * terminating NUL the driver needs; binary images are passed as they are (a trailing zero byte is harmless).
     *
     * @throws CudaException e.g. CUDA_ERROR_NO_BINARY_FOR_GPU when the image has no code for this device
     */
    public static CudaModule load(CudaContext context, byte[] image) {
        Objects.requireNonNull(context, "context");
        Objects.requireNonNull(image, "image");
        if (image.length == 0) throw new IllegalArgumentException("module image is empty");
        context.bind();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment seg = arena.allocate(image.length + 1L, 16);
            MemorySegment.copy(image, 0, seg, JAVA_BYTE, 0, image.length);
            seg.set(JAVA_BYTE, image.length, (byte) 0);
            return new CudaModule(context, context.driver().moduleLoadData(seg));
        }
    }

    public CudaContext context() {
        return context;
    }

    /** The {@code CUfunction} of the kernel {@code name} (its extern "C" name), looked up once. */
    public long function(String name) {
        if (closed.get()) throw new IllegalStateException("module was unloaded");
        return functions.computeIfAbsent(name, n -> {
            context.bind();
            return context.driver().moduleGetFunction(module, n);
        });
    }

    /** Launches kernel {@code name} on the context's stream (asynchronous). See the class comment for {@code args}. */
    public void launch(String name, int gridX, int gridY, int gridZ, int blockX, int blockY, int blockZ,
                       int sharedBytes, Object... args) {
        launch(function(name), gridX, gridY, gridZ, blockX, blockY, blockZ, sharedBytes, context.stream(), args);
    }

    /**
     * Launches {@code function} on {@code stream} (asynchronous). Grid and block sizes, shared memory and every
     * argument's type are checked before the native call.
     */
    public void launch(long function, int gridX, int gridY, int gridZ, int blockX, int blockY, int blockZ,
                       int sharedBytes, long stream, Object... args) {
        CudaDriver.checkLaunch(function, gridX, gridY, gridZ, blockX, blockY, blockZ, sharedBytes);
        Objects.requireNonNull(args, "args");
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment params = kernelParams(arena, args);
            context.bind();
            context.driver().launchKernel(function, gridX, gridY, gridZ, blockX, blockY, blockZ, sharedBytes, stream,
                    params);
        }
    }

    /** The {@code void** kernelParams} array for {@code args} (see the class comment); NULL for no arguments. */
    static MemorySegment kernelParams(Arena arena, Object... args) {
        if (args.length == 0) return MemorySegment.NULL;
        MemorySegment params = arena.allocate(ADDRESS, args.length);
        for (int i = 0; i < args.length; i++) {
            Object a = args[i];
            MemorySegment slot = switch (a) {
                case null -> throw new IllegalArgumentException("kernel argument " + i + " is null");
                case Long v -> arena.allocateFrom(JAVA_LONG, v);
                case DeviceMemory m -> arena.allocateFrom(JAVA_LONG, m.address());
                case Integer v -> arena.allocateFrom(JAVA_INT, v);
                case Float v -> arena.allocateFrom(JAVA_FLOAT, v);
                case Double v -> arena.allocateFrom(JAVA_DOUBLE, v);
                case Short v -> arena.allocateFrom(JAVA_SHORT, v);
                case Byte v -> arena.allocateFrom(JAVA_BYTE, v);
                case Boolean v -> arena.allocateFrom(JAVA_BYTE, (byte) (v ? 1 : 0));
                default -> throw new IllegalArgumentException("kernel argument " + i + " has unsupported type "
                        + a.getClass().getName() + " (use Long for pointers and size_t, Integer, Float, Double, "
                        + "Short, Byte, Boolean, or DeviceMemory)");
            };
            params.setAtIndex(ADDRESS, i, slot);
        }
        return params;
    }

    @Override
    public void close() {
        if (!closed.compareAndSet(false, true) || context.isClosed()) return;
        context.bind();
        context.driver().moduleUnload(module);
    }
}
