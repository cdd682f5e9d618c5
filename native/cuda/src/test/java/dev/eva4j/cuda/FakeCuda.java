package dev.eva4j.cuda;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The test double of the NVIDIA libraries (src/test/c/fakecuda.c) compiled with gcc into a temporary folder under
 * every soname the bindings load, once per JVM. Tests using it are skipped (with the reason) where gcc is absent.
 */
final class FakeCuda {
    private static Path dir;
    private static String failure;

    private FakeCuda() {}

    /** The folder holding the fake libraries; skips the calling test when they cannot be built. */
    static synchronized Path dir() {
        if (dir == null && failure == null) build();
        assumeTrue(dir != null, () -> "fake CUDA libraries not built: " + failure);
        return dir;
    }

    private static void build() {
        try {
            Path src = Path.of("src/test/c/fakecuda.c").toAbsolutePath();
            if (!Files.isRegularFile(src)) src = Path.of("native/cuda/src/test/c/fakecuda.c").toAbsolutePath();
            if (!Files.isRegularFile(src)) {
                failure = "source " + src + " not found";
                return;
            }
            Path d = Files.createTempDirectory("eva4j-fakecuda");
            Path so = d.resolve("fakecuda.so");
            Process p = new ProcessBuilder("gcc", "-O1", "-shared", "-fPIC", "-o", so.toString(), src.toString(), "-lm")
                    .redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes());
            if (!p.waitFor(120, TimeUnit.SECONDS) || p.exitValue() != 0) {
                failure = "gcc failed: " + out;
                return;
            }
            for (String name : List.of("libcuda.so.1", "libcudart.so.13", "libnvJitLink.so.13", "libcusparse.so.12", "libcublasLt.so.13",
                    "libcublas.so.13", "libcusolver.so.12")) {
                Files.copy(so, d.resolve(name), StandardCopyOption.REPLACE_EXISTING);
            }
            dir = d;
        } catch (IOException e) {
            failure = "no gcc here (" + e.getMessage() + ")";
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            failure = "interrupted";
        }
    }

    /** Libraries found in the fake folder only (no system loader, no /usr/local, no Python). */
    static CudaLibraries libraries() {
        Path d = dir();
        return CudaLibraries.find(new CudaLibraries.Search(Map.of(CudaLibraries.ENV, d.toString()),
                d.resolve("no-usr-local"), List::of, CudaLibraries.SystemLoader.NONE));
    }

    /** A context on the fake device 0. */
    static CudaContext context() {
        CudaLibraries libs = libraries();
        CudaDriver driver = new CudaDriver(libs.load(CudaLibraries.Library.DRIVER));
        driver.init();
        return CudaContext.open(driver, libs, 0);
    }

    /** Integer argument {@code i} of the last recorded call in library {@code lib}. */
    static long lastArg(CudaLibraries libs, CudaLibraries.Library lib, int i) {
        try {
            SymbolLookup l = libs.load(lib);
            MethodHandle h = Linker.nativeLinker().downcallHandle(l.find("fake_last_arg").orElseThrow(),
                    FunctionDescriptor.of(ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT));
            return (long) h.invokeExact(i);
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    /** Name of the last recorded call in library {@code lib}. */
    static String lastCall(CudaLibraries libs, CudaLibraries.Library lib) {
        try {
            SymbolLookup l = libs.load(lib);
            MethodHandle h = Linker.nativeLinker().downcallHandle(l.find("fake_last_call").orElseThrow(),
                    FunctionDescriptor.of(ValueLayout.ADDRESS));
            MemorySegment s = (MemorySegment) h.invokeExact();
            return s.reinterpret(64).getString(0);
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    static Arena arena() {
        return Arena.ofConfined();
    }
}
