package dev.eva4j.cpu.openblas;

import dev.eva4j.api.kernels.RowKernels;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Finds and loads eva4j's own row-kernel library ({@code libeva4j-rows.so}, built from {@code src/main/c} by the
 * build when it finds a C compiler) once per JVM, and gives the {@link RowKernels} the OpenBLAS backend uses: the
 * library's when it loads, else the Vector API's (same numbers, slower to warm up).
 *
 * <p>The library is a class-path resource under {@code dev/eva4j/cpu/native/OS-ARCH/}; it is extracted into
 * {@code $EVA4J_CACHE/native/eva4j-rows-HASH/} (default cache {@code ~/.cache/eva4j}), HASH from its content, so
 * builds never load each other's copy. {@code EVA4J_ROW_KERNELS=java} (or {@code -Deva4j.rowKernels=java}) chooses
 * the Vector API kernels even when the library is there, {@code native} (the default) the library. Nothing here
 * throws: every failure leaves the Vector API kernels in place, with the reason in {@link #description()}.
 */
public final class RowLibrary {
    private static final Logger LOG = LoggerFactory.getLogger(RowLibrary.class);

    static final String CHOICE_ENV = "EVA4J_ROW_KERNELS";
    static final String CHOICE_PROPERTY = "eva4j.rowKernels";
    static final String LIBRARY = "libeva4j-rows.so";
    static final String ABSENT = "libeva4j-rows.absent";
    /** The interface version of the C library this class was written against ({@code eva4j_rows_version()}). */
    static final int VERSION = 3;

    private RowLibrary() {}

    /** The result of one attempt to load the library. */
    sealed interface Outcome permits Loaded, Unused {}

    record Loaded(SymbolLookup lookup, Path path) implements Outcome {}

    /** @param reason why the Vector API kernels run ("EVA4J_ROW_KERNELS=java", "no C compiler at build time ...") */
    record Unused(String reason) implements Outcome {}

    private static final class Holder {
        static final Outcome OUTCOME = load(System.getenv(), System.getProperty(CHOICE_PROPERTY),
                System.getProperty("os.name", ""), System.getProperty("os.arch", ""),
                System.getProperty("user.home", ""));
        static final RowKernels KERNELS = OUTCOME instanceof Loaded l ? new NativeRowKernels(l.lookup(), l.path())
                : RowKernels.vectorApi();
    }

    /** The row kernels to use: the native library's when it loaded, else the Vector API's. Never throws. */
    public static RowKernels kernels() {
        return Holder.KERNELS;
    }

    /** Which row kernels run and, when they are not the native ones, why. */
    public static String description() {
        return switch (Holder.OUTCOME) {
            case Loaded l -> kernels().description();
            case Unused u -> kernels().description() + " (" + u.reason() + ")";
        };
    }

    /** One attempt to load, from the given environment; never throws (only {@link Error}s other than linkage). */
    static Outcome load(Map<String, String> env, String property, String osName, String osArch, String userHome) {
        String choice = property != null && !property.isBlank() ? property.strip() : env.get(CHOICE_ENV);
        choice = choice == null || choice.isBlank() ? "native" : choice.strip().toLowerCase(Locale.ROOT);
        if (choice.equals("java")) return new Unused(CHOICE_ENV + "=java");
        if (!choice.equals("native")) {
            String reason = CHOICE_ENV + " must be native or java, not '" + choice + "'";
            LOG.warn("{}; the Vector API row kernels will run", reason);
            return new Unused(reason);
        }
        String platform = platform(osName, osArch);
        String dir = "dev/eva4j/cpu/native/" + platform + "/";
        ClassLoader loader = RowLibrary.class.getClassLoader();
        byte[] library;
        try (InputStream in = loader.getResourceAsStream(dir + LIBRARY)) {
            if (in == null) return new Unused(absentReason(loader, dir, platform));
            library = in.readAllBytes();
        } catch (IOException | UncheckedIOException e) {
            return new Unused("could not read " + dir + LIBRARY + ": " + e.getMessage());
        }
        Path target = OpenBlasLibrary.cacheRoot(env, userHome).resolve("native")
                .resolve("eva4j-rows-" + shortHash(library));
        Path file;
        try {
            file = NativeExtractor.extract(loader, dir, List.of(LIBRARY), target).getFirst();
        } catch (IOException | UncheckedIOException | SecurityException e) {
            return new Unused("could not extract " + LIBRARY + " into " + target + ": " + e.getMessage()
                    + "; make the folder writable or set " + OpenBlasLibrary.CACHE_ENV + " to a writable folder");
        }
        try {
            SymbolLookup lookup = SymbolLookup.libraryLookup(file, Arena.global());
            int version = (int) Linker.nativeLinker().downcallHandle(lookup.findOrThrow("eva4j_rows_version"),
                    FunctionDescriptor.of(ValueLayout.JAVA_INT)).invokeExact();
            if (version != VERSION) {
                return new Unused(file + " has interface version " + version + ", this eva4j needs " + VERSION
                        + "; delete " + target + " and rebuild");
            }
            LOG.debug("row kernels from {}", file);
            return new Loaded(lookup, file);
        } catch (Throwable e) {
            if (e instanceof Error err && !(err instanceof LinkageError)) throw err;
            return new Unused("could not load " + file + ": " + e.getMessage() + "; delete " + target
                    + " to extract it again");
        }
    }

    /** The resource folder's platform name: os-arch ("linux-x86_64"), as the build names it. */
    static String platform(String osName, String osArch) {
        String os = osName.toLowerCase(Locale.ROOT).split(" ")[0];
        String arch = osArch.toLowerCase(Locale.ROOT);
        arch = switch (arch) {
            case "amd64", "x86_64" -> "x86_64";
            case "arm64", "aarch64" -> "aarch64";
            default -> arch;
        };
        return os + "-" + arch;
    }

    /** The build's note on why it made no library (no C compiler), or that this platform has none. */
    private static String absentReason(ClassLoader loader, String dir, String platform) {
        try (InputStream in = loader.getResourceAsStream(dir + ABSENT)) {
            if (in != null) return new String(in.readAllBytes(), StandardCharsets.UTF_8).strip();
        } catch (IOException e) {
            // fall through to the generic reason
        }
        return "this build has no native row kernels for " + platform;
    }

    private static String shortHash(byte[] bytes) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes), 0, 6);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 missing from the JDK", e);
        }
    }
}
