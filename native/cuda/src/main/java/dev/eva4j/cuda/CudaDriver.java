package dev.eva4j.cuda;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.util.Optional;

/**
 * The CUDA driver API ({@code libcuda.so.1}) through FFM. Each method calls one driver function, checks its
 * {@code CUresult} and throws a {@link CudaException} naming the call and the driver's error name and text.
 *
 * <p>Conventions: opaque handles ({@code CUcontext}, {@code CUstream}, {@code CUevent}, {@code CUmodule},
 * {@code CUfunction}) and device pointers ({@code CUdeviceptr}, an unsigned 64-bit integer) are Java {@code long}s
 * (passed as 64-bit integers, which the x86-64 and AArch64 C ABIs treat exactly as pointers); {@code CUdevice} is an
 * {@code int}; host memory is a native {@link MemorySegment} (heap segments are refused before any call). The null
 * stream is {@code 0L}. The {@code _v2} symbols are the ones {@code cuda.h} maps the plain names to since CUDA 4/11.
 *
 * <p>Driver calls act on the calling thread's current context: use {@link CudaContext#bind()} first (the context's
 * own methods do). Instances are immutable and thread-safe.
 */
public final class CudaDriver {
    private static final Linker LINKER = Linker.nativeLinker();

    /** {@code CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT} */
    public static final int ATTR_MULTIPROCESSOR_COUNT = 16;
    /** {@code CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR} */
    public static final int ATTR_COMPUTE_CAPABILITY_MAJOR = 75;
    /** {@code CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR} */
    public static final int ATTR_COMPUTE_CAPABILITY_MINOR = 76;
    /** {@code CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN} */
    public static final int ATTR_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN = 97;
    /** {@code CU_DEVICE_ATTRIBUTE_MEMORY_POOLS_SUPPORTED} (cuMemAllocAsync works when 1) */
    public static final int ATTR_MEMORY_POOLS_SUPPORTED = 115;
    /** {@code CU_STREAM_DEFAULT} */
    public static final int STREAM_DEFAULT = 0;
    /** {@code CU_STREAM_NON_BLOCKING}: no implicit synchronisation with the legacy null stream. */
    public static final int STREAM_NON_BLOCKING = 1;
    /** {@code CU_EVENT_DEFAULT} */
    public static final int EVENT_DEFAULT = 0;
    /** {@code CU_EVENT_BLOCKING_SYNC} */
    public static final int EVENT_BLOCKING_SYNC = 1;
    /** {@code CU_EVENT_DISABLE_TIMING} */
    public static final int EVENT_DISABLE_TIMING = 2;
    /** {@code CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES} (for cuFuncSetAttribute) */
    public static final int FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES = 8;

    private final CudaStatus status;

