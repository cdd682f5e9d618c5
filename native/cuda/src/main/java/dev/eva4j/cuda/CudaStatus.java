package dev.eva4j.cuda;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

/**
 * The one status-to-exception mapping of the CUDA driver API: every {@code CUresult} other than CUDA_SUCCESS becomes
 * a {@link CudaException} naming the call and the driver's own name and description of the error
 * ({@code cuGetErrorName}, {@code cuGetErrorString}). Where the driver cannot describe a code, the number stays.
 */
final class CudaStatus {
    private final MethodHandle errorName;   // CUresult cuGetErrorName(CUresult error, const char** pStr)
    private final MethodHandle errorString; // CUresult cuGetErrorString(CUresult error, const char** pStr)

    CudaStatus(SymbolLookup driver) {
        Linker linker = Linker.nativeLinker();
        FunctionDescriptor fd = FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.ADDRESS);
        this.errorName = driver.find("cuGetErrorName").map(s -> linker.downcallHandle(s, fd)).orElse(null);
        this.errorString = driver.find("cuGetErrorString").map(s -> linker.downcallHandle(s, fd)).orElse(null);
    }

    /** Throws a {@link CudaException} for {@code call} unless {@code status} is CUDA_SUCCESS (0). */
    void check(String call, int status) {
        if (status != 0) throw exception(call, status);
    }

    CudaException exception(String call, int status) {
        return new CudaException(call, status, describe(errorName, status, "CUresult " + status),
                describe(errorString, status, "no description from the driver"));
    }

    private static String describe(MethodHandle h, int status, String fallback) {
        if (h == null) return fallback;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ValueLayout.ADDRESS);
            int rc = (int) h.invokeExact(status, out);
            MemorySegment p = out.get(ValueLayout.ADDRESS, 0);
            if (rc != 0 || p.equals(MemorySegment.NULL)) return fallback;
            return p.reinterpret(1024).getString(0);
        } catch (Throwable t) {
            return fallback;
        }
    }
}
