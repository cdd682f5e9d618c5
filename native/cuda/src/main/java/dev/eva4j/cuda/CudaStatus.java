package dev.eva4j.cuda;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.util.Map;

/**
 * Status-to-exception mapping of the CUDA libraries. Driver calls: every {@code CUresult} other than CUDA_SUCCESS
 * becomes a {@link CudaException} naming the call and the driver's own name and description of the error
 * ({@code cuGetErrorName}, {@code cuGetErrorString}); where the driver cannot describe a code, the static table
 * below ({@link #resultName}) names it, and where that fails too the number stays. cuBLAS and cuSOLVER statuses
 * are named by the tables {@link #cublasStatusName} and {@link #cusolverStatusName} (cuBLAS' own
 * {@code cublasGetStatusString} adds its text where the library is loaded, see {@link Cublas}).
 *
 * <p>The numeric values are those of {@code cuda.h}, {@code cublas_api.h} and {@code cusolver_common.h} (CUDA 12 and
 * 13 agree on every value listed). Thread-safe.
 */
public final class CudaStatus {
    private final MethodHandle errorName;   // CUresult cuGetErrorName(CUresult error, const char** pStr)
    private final MethodHandle errorString; // CUresult cuGetErrorString(CUresult error, const char** pStr)

    /** CUresult values (cuda.h) of the errors one meets in practice. */
    private static final Map<Integer, String> RESULTS = Map.ofEntries(
            Map.entry(0, "CUDA_SUCCESS"), Map.entry(1, "CUDA_ERROR_INVALID_VALUE"),
            Map.entry(2, "CUDA_ERROR_OUT_OF_MEMORY"), Map.entry(3, "CUDA_ERROR_NOT_INITIALIZED"),
            Map.entry(4, "CUDA_ERROR_DEINITIALIZED"), Map.entry(34, "CUDA_ERROR_STUB_LIBRARY"),
            Map.entry(36, "CUDA_ERROR_CALL_REQUIRES_NEWER_DRIVER"),
            Map.entry(46, "CUDA_ERROR_DEVICE_UNAVAILABLE"), Map.entry(100, "CUDA_ERROR_NO_DEVICE"),
            Map.entry(101, "CUDA_ERROR_INVALID_DEVICE"), Map.entry(102, "CUDA_ERROR_DEVICE_NOT_LICENSED"),
            Map.entry(200, "CUDA_ERROR_INVALID_IMAGE"), Map.entry(201, "CUDA_ERROR_INVALID_CONTEXT"),
            Map.entry(209, "CUDA_ERROR_NO_BINARY_FOR_GPU"), Map.entry(214, "CUDA_ERROR_ECC_UNCORRECTABLE"),
            Map.entry(218, "CUDA_ERROR_INVALID_PTX"), Map.entry(221, "CUDA_ERROR_JIT_COMPILER_NOT_FOUND"),
            Map.entry(222, "CUDA_ERROR_UNSUPPORTED_PTX_VERSION"), Map.entry(300, "CUDA_ERROR_INVALID_SOURCE"),
            Map.entry(301, "CUDA_ERROR_FILE_NOT_FOUND"), Map.entry(302, "CUDA_ERROR_SHARED_OBJECT_SYMBOL_NOT_FOUND"),
            Map.entry(303, "CUDA_ERROR_SHARED_OBJECT_INIT_FAILED"), Map.entry(304, "CUDA_ERROR_OPERATING_SYSTEM"),
            Map.entry(400, "CUDA_ERROR_INVALID_HANDLE"), Map.entry(401, "CUDA_ERROR_ILLEGAL_STATE"),
            Map.entry(500, "CUDA_ERROR_NOT_FOUND"), Map.entry(600, "CUDA_ERROR_NOT_READY"),
            Map.entry(700, "CUDA_ERROR_ILLEGAL_ADDRESS"), Map.entry(701, "CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES"),
            Map.entry(702, "CUDA_ERROR_LAUNCH_TIMEOUT"), Map.entry(708, "CUDA_ERROR_PRIMARY_CONTEXT_ACTIVE"),
            Map.entry(709, "CUDA_ERROR_CONTEXT_IS_DESTROYED"), Map.entry(710, "CUDA_ERROR_ASSERT"),
            Map.entry(715, "CUDA_ERROR_ILLEGAL_INSTRUCTION"), Map.entry(716, "CUDA_ERROR_MISALIGNED_ADDRESS"),
            Map.entry(717, "CUDA_ERROR_INVALID_ADDRESS_SPACE"), Map.entry(718, "CUDA_ERROR_INVALID_PC"),
            Map.entry(719, "CUDA_ERROR_LAUNCH_FAILED"), Map.entry(720, "CUDA_ERROR_COOPERATIVE_LAUNCH_TOO_LARGE"),
            Map.entry(800, "CUDA_ERROR_NOT_PERMITTED"), Map.entry(801, "CUDA_ERROR_NOT_SUPPORTED"),
            Map.entry(802, "CUDA_ERROR_SYSTEM_NOT_READY"), Map.entry(803, "CUDA_ERROR_SYSTEM_DRIVER_MISMATCH"),
            Map.entry(804, "CUDA_ERROR_COMPAT_NOT_SUPPORTED_ON_DEVICE"), Map.entry(909, "CUDA_ERROR_TIMEOUT"),
            Map.entry(999, "CUDA_ERROR_UNKNOWN"));

