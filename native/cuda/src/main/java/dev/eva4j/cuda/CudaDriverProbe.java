package dev.eva4j.cuda;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

/**
 * Finds the NVIDIA driver library and counts devices through the driver API ({@code cuInit}, {@code
 * cuDeviceGetCount}), without creating a context. Never throws: the result says what was found or why not.
 */
final class CudaDriverProbe {
    /** Driver library sonames, most specific first. */
    static final String[] DRIVER_NAMES = {"libcuda.so.1", "libcuda.so"};

    record Result(boolean driverFound, int devices, String detail) {}

    private CudaDriverProbe() {}

    static Result probe() {
        SymbolLookup lib = null;
        String lastError = "";
        for (String name : DRIVER_NAMES) {
            try {
                lib = SymbolLookup.libraryLookup(name, Arena.global());
                break;
            } catch (IllegalArgumentException e) {
                if (lastError.isEmpty()) lastError = e.getMessage();
            }
        }
        if (lib == null) {
            return new Result(false, 0, "libcuda.so.1 not found (no NVIDIA driver on this machine): " + lastError);
        }
        try {
            Linker linker = Linker.nativeLinker();
            MethodHandle cuInit = linker.downcallHandle(lib.find("cuInit").orElseThrow(),
                    FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));
            MethodHandle count = linker.downcallHandle(lib.find("cuDeviceGetCount").orElseThrow(),
                    FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS));
            CudaStatus status = new CudaStatus(lib);
            int rc = (int) cuInit.invokeExact(0);
            if (rc != 0) return new Result(true, 0, status.exception("cuInit", rc).getMessage() + " (no usable CUDA device)");
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment n = arena.allocate(ValueLayout.JAVA_INT);
                rc = (int) count.invokeExact(n);
                if (rc != 0) return new Result(true, 0, status.exception("cuDeviceGetCount", rc).getMessage());
                int devices = n.get(ValueLayout.JAVA_INT, 0);
                return new Result(true, devices, devices + " CUDA device(s) found");
            }
        } catch (Throwable t) {
            return new Result(true, 0, "CUDA driver present but unusable: " + t);
        }
    }
}