    // CUresult cuInit(unsigned int Flags)
    private final MethodHandle cuInit;
    // CUresult cuDriverGetVersion(int *driverVersion)
    private final MethodHandle cuDriverGetVersion;
    // CUresult cuDeviceGet(CUdevice *device, int ordinal)
    private final MethodHandle cuDeviceGet;
    // CUresult cuDeviceGetCount(int *count)
    private final MethodHandle cuDeviceGetCount;
    // CUresult cuDeviceGetName(char *name, int len, CUdevice dev)
    private final MethodHandle cuDeviceGetName;
    // CUresult cuDeviceGetAttribute(int *pi, CUdevice_attribute attrib, CUdevice dev)
    private final MethodHandle cuDeviceGetAttribute;
    // CUresult cuDeviceTotalMem_v2(size_t *bytes, CUdevice dev)
    private final MethodHandle cuDeviceTotalMem;
    // CUresult cuDevicePrimaryCtxRetain(CUcontext *pctx, CUdevice dev)
    private final MethodHandle cuDevicePrimaryCtxRetain;
    // CUresult cuDevicePrimaryCtxRelease_v2(CUdevice dev)
    private final MethodHandle cuDevicePrimaryCtxRelease;
    // CUresult cuCtxSetCurrent(CUcontext ctx)
    private final MethodHandle cuCtxSetCurrent;
    // CUresult cuCtxGetCurrent(CUcontext *pctx)
    private final MethodHandle cuCtxGetCurrent;
    // CUresult cuCtxSynchronize(void)
    private final MethodHandle cuCtxSynchronize;
    // CUresult cuMemGetInfo_v2(size_t *free, size_t *total)
    private final MethodHandle cuMemGetInfo;
    // CUresult cuStreamCreate(CUstream *phStream, unsigned int Flags)
    private final MethodHandle cuStreamCreate;
    // CUresult cuStreamDestroy_v2(CUstream hStream)
    private final MethodHandle cuStreamDestroy;
    // CUresult cuStreamSynchronize(CUstream hStream)
    private final MethodHandle cuStreamSynchronize;
    // CUresult cuEventCreate(CUevent *phEvent, unsigned int Flags)
    private final MethodHandle cuEventCreate;
    // CUresult cuEventRecord(CUevent hEvent, CUstream hStream)
    private final MethodHandle cuEventRecord;
    // CUresult cuEventSynchronize(CUevent hEvent)
    private final MethodHandle cuEventSynchronize;
    // CUresult cuEventElapsedTime_v2(float *pMilliseconds, CUevent hStart, CUevent hEnd)  (CUDA 12.8+; else the
    // unversioned cuEventElapsedTime, same signature)
    private final MethodHandle cuEventElapsedTime;
    private final String cuEventElapsedTimeName;
    // CUresult cuEventDestroy_v2(CUevent hEvent)
    private final MethodHandle cuEventDestroy;
    // CUresult cuMemAlloc_v2(CUdeviceptr *dptr, size_t bytesize)
    private final MethodHandle cuMemAlloc;
    // CUresult cuMemFree_v2(CUdeviceptr dptr)
    private final MethodHandle cuMemFree;
    // CUresult cuMemAllocAsync(CUdeviceptr *dptr, size_t bytesize, CUstream hStream)
    private final MethodHandle cuMemAllocAsync;
    // CUresult cuMemFreeAsync(CUdeviceptr dptr, CUstream hStream)
    private final MethodHandle cuMemFreeAsync;
    // CUresult cuMemAllocHost_v2(void **pp, size_t bytesize)
    private final MethodHandle cuMemAllocHost;
    // CUresult cuMemFreeHost(void *p)
    private final MethodHandle cuMemFreeHost;
    // CUresult cuMemcpyHtoD_v2(CUdeviceptr dstDevice, const void *srcHost, size_t ByteCount)
    private final MethodHandle cuMemcpyHtoD;
    // CUresult cuMemcpyDtoH_v2(void *dstHost, CUdeviceptr srcDevice, size_t ByteCount)
    private final MethodHandle cuMemcpyDtoH;
    // CUresult cuMemcpyDtoD_v2(CUdeviceptr dstDevice, CUdeviceptr srcDevice, size_t ByteCount)
    private final MethodHandle cuMemcpyDtoD;
    // CUresult cuMemcpyHtoDAsync_v2(CUdeviceptr dstDevice, const void *srcHost, size_t ByteCount, CUstream hStream)
    private final MethodHandle cuMemcpyHtoDAsync;
    // CUresult cuMemcpyDtoHAsync_v2(void *dstHost, CUdeviceptr srcDevice, size_t ByteCount, CUstream hStream)
    private final MethodHandle cuMemcpyDtoHAsync;
    // CUresult cuMemcpyDtoDAsync_v2(CUdeviceptr dstDevice, CUdeviceptr srcDevice, size_t ByteCount, CUstream hStream)
    private final MethodHandle cuMemcpyDtoDAsync;
    // CUresult cuMemsetD32_v2(CUdeviceptr dstDevice, unsigned int ui, size_t N)
    private final MethodHandle cuMemsetD32;
    // CUresult cuMemsetD8_v2(CUdeviceptr dstDevice, unsigned char uc, size_t N)
    private final MethodHandle cuMemsetD8;
    // CUresult cuMemsetD32Async(CUdeviceptr dstDevice, unsigned int ui, size_t N, CUstream hStream)
    private final MethodHandle cuMemsetD32Async;
    // CUresult cuModuleLoadData(CUmodule *module, const void *image)
    private final MethodHandle cuModuleLoadData;
    // CUresult cuModuleGetFunction(CUfunction *hfunc, CUmodule hmod, const char *name)
    private final MethodHandle cuModuleGetFunction;
    // CUresult cuModuleUnload(CUmodule hmod)
    private final MethodHandle cuModuleUnload;
    // CUresult cuFuncSetAttribute(CUfunction hfunc, CUfunction_attribute attrib, int value)
    private final MethodHandle cuFuncSetAttribute;
    // CUresult cuLaunchKernel(CUfunction f, unsigned int gridDimX, unsigned int gridDimY, unsigned int gridDimZ,
    //     unsigned int blockDimX, unsigned int blockDimY, unsigned int blockDimZ, unsigned int sharedMemBytes,
    //     CUstream hStream, void **kernelParams, void **extra)
    private final MethodHandle cuLaunchKernel;

