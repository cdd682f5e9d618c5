package dev.eva4j.cuda;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.SymbolLookup;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.extension.ConditionEvaluationResult;
import org.junit.jupiter.api.extension.ExecutionCondition;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * eva4j's CUDA kernels on the CPU, for tests on machines without a GPU: {@code src/test/emulator} compiles the very
 * kernel sources of {@code src/main/cuda} with the host C++ compiler (every CUDA thread a fiber, real barriers and
 * warp shuffles) together with a stand-in for the driver API and cuBLAS's float32 GEMMs, into one shared library.
 * The Java side — {@link CudaDriver}, {@link CudaContext}, {@link CudaModule}'s launches, {@link Cublas},
 * {@link CudaKernels} — then runs unchanged on it, "device pointers" being host addresses. This checks the kernels'
 * logic, indexing, reductions and masks and every launch's geometry and argument list; it cannot check a GPU's
 * arithmetic (its erfc, expf, FMA contraction), timing, or anything about memory on a real device.
 *
 * <p>Built once per JVM in a temporary folder; needs {@code g++}. Skipped where a GPU can run the kernels for real
 * (see {@link Condition}).
 */
final class Emulator {
    private static final Path MODULE = moduleDir();
    private static final Path SOURCES = MODULE.resolve("src/main/cuda");
    private static final Path EMULATOR = MODULE.resolve("src/test/emulator");
    private static CudaKernels kernels;

    private Emulator() {}

    /** native/cuda, from its own folder (Maven) or from the project root (a run outside Maven). */
    static Path moduleDir() {
        Path here = Path.of("").toAbsolutePath();
        return Files.isDirectory(here.resolve("src/test/emulator")) ? here : here.resolve("native/cuda");
    }

    static Optional<Path> compiler() {
        for (String dir : System.getenv().getOrDefault("PATH", "/usr/bin").split(":")) {
            Path p = Path.of(dir.isEmpty() ? "." : dir, "g++");
            if (Files.isExecutable(p)) return Optional.of(p);
        }
        return Optional.empty();
    }

    /** The extern "C" __global__ kernels of the sources, by name. */
    static TreeSet<String> kernelNames() {
        Pattern p = Pattern.compile("extern \"C\" __global__ void (eva4j_\\w+)\\(");
        TreeSet<String> names = new TreeSet<>();
        try (Stream<Path> files = Files.list(SOURCES)) {
            for (Path f : files.filter(f -> f.toString().endsWith(".cuh")).toList()) {
                Matcher m = p.matcher(Files.readString(f));
                while (m.find()) names.add(m.group(1));
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return names;
    }

    /** The emulated device's kernels (built and opened on first call; shared by the tests of this JVM). */
    static synchronized CudaKernels kernels() {
        if (kernels != null) return kernels;
        try {
            Path dir = Files.createTempDirectory("eva4j-cuda-emulator");
            List<String> list = new ArrayList<>();
            for (String name : kernelNames()) list.add("K(" + name + "),");
            Files.write(dir.resolve("kernel_list.inc"), list);
            Path lib = dir.resolve("libeva4j-cuda-emulator.so");
            Process p = new ProcessBuilder(compiler().orElseThrow().toString(), "-O1", "-std=c++17",
                    "-ffp-contract=off", "-U_FORTIFY_SOURCE", "-D_FORTIFY_SOURCE=0", "-shared", "-fPIC", "-I", dir.toString(), "-o", lib.toString(),
                    EMULATOR.resolve("emu.cpp").toString()).redirectErrorStream(true).start();
            String log = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(300, TimeUnit.SECONDS) || p.exitValue() != 0) {
                throw new IllegalStateException("the CUDA emulator did not compile:\n" + log);
            }
            SymbolLookup lookup = SymbolLookup.libraryLookup(lib, Arena.global());
            CudaDriver driver = new CudaDriver(lookup);
            driver.init();
            CudaContext context = CudaContext.open(driver, 0);
            CudaModule module = CudaModule.load(context, new byte[] {0});
            kernels = new CudaKernels(context, module, new Cublas(context, lookup));
            return kernels;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** Skips a test class, with the reason, where there is no host C++ compiler to build the emulator. */
    static final class Condition implements ExecutionCondition {
        @Override
        public ConditionEvaluationResult evaluateExecutionCondition(ExtensionContext context) {
            if (CudaKernelsLoader.problem().isEmpty()) {
                // the GPU machine's minutes are scarce: there the Cuda* tests run the same checks on the device
                return ConditionEvaluationResult.disabled("a GPU is here: the Cuda* tests run these checks on it");
            }
            if (!Files.isDirectory(EMULATOR)) {
                return ConditionEvaluationResult.disabled("the emulator's sources are not here (" + EMULATOR + ")");
            }
            return compiler().isPresent()
                    ? ConditionEvaluationResult.enabled("g++ found: the emulator can be built")
                    : ConditionEvaluationResult.disabled("no g++ on PATH: the CUDA emulator cannot be built");
        }
    }
}