    /** cublasStatus_t values (cublas_api.h). */
    private static final Map<Integer, String> CUBLAS = Map.of(
            0, "CUBLAS_STATUS_SUCCESS", 1, "CUBLAS_STATUS_NOT_INITIALIZED", 3, "CUBLAS_STATUS_ALLOC_FAILED",
            7, "CUBLAS_STATUS_INVALID_VALUE", 8, "CUBLAS_STATUS_ARCH_MISMATCH", 11, "CUBLAS_STATUS_MAPPING_ERROR",
            13, "CUBLAS_STATUS_EXECUTION_FAILED", 14, "CUBLAS_STATUS_INTERNAL_ERROR",
            15, "CUBLAS_STATUS_NOT_SUPPORTED", 16, "CUBLAS_STATUS_LICENSE_ERROR");

    /** cusolverStatus_t values (cusolver_common.h). */
    private static final Map<Integer, String> CUSOLVER = Map.ofEntries(
            Map.entry(0, "CUSOLVER_STATUS_SUCCESS"), Map.entry(1, "CUSOLVER_STATUS_NOT_INITIALIZED"),
            Map.entry(2, "CUSOLVER_STATUS_ALLOC_FAILED"), Map.entry(3, "CUSOLVER_STATUS_INVALID_VALUE"),
            Map.entry(4, "CUSOLVER_STATUS_ARCH_MISMATCH"), Map.entry(5, "CUSOLVER_STATUS_MAPPING_ERROR"),
            Map.entry(6, "CUSOLVER_STATUS_EXECUTION_FAILED"), Map.entry(7, "CUSOLVER_STATUS_INTERNAL_ERROR"),
            Map.entry(8, "CUSOLVER_STATUS_MATRIX_TYPE_NOT_SUPPORTED"), Map.entry(9, "CUSOLVER_STATUS_NOT_SUPPORTED"),
            Map.entry(10, "CUSOLVER_STATUS_ZERO_PIVOT"), Map.entry(11, "CUSOLVER_STATUS_INVALID_LICENSE"),
            Map.entry(31, "CUSOLVER_STATUS_INVALID_WORKSPACE"));

    /** Short descriptions of the cuSOLVER statuses (the library has no status-string function). */
    private static final Map<Integer, String> CUSOLVER_TEXT = Map.of(
            1, "the cuSOLVER handle was not initialised (cusolverDnCreate failed or was not called)",
            2, "cuSOLVER could not allocate memory (device memory exhausted?)",
            3, "an unsupported value or parameter was passed",
            4, "the device lacks a feature the routine needs (compute capability too low)",
            6, "the GPU program failed to execute",
            7, "an internal cuSOLVER operation failed",
            8, "the matrix type is not supported by this routine",
            9, "the parameter combination is not supported");

    CudaStatus(SymbolLookup driver) {
        Linker linker = Linker.nativeLinker();
        FunctionDescriptor fd = FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.ADDRESS);
        this.errorName = driver.find("cuGetErrorName").map(s -> linker.downcallHandle(s, fd)).orElse(null);
        this.errorString = driver.find("cuGetErrorString").map(s -> linker.downcallHandle(s, fd)).orElse(null);
    }

    /** The symbolic name of a {@code CUresult} from the static table, or {@code CUresult <n>} when not listed. */
    public static String resultName(int status) {
        return RESULTS.getOrDefault(status, "CUresult " + status);
    }

    /** The symbolic name of a {@code cublasStatus_t}, or {@code cublasStatus <n>} when not listed. */
    public static String cublasStatusName(int status) {
        return CUBLAS.getOrDefault(status, "cublasStatus " + status);
    }

    /** The symbolic name of a {@code cusolverStatus_t}, or {@code cusolverStatus <n>} when not listed. */
    public static String cusolverStatusName(int status) {
        return CUSOLVER.getOrDefault(status, "cusolverStatus " + status);
    }

    /** A cuBLAS exception for {@code call} with the library's own text (or the name again when it has none). */
    static CudaException cublas(String call, int status, String text) {
        return new CudaException("cuBLAS", call, status, cublasStatusName(status),
                text == null || text.isBlank() ? "no description from cuBLAS" : text);
    }

    /** A cuSOLVER exception for {@code call}. */
    static CudaException cusolver(String call, int status) {
        return new CudaException("cuSOLVER", call, status, cusolverStatusName(status),
                CUSOLVER_TEXT.getOrDefault(status, "see the cuSOLVER documentation of " + call));
    }

    /** Throws a {@link CudaException} for {@code call} unless {@code status} is CUDA_SUCCESS (0). */
    void check(String call, int status) {
        if (status != 0) throw exception(call, status);
    }

    CudaException exception(String call, int status) {
        return new CudaException(call, status, describe(errorName, status, resultName(status)),
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