    private static volatile CudaDriver system;
    private static volatile RuntimeException systemFailure;

    /** Binds every function from the driver library {@code lookup} (does not call {@code cuInit}). */
    public CudaDriver(SymbolLookup lookup) {
        var sym = CudaLibraries.symbols(lookup, "libcuda.so.1");
        this.status = new CudaStatus(lookup);
        FunctionDescriptor iI = FunctionDescriptor.of(JAVA_INT, JAVA_INT);
        FunctionDescriptor iA = FunctionDescriptor.of(JAVA_INT, ADDRESS);
        FunctionDescriptor iL = FunctionDescriptor.of(JAVA_INT, JAVA_LONG);
        FunctionDescriptor iAI = FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT);
        FunctionDescriptor iAL = FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG);
        FunctionDescriptor iLL = FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_LONG);
        cuInit = h(sym.apply("cuInit"), iI);
        cuDriverGetVersion = h(sym.apply("cuDriverGetVersion"), iA);
        cuDeviceGet = h(sym.apply("cuDeviceGet"), iAI);
        cuDeviceGetCount = h(sym.apply("cuDeviceGetCount"), iA);
        cuDeviceGetName = h(sym.apply("cuDeviceGetName"), FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT));
        cuDeviceGetAttribute = h(sym.apply("cuDeviceGetAttribute"),
                FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT));
        cuDeviceTotalMem = h(sym.apply("cuDeviceTotalMem_v2"), iAI);
        cuDevicePrimaryCtxRetain = h(sym.apply("cuDevicePrimaryCtxRetain"), iAI);
        cuDevicePrimaryCtxRelease = h(sym.apply("cuDevicePrimaryCtxRelease_v2"), iI);
        cuCtxSetCurrent = h(sym.apply("cuCtxSetCurrent"), iL);
        cuCtxGetCurrent = h(sym.apply("cuCtxGetCurrent"), iA);
        cuCtxSynchronize = h(sym.apply("cuCtxSynchronize"), FunctionDescriptor.of(JAVA_INT));
        cuMemGetInfo = h(sym.apply("cuMemGetInfo_v2"), FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
        cuStreamCreate = h(sym.apply("cuStreamCreate"), iAI);
        cuStreamDestroy = h(sym.apply("cuStreamDestroy_v2"), iL);
        cuStreamSynchronize = h(sym.apply("cuStreamSynchronize"), iL);
        cuEventCreate = h(sym.apply("cuEventCreate"), iAI);
        cuEventRecord = h(sym.apply("cuEventRecord"), iLL);
        cuEventSynchronize = h(sym.apply("cuEventSynchronize"), iL);
        Optional<MemorySegment> elapsedV2 = lookup.find("cuEventElapsedTime_v2");
        cuEventElapsedTimeName = elapsedV2.isPresent() ? "cuEventElapsedTime_v2" : "cuEventElapsedTime";
        cuEventElapsedTime = h(elapsedV2.orElseGet(() -> sym.apply("cuEventElapsedTime")),
                FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG, JAVA_LONG));
        cuEventDestroy = h(sym.apply("cuEventDestroy_v2"), iL);
        cuMemAlloc = h(sym.apply("cuMemAlloc_v2"), iAL);
        cuMemFree = h(sym.apply("cuMemFree_v2"), iL);
        cuMemAllocAsync = h(sym.apply("cuMemAllocAsync"), FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG, JAVA_LONG));
        cuMemFreeAsync = h(sym.apply("cuMemFreeAsync"), iLL);
        cuMemAllocHost = h(sym.apply("cuMemAllocHost_v2"), iAL);
        cuMemFreeHost = h(sym.apply("cuMemFreeHost"), iA);
        cuMemcpyHtoD = h(sym.apply("cuMemcpyHtoD_v2"), FunctionDescriptor.of(JAVA_INT, JAVA_LONG, ADDRESS, JAVA_LONG));
        cuMemcpyDtoH = h(sym.apply("cuMemcpyDtoH_v2"), FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG, JAVA_LONG));
        cuMemcpyDtoD = h(sym.apply("cuMemcpyDtoD_v2"), FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_LONG));
        cuMemcpyHtoDAsync = h(sym.apply("cuMemcpyHtoDAsync_v2"),
                FunctionDescriptor.of(JAVA_INT, JAVA_LONG, ADDRESS, JAVA_LONG, JAVA_LONG));
        cuMemcpyDtoHAsync = h(sym.apply("cuMemcpyDtoHAsync_v2"),
                FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG, JAVA_LONG, JAVA_LONG));
        cuMemcpyDtoDAsync = h(sym.apply("cuMemcpyDtoDAsync_v2"),
                FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG));
        cuMemsetD32 = h(sym.apply("cuMemsetD32_v2"), FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_INT, JAVA_LONG));
        cuMemsetD8 = h(sym.apply("cuMemsetD8_v2"), FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_BYTE, JAVA_LONG));
        cuMemsetD32Async = h(sym.apply("cuMemsetD32Async"),
                FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_INT, JAVA_LONG, JAVA_LONG));
        cuModuleLoadData = h(sym.apply("cuModuleLoadData"), FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
        cuModuleGetFunction = h(sym.apply("cuModuleGetFunction"),
                FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG, ADDRESS));
        cuModuleUnload = h(sym.apply("cuModuleUnload"), iL);
        cuFuncSetAttribute = h(sym.apply("cuFuncSetAttribute"),
                FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_INT, JAVA_INT));
        cuLaunchKernel = h(sym.apply("cuLaunchKernel"), FunctionDescriptor.of(JAVA_INT, JAVA_LONG,
                JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_LONG, ADDRESS, ADDRESS));
    }

    private static MethodHandle h(MemorySegment symbol, FunctionDescriptor fd) {
        return LINKER.downcallHandle(symbol, fd);
    }

    /**
     * The driver of this machine, loaded from {@link CudaLibraries#system()} and initialised ({@code cuInit(0)})
     * once. The failure, if any, is remembered and thrown again.
     *
     * @throws CudaException when {@code libcuda.so.1} is missing or {@code cuInit} fails (e.g. no device)
     */
    public static CudaDriver system() {
        CudaDriver d = system;
        if (d != null) return d;
        synchronized (CudaDriver.class) {
            if (system != null) return system;
            if (systemFailure != null) throw systemFailure;
            try {
                CudaDriver drv = new CudaDriver(CudaLibraries.system().load(CudaLibraries.Library.DRIVER));
                drv.init();
                system = drv;
                return drv;
            } catch (CudaException e) {
                systemFailure = e;
                throw e;
            }
        }
    }

    /** The status mapper of this driver (names codes with {@code cuGetErrorName}/{@code cuGetErrorString}). */
    CudaStatus status() {
        return status;
    }

    private void check(String call, int rc) {
        if (rc != 0) throw status.exception(call, rc);
    }

    private static RuntimeException rethrow(Throwable t) {
        if (t instanceof RuntimeException r) return r;
        if (t instanceof Error e) throw e;
        return new IllegalStateException(t);
    }

    private static void requireNative(MemorySegment host, long bytes, String what) {
        if (host == null) throw new NullPointerException(what + " is null");
        if (!host.isNative()) throw new IllegalArgumentException(what + " must be native (off-heap) memory");
        if (bytes < 0) throw new IllegalArgumentException("byte count must be >= 0, got " + bytes);
        if (host.byteSize() < bytes) {
            throw new IllegalArgumentException(what + " holds " + host.byteSize() + " bytes, fewer than " + bytes);
        }
    }

    private static void requireDevice(long ptr, long bytes, String what) {
        if (bytes < 0) throw new IllegalArgumentException("byte count must be >= 0, got " + bytes);
        if (ptr == 0 && bytes > 0) throw new IllegalArgumentException(what + " is a null device pointer");
    }

    /** {@code cuInit(0)}. */
    public void init() {
        try {
            check("cuInit", (int) cuInit.invokeExact(0));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    private int intOut(String call, MethodHandle h) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(JAVA_INT);
            check(call, (int) h.invokeExact(out));
            return out.get(JAVA_INT, 0);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** The driver's CUDA version, e.g. 13000 for 13.0 ({@code cuDriverGetVersion}). */
    public int driverVersion() {
        return intOut("cuDriverGetVersion", cuDriverGetVersion);
    }

    /** Number of CUDA devices ({@code cuDeviceGetCount}). */
    public int deviceCount() {
        return intOut("cuDeviceGetCount", cuDeviceGetCount);
    }

    /** The {@code CUdevice} of ordinal {@code ordinal} ({@code cuDeviceGet}). */
    public int device(int ordinal) {
        if (ordinal < 0) throw new IllegalArgumentException("device ordinal must be >= 0, got " + ordinal);
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(JAVA_INT);
            check("cuDeviceGet", (int) cuDeviceGet.invokeExact(out, ordinal));
            return out.get(JAVA_INT, 0);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** The device's name ({@code cuDeviceGetName}). */
    public String deviceName(int device) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(256);
            check("cuDeviceGetName", (int) cuDeviceGetName.invokeExact(out, 256, device));
            return out.getString(0);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** One {@code CUdevice_attribute} ({@code cuDeviceGetAttribute}); see the {@code ATTR_} constants. */
    public int deviceAttribute(int attribute, int device) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(JAVA_INT);
            check("cuDeviceGetAttribute", (int) cuDeviceGetAttribute.invokeExact(out, attribute, device));
            return out.get(JAVA_INT, 0);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** Total device memory in bytes ({@code cuDeviceTotalMem_v2}). */
    public long deviceTotalMem(int device) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(JAVA_LONG);
            check("cuDeviceTotalMem_v2", (int) cuDeviceTotalMem.invokeExact(out, device));
            return out.get(JAVA_LONG, 0);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** Retains the device's primary context and returns it ({@code cuDevicePrimaryCtxRetain}). */
    public long primaryCtxRetain(int device) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(JAVA_LONG);
            check("cuDevicePrimaryCtxRetain", (int) cuDevicePrimaryCtxRetain.invokeExact(out, device));
            return out.get(JAVA_LONG, 0);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** Releases one retain of the device's primary context ({@code cuDevicePrimaryCtxRelease_v2}). */
    public void primaryCtxRelease(int device) {
        try {
            check("cuDevicePrimaryCtxRelease_v2", (int) cuDevicePrimaryCtxRelease.invokeExact(device));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** Makes {@code ctx} current on the calling thread ({@code cuCtxSetCurrent}). */
    public void ctxSetCurrent(long ctx) {
        try {
            check("cuCtxSetCurrent", (int) cuCtxSetCurrent.invokeExact(ctx));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** The calling thread's current context, 0 when none ({@code cuCtxGetCurrent}). */
    public long ctxGetCurrent() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(JAVA_LONG);
            check("cuCtxGetCurrent", (int) cuCtxGetCurrent.invokeExact(out));
            return out.get(JAVA_LONG, 0);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** Waits for all work of the current context ({@code cuCtxSynchronize}). */
    public void ctxSynchronize() {
        try {
            check("cuCtxSynchronize", (int) cuCtxSynchronize.invokeExact());
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {free, total} device memory in bytes of the current context's device ({@code cuMemGetInfo_v2}). */
    public long[] memGetInfo() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment free = a.allocate(JAVA_LONG);
            MemorySegment total = a.allocate(JAVA_LONG);
            check("cuMemGetInfo_v2", (int) cuMemGetInfo.invokeExact(free, total));
            return new long[] {free.get(JAVA_LONG, 0), total.get(JAVA_LONG, 0)};
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** A new stream in the current context ({@code cuStreamCreate}; flags {@link #STREAM_DEFAULT} or {@link #STREAM_NON_BLOCKING}). */
    public long streamCreate(int flags) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(JAVA_LONG);
            check("cuStreamCreate", (int) cuStreamCreate.invokeExact(out, flags));
            return out.get(JAVA_LONG, 0);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code cuStreamDestroy_v2}. */
    public void streamDestroy(long stream) {
        try {
            check("cuStreamDestroy_v2", (int) cuStreamDestroy.invokeExact(stream));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** Waits for the stream's work ({@code cuStreamSynchronize}); errors of earlier asynchronous work surface here. */
    public void streamSynchronize(long stream) {
        try {
            check("cuStreamSynchronize", (int) cuStreamSynchronize.invokeExact(stream));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** A new event ({@code cuEventCreate}; flags {@code EVENT_*}). */
    public long eventCreate(int flags) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(JAVA_LONG);
            check("cuEventCreate", (int) cuEventCreate.invokeExact(out, flags));
            return out.get(JAVA_LONG, 0);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code cuEventRecord}. */
    public void eventRecord(long event, long stream) {
        try {
            check("cuEventRecord", (int) cuEventRecord.invokeExact(event, stream));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code cuEventSynchronize}. */
    public void eventSynchronize(long event) {
        try {
            check("cuEventSynchronize", (int) cuEventSynchronize.invokeExact(event));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** Milliseconds between two recorded, completed events ({@code cuEventElapsedTime_v2}). */
    public float eventElapsedTime(long start, long end) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(JAVA_FLOAT);
            check(cuEventElapsedTimeName, (int) cuEventElapsedTime.invokeExact(out, start, end));
            return out.get(JAVA_FLOAT, 0);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code cuEventDestroy_v2}. */
    public void eventDestroy(long event) {
        try {
            check("cuEventDestroy_v2", (int) cuEventDestroy.invokeExact(event));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code bytes} of device memory ({@code cuMemAlloc_v2}); prefer {@link CudaContext#allocate} (owned). */
    public long memAlloc(long bytes) {
        if (bytes <= 0) throw new IllegalArgumentException("allocation size must be > 0 bytes, got " + bytes);
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(JAVA_LONG);
            check("cuMemAlloc_v2", (int) cuMemAlloc.invokeExact(out, bytes));
            return out.get(JAVA_LONG, 0);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code cuMemFree_v2}. */
    public void memFree(long ptr) {
        try {
            check("cuMemFree_v2", (int) cuMemFree.invokeExact(ptr));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** Stream-ordered allocation ({@code cuMemAllocAsync}; needs {@link #ATTR_MEMORY_POOLS_SUPPORTED}). */
    public long memAllocAsync(long bytes, long stream) {
        if (bytes <= 0) throw new IllegalArgumentException("allocation size must be > 0 bytes, got " + bytes);
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(JAVA_LONG);
            check("cuMemAllocAsync", (int) cuMemAllocAsync.invokeExact(out, bytes, stream));
            return out.get(JAVA_LONG, 0);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** Stream-ordered free ({@code cuMemFreeAsync}). */
    public void memFreeAsync(long ptr, long stream) {
        try {
            check("cuMemFreeAsync", (int) cuMemFreeAsync.invokeExact(ptr, stream));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /**
     * Page-locked host memory ({@code cuMemAllocHost_v2}) as a segment of {@code bytes}; free it with
     * {@link #memFreeHost} (prefer {@link CudaContext#allocateHost}, which owns it).
     */
    public MemorySegment memAllocHost(long bytes) {
        if (bytes <= 0) throw new IllegalArgumentException("allocation size must be > 0 bytes, got " + bytes);
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(ADDRESS);
            check("cuMemAllocHost_v2", (int) cuMemAllocHost.invokeExact(out, bytes));
            return out.get(ADDRESS, 0).reinterpret(bytes);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code cuMemFreeHost}. */
    public void memFreeHost(MemorySegment host) {
        try {
            check("cuMemFreeHost", (int) cuMemFreeHost.invokeExact(host));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** Synchronous host-to-device copy of {@code bytes} ({@code cuMemcpyHtoD_v2}). */
    public void memcpyHtoD(long dst, MemorySegment src, long bytes) {
        requireNative(src, bytes, "source host memory");
        requireDevice(dst, bytes, "destination");
        if (bytes == 0) return;
        try {
            check("cuMemcpyHtoD_v2", (int) cuMemcpyHtoD.invokeExact(dst, src, bytes));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** Synchronous device-to-host copy of {@code bytes} ({@code cuMemcpyDtoH_v2}). */
    public void memcpyDtoH(MemorySegment dst, long src, long bytes) {
        requireNative(dst, bytes, "destination host memory");
        requireDevice(src, bytes, "source");
        if (bytes == 0) return;
        try {
            check("cuMemcpyDtoH_v2", (int) cuMemcpyDtoH.invokeExact(dst, src, bytes));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** Device-to-device copy ({@code cuMemcpyDtoD_v2}). */
    public void memcpyDtoD(long dst, long src, long bytes) {
        requireDevice(dst, bytes, "destination");
        requireDevice(src, bytes, "source");
        if (bytes == 0) return;
        try {
            check("cuMemcpyDtoD_v2", (int) cuMemcpyDtoD.invokeExact(dst, src, bytes));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** Asynchronous host-to-device copy ({@code cuMemcpyHtoDAsync_v2}); asynchronous only from pinned memory. */
    public void memcpyHtoDAsync(long dst, MemorySegment src, long bytes, long stream) {
        requireNative(src, bytes, "source host memory");
        requireDevice(dst, bytes, "destination");
        if (bytes == 0) return;
        try {
            check("cuMemcpyHtoDAsync_v2", (int) cuMemcpyHtoDAsync.invokeExact(dst, src, bytes, stream));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** Asynchronous device-to-host copy ({@code cuMemcpyDtoHAsync_v2}); the host memory must outlive the copy. */
    public void memcpyDtoHAsync(MemorySegment dst, long src, long bytes, long stream) {
        requireNative(dst, bytes, "destination host memory");
        requireDevice(src, bytes, "source");
        if (bytes == 0) return;
        try {
            check("cuMemcpyDtoHAsync_v2", (int) cuMemcpyDtoHAsync.invokeExact(dst, src, bytes, stream));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** Asynchronous device-to-device copy ({@code cuMemcpyDtoDAsync_v2}). */
    public void memcpyDtoDAsync(long dst, long src, long bytes, long stream) {
        requireDevice(dst, bytes, "destination");
        requireDevice(src, bytes, "source");
        if (bytes == 0) return;
        try {
            check("cuMemcpyDtoDAsync_v2", (int) cuMemcpyDtoDAsync.invokeExact(dst, src, bytes, stream));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** Sets {@code count} 32-bit words to {@code value} ({@code cuMemsetD32_v2}; use Float.floatToRawIntBits for floats). */
    public void memsetD32(long dst, int value, long count) {
        requireDevice(dst, count, "destination");
        if (count == 0) return;
        try {
            check("cuMemsetD32_v2", (int) cuMemsetD32.invokeExact(dst, value, count));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** Sets {@code count} bytes to {@code value} ({@code cuMemsetD8_v2}). */
    public void memsetD8(long dst, byte value, long count) {
        requireDevice(dst, count, "destination");
        if (count == 0) return;
        try {
            check("cuMemsetD8_v2", (int) cuMemsetD8.invokeExact(dst, value, count));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** Stream-ordered {@link #memsetD32} ({@code cuMemsetD32Async}). */
    public void memsetD32Async(long dst, int value, long count, long stream) {
        requireDevice(dst, count, "destination");
        if (count == 0) return;
        try {
            check("cuMemsetD32Async", (int) cuMemsetD32Async.invokeExact(dst, value, count, stream));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** Loads a fatbin, cubin or NUL-terminated PTX image into the current context ({@code cuModuleLoadData}). */
    public long moduleLoadData(MemorySegment image) {
        if (image == null || !image.isNative()) throw new IllegalArgumentException("module image must be native memory");
        if (image.byteSize() == 0) throw new IllegalArgumentException("module image is empty");
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(JAVA_LONG);
            check("cuModuleLoadData", (int) cuModuleLoadData.invokeExact(out, image));
            return out.get(JAVA_LONG, 0);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** A kernel of a loaded module by its (extern "C") name ({@code cuModuleGetFunction}). */
    public long moduleGetFunction(long module, String name) {
        if (module == 0) throw new IllegalArgumentException("module is null");
        if (name == null || name.isEmpty()) throw new IllegalArgumentException("kernel name is empty");
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(JAVA_LONG);
            int rc = (int) cuModuleGetFunction.invokeExact(out, module, a.allocateFrom(name));
            check("cuModuleGetFunction(" + name + ")", rc);
            return out.get(JAVA_LONG, 0);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code cuModuleUnload}. */
    public void moduleUnload(long module) {
        try {
            check("cuModuleUnload", (int) cuModuleUnload.invokeExact(module));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code cuFuncSetAttribute} (e.g. {@link #FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES}). */
    public void funcSetAttribute(long function, int attribute, int value) {
        try {
            check("cuFuncSetAttribute", (int) cuFuncSetAttribute.invokeExact(function, attribute, value));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /**
     * {@code cuLaunchKernel} with {@code kernelParams} an array of pointers, one per kernel parameter, each to a
     * value of that parameter's exact size; {@code extra} is NULL. See {@link CudaModule#launch} for the safe form.
     */
    public void launchKernel(long function, int gridX, int gridY, int gridZ, int blockX, int blockY, int blockZ,
                             int sharedBytes, long stream, MemorySegment kernelParams) {
        checkLaunch(function, gridX, gridY, gridZ, blockX, blockY, blockZ, sharedBytes);
        try {
            check("cuLaunchKernel", (int) cuLaunchKernel.invokeExact(function, gridX, gridY, gridZ, blockX, blockY,
                    blockZ, sharedBytes, stream, kernelParams, MemorySegment.NULL));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** The argument checks of {@link #launchKernel}, before any native call. */
    static void checkLaunch(long function, int gridX, int gridY, int gridZ, int blockX, int blockY, int blockZ,
                            int sharedBytes) {
        if (function == 0) throw new IllegalArgumentException("kernel function is null");
        if (gridX < 1 || gridY < 1 || gridZ < 1) {
            throw new IllegalArgumentException("grid dimensions must be >= 1, got " + gridX + "x" + gridY + "x" + gridZ);
        }
        if (blockX < 1 || blockY < 1 || blockZ < 1) {
            throw new IllegalArgumentException("block dimensions must be >= 1, got " + blockX + "x" + blockY + "x" + blockZ);
        }
        if ((long) blockX * blockY * blockZ > 1024) {
            throw new IllegalArgumentException("a block holds at most 1024 threads, got " + blockX + "x" + blockY + "x" + blockZ);
        }
        if (gridY > 65535 || gridZ > 65535) {
            throw new IllegalArgumentException("grid y and z must be <= 65535, got " + gridY + " and " + gridZ);
        }
        if (sharedBytes < 0) throw new IllegalArgumentException("shared memory bytes must be >= 0, got " + sharedBytes);
    }

    /** Layout of a {@code void*} array for kernel parameters. */
    static MemoryLayout pointerArray(int n) {
        return MemoryLayout.sequenceLayout(n, ADDRESS);
    }
}
