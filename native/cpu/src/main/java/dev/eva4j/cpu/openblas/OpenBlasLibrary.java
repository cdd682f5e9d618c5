package dev.eva4j.cpu.openblas;

import dev.eva4j.spi.Availability;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Finds and loads OpenBLAS (CBLAS + LAPACKE) once per JVM, lazily, on the first {@link #availability()} or
 * {@link #lookup()}.
 *
 * <p>Where the library comes from:
 * <ol>
 *   <li>{@code EVA4J_OPENBLAS=/path/to/libopenblas.so}: that file, loaded as is (its own dependencies are found by
 *       the system's dynamic linker);</li>
 *   <li>otherwise the libraries the {@code org.bytedeco:openblas:*:linux-x86_64} jar carries, extracted once into
 *       {@code $EVA4J_CACHE} (default {@code ~/.cache/eva4j}) under
 *       {@code native/openblas-VERSION-linux-x86_64/}, then loaded in dependency order: libgcc_s (the system's when
 *       it has one), libquadmath, libgfortran, libopenblas.</li>
 * </ol>
 * Nothing here throws at start-up: every failure becomes {@link Availability#unavailable} with a reason a person can
 * act on. Libraries are loaded into the global arena and never unloaded.
 */
public final class OpenBlasLibrary {
    private static final Logger LOG = LoggerFactory.getLogger(OpenBlasLibrary.class);

    static final String OVERRIDE_ENV = "EVA4J_OPENBLAS";
    static final String CACHE_ENV = "EVA4J_CACHE";
    static final String PLATFORM = "linux-x86_64";
    static final String RESOURCE_DIR = "org/bytedeco/openblas/" + PLATFORM + "/";
    /** The version of the bytedeco artifact when its pom.properties cannot be read. */
    static final String FALLBACK_VERSION = "0.3.31-1.5.13";
    /** Bundled libraries, each after the ones it needs. */
    static final List<String> BUNDLED = List.of("libgcc_s.so.1", "libquadmath.so.0", "libgfortran.so.5",
            "libopenblas.so.0");
    /** Symbols the backend cannot work without ({@code cblas_sgemm_batch_strided} is optional). */
    static final List<String> REQUIRED_SYMBOLS = List.of("cblas_sgemm", "LAPACKE_sgesdd", "LAPACKE_dgesdd",
            "LAPACKE_ssyevd", "LAPACKE_dsyevd", "openblas_set_num_threads", "openblas_get_num_threads");

    private OpenBlasLibrary() {}

    /** The result of one attempt to load the library. */
    sealed interface Outcome permits Loaded, Failed {}

    /** @param detail what was loaded, for {@link Availability#ok} ("OpenBLAS 0.3.31 ... from /path") */
    record Loaded(SymbolLookup lookup, Path path, String detail) implements Outcome {}

    record Failed(String reason) implements Outcome {}

    private static final class Holder {
        static final Outcome OUTCOME = warnIfFailed(load(System.getenv(), System.getProperty("os.name", ""),
                System.getProperty("os.arch", ""), System.getProperty("user.home", "")));
    }

    private static Outcome warnIfFailed(Outcome o) {
        if (o instanceof Failed f) {
            LOG.warn("OpenBLAS cannot be loaded ({}); the pure-Java compute backend will be used", f.reason());
        }
        return o;
    }

    /** Whether OpenBLAS could be loaded; computed once. Never throws. */
    public static Availability availability() {
        return switch (Holder.OUTCOME) {
            case Loaded l -> Availability.ok(l.detail());
            case Failed f -> Availability.unavailable(f.reason());
        };
    }

    /** The file OpenBLAS was loaded from, when it loaded (benchmarks compile a C baseline against it). */
    public static java.util.Optional<Path> libraryPath() {
        return Holder.OUTCOME instanceof Loaded l ? java.util.Optional.of(l.path()) : java.util.Optional.empty();
    }

    /**
     * The name of the CPU kernels the loaded library runs ({@code openblas_get_corename()}, e.g. "Cooperlake"), so
     * that a program run beside eva4j on the same library (the C baseline of {@code bench gemm}) can be given the
     * same ones through {@code OPENBLAS_CORETYPE}; empty when OpenBLAS is unavailable or does not say.
     */
    public static java.util.Optional<String> coreName() {
        return Holder.OUTCOME instanceof Loaded l ? text(l.lookup(), "openblas_get_corename")
                : java.util.Optional.empty();
    }

    /** The loaded library's symbols. @throws IllegalStateException (with the reason) when it is unavailable */
    static SymbolLookup lookup() {
        return switch (Holder.OUTCOME) {
            case Loaded l -> l.lookup();
            case Failed f -> throw new IllegalStateException("OpenBLAS is unavailable: " + f.reason());
        };
    }

    /** One attempt to load, from the given environment; never throws (only {@link Error}s other than linkage). */
    static Outcome load(Map<String, String> env, String osName, String osArch, String userHome) {
        String override = env.get(OVERRIDE_ENV);
        if (override != null && !override.isBlank()) return loadOverride(Path.of(override.strip()), env);
        String arch = osArch.toLowerCase(Locale.ROOT);
        if (!osName.toLowerCase(Locale.ROOT).startsWith("linux") || !(arch.equals("amd64") || arch.equals("x86_64"))) {
            return new Failed("eva4j bundles OpenBLAS only for " + PLATFORM + ", not " + osName + "/" + osArch
                    + "; install OpenBLAS and set " + OVERRIDE_ENV + "=/path/to/libopenblas.so");
        }
        Path dir = cacheRoot(env, userHome).resolve("native").resolve("openblas-" + bundledVersion() + "-" + PLATFORM);
        List<Path> files;
        try {
            files = NativeExtractor.extract(OpenBlasLibrary.class.getClassLoader(), RESOURCE_DIR, BUNDLED, dir);
        } catch (IOException | UncheckedIOException | SecurityException e) {
            return new Failed("could not extract the bundled OpenBLAS into " + dir + ": " + e.getMessage()
                    + "; make the folder writable, set " + CACHE_ENV + " to a writable folder, or set "
                    + OVERRIDE_ENV + "=/path/to/libopenblas.so (is org.bytedeco:openblas:" + FALLBACK_VERSION + ":"
                    + PLATFORM + " on the class path?)");
        }
        try {
            loadGccRuntime(files.get(0));
            for (Path dependency : files.subList(1, files.size() - 1)) {
                SymbolLookup.libraryLookup(dependency, Arena.global());
            }
        } catch (RuntimeException | LinkageError e) {
            return new Failed("could not load OpenBLAS's runtime libraries from " + dir + ": " + e.getMessage()
                    + "; delete that folder to extract it again, or set " + OVERRIDE_ENV + "=/path/to/libopenblas.so");
        }
        return open(files.getLast(), "delete " + dir + " to extract it again, or set " + OVERRIDE_ENV
                + "=/path/to/libopenblas.so", env, true);
    }

    /** {@code $EVA4J_CACHE}, or {@code ~/.cache/eva4j}. */
    static Path cacheRoot(Map<String, String> env, String userHome) {
        String cache = env.get(CACHE_ENV);
        if (cache != null && !cache.isBlank()) return Path.of(cache.strip());
        return Path.of(userHome, ".cache", "eva4j");
    }

    private static Outcome loadOverride(Path path, Map<String, String> env) {
        if (!Files.isRegularFile(path)) {
            return new Failed(OVERRIDE_ENV + "=" + path + " but " + (Files.exists(path) ? "that is not a file"
                    : "no such file exists") + "; point it to libopenblas.so (CBLAS + LAPACKE) or unset it to use"
                    + " the bundled OpenBLAS");
        }
        return open(path, "point " + OVERRIDE_ENV + " to a full OpenBLAS build (with LAPACKE) or unset it", env,
                false);
    }

    /** libgcc_s is part of every glibc system; take the system's, and the bundled one only where it has none. */
    private static void loadGccRuntime(Path bundled) {
        try {
            SymbolLookup.libraryLookup("libgcc_s.so.1", Arena.global());
        } catch (IllegalArgumentException systemHasNone) {
            SymbolLookup.libraryLookup(bundled, Arena.global());
        }
    }

    /**
     * Opens libopenblas at {@code path}, checks it has every required symbol, and lets {@link OpenBlasCoreType} choose
     * its kernels.
     */
    private static Outcome open(Path path, String whatToDo, Map<String, String> env, boolean bundled) {
        SymbolLookup lookup;
        try {
            lookup = SymbolLookup.libraryLookup(path, Arena.global());
        } catch (RuntimeException | LinkageError e) {
            return new Failed(path + " could not be loaded: " + e.getMessage() + "; " + whatToDo);
        }
        List<String> missing = new ArrayList<>();
        for (String symbol : REQUIRED_SYMBOLS) {
            if (lookup.find(symbol).isEmpty()) missing.add(symbol);
        }
        if (!missing.isEmpty()) {
            return new Failed(path + " lacks " + String.join(", ", missing) + " (a build without LAPACKE?); "
                    + whatToDo);
        }
        String ilp64 = integerWidthProblem(config(lookup));
        if (ilp64 != null) return new Failed(path + " " + ilp64 + "; " + whatToDo);
        String kernels = OpenBlasCoreType.apply(lookup, path, env,
                OpenBlasCoreType.cpuFlags(Path.of("/proc/cpuinfo")), bundled);
        String detail = config(lookup) + kernels + " from " + path;
        LOG.debug("loaded {}", detail);
        return new Loaded(lookup, path, detail);
    }

    /**
     * Why a library whose {@code openblas_get_config()} says {@code config} cannot be used, or null when it can: an
     * ILP64 build ({@code USE64BITINT}, 64-bit {@code blasint}/{@code lapack_int}) would read the 32-bit ints eva4j
     * passes as garbage. Builds that also rename their symbols ({@code cblas_sgemm64_}) are refused earlier, for
     * lacking {@code cblas_sgemm}; this catches those that keep the names.
     */
    static String integerWidthProblem(String config) {
        for (String token : config.strip().split("\\s+")) {
            if (token.equals("USE64BITINT")) {
                return "is an ILP64 build (openblas_get_config: \"" + config.strip() + "\"): it takes 64-bit integer "
                        + "arguments, and eva4j calls it with 32-bit ones; use an LP64 build (OpenBLAS's default, "
                        + "without INTERFACE64=1)";
            }
        }
        return null;
    }

    /** {@code openblas_get_config()}: version, build options and the CPU kernel in use ("OpenBLAS 0.3.31 ... Haswell"). */
    private static String config(SymbolLookup lookup) {
        return text(lookup, "openblas_get_config").orElse("OpenBLAS");
    }

    /**
     * The text a {@code const char *symbol(void)} function of the library returns (OpenBLAS's version and core
     * queries), stripped; empty when the library lacks the function, it returns NULL or "", or the call fails.
     */
    static java.util.Optional<String> text(SymbolLookup lookup, String symbol) {
        MemorySegment fn = lookup.find(symbol).orElse(null);
        if (fn == null) return java.util.Optional.empty();
        try {
            MemorySegment text = (MemorySegment) Linker.nativeLinker()
                    .downcallHandle(fn, FunctionDescriptor.of(ValueLayout.ADDRESS)).invokeExact();
            if (text.equals(MemorySegment.NULL)) return java.util.Optional.empty();
            String s = text.reinterpret(Long.MAX_VALUE).getString(0).strip();
            return s.isEmpty() ? java.util.Optional.empty() : java.util.Optional.of(s);
        } catch (Throwable e) {
            LOG.debug("{} failed", symbol, e);
            return java.util.Optional.empty();
        }
    }

    /** The bytedeco artifact's version, read from its pom.properties. */
    static String bundledVersion() {
        try (InputStream in = OpenBlasLibrary.class.getClassLoader()
                .getResourceAsStream("META-INF/maven/org.bytedeco/openblas/pom.properties")) {
            if (in == null) return FALLBACK_VERSION;
            Properties p = new Properties();
            p.load(in);
            return p.getProperty("version", FALLBACK_VERSION).strip();
        } catch (IOException e) {
            return FALLBACK_VERSION;
        }
    }
}
