package dev.eva4j.cpu.openblas;

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
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Chooses the CPU kernels of a DYNAMIC_ARCH OpenBLAS: the AVX-512 ones wherever the CPU has AVX-512.
 *
 * <p>OpenBLAS picks its kernels once, when the library loads, from {@code OPENBLAS_CORETYPE} if the environment sets
 * it, else from the CPU's vendor, family and model. Two things make that choice slower than the CPU allows: a CPU newer
 * than OpenBLAS's table gets whatever its fallback picks (0.3.31 does not know AMD's Zen 5, family 1Ah), and an
 * {@code OPENBLAS_CORETYPE} set for some other program's OpenBLAS (Haswell is a common pick, for reproducible
 * results across a fleet) applies to every OpenBLAS in the process. On an AVX-512 CPU the AVX2 (Haswell) kernels do
 * half the work per instruction: all-MiniLM-L6-v2's forward pass took 1.5x as long on Zen 5 (see
 * docs/kernels-and-memory.md). Kernels differ only in rounding: every OpenBLAS kernel computes the same products.
 *
 * <p>What this does, once, right after the library has loaded and before anything calls it:
 * <ol>
 *   <li>{@code EVA4J_OPENBLAS_CORETYPE=NAME} set: that core (one of {@link #REQUIREMENTS}, and only when the CPU has
 *       the instructions it needs; otherwise a one-line warning and the automatic choice).</li>
 *   <li>Otherwise, for the OpenBLAS eva4j bundles: OpenBLAS's own detection from the CPU (an inherited
 *       {@code OPENBLAS_CORETYPE} is set aside for it), then, when that is a core without AVX-512 kernels on a CPU with
 *       the AVX-512 subsets those kernels use (F, CD, BW, DQ, VL, as Linux lists them in /proc/cpuinfo, which it does
 *       only when the kernel has enabled their register state), the core OpenBLAS's own feature-based fallback names:
 *       Cooperlake with AVX-512 BF16, SkylakeX without.</li>
 *   <li>For a library the user points {@code EVA4J_OPENBLAS} to, {@code OPENBLAS_CORETYPE} keeps its usual meaning;
 *       only when it is unset does the AVX-512 correction apply.</li>
 * </ol>
 * The switch sets {@code OPENBLAS_CORETYPE} in the C environment, runs OpenBLAS's exported
 * {@code gotoblas_dynamic_quit} and {@code gotoblas_dynamic_init} so that it chooses again, and then puts the variable
 * back as it was, so that child processes see the user's environment. Builds without those functions (not
 * DYNAMIC_ARCH) keep their kernels. {@code eva4j backends} names the kernels in use and why.
 */
final class OpenBlasCoreType {
    private static final Logger LOG = LoggerFactory.getLogger(OpenBlasCoreType.class);

    static final String OPENBLAS_ENV = "OPENBLAS_CORETYPE";
    static final String CHOICE_ENV = "EVA4J_OPENBLAS_CORETYPE";
    /** The AVX-512 subsets OpenBLAS's SkylakeX kernels are compiled for ({@code -march=skylake-avx512}). */
    static final List<String> AVX512_FLAGS = List.of("avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl");
    /** OpenBLAS's names of its x86-64 cores that have AVX-512 kernels. */
    static final Set<String> AVX512_CORES = Set.of("SkylakeX", "Cooperlake", "SapphireRapids");
    /**
     * The x86-64 cores {@value #CHOICE_ENV} may name, with the /proc/cpuinfo flags their kernels need (a core the CPU
     * cannot run would stop the process with an illegal instruction, so eva4j checks first).
     */
    static final Map<String, List<String>> REQUIREMENTS = Map.of(
            "Cooperlake", Stream.concat(AVX512_FLAGS.stream(), Stream.of("avx512_bf16")).toList(),
            "SkylakeX", AVX512_FLAGS,
            "Zen", List.of("avx2", "fma"),
            "Haswell", List.of("avx2", "fma"),
            "Sandybridge", List.of("avx"),
            "Nehalem", List.of("sse4_2"),
            "Core2", List.of("ssse3"),
            "Prescott", List.of());

    private OpenBlasCoreType() {}

    /**
     * The AVX-512 core to switch to after OpenBLAS's own detection chose {@code detected}, or empty when that choice
     * stands.
     */
    static Optional<String> avx512Instead(String detected, Set<String> cpuFlags) {
        if (detected == null || AVX512_CORES.contains(detected)) return Optional.empty();
        if (!cpuFlags.containsAll(AVX512_FLAGS)) return Optional.empty();
        return Optional.of(cpuFlags.contains("avx512_bf16") ? "Cooperlake" : "SkylakeX");
    }

    /**
     * The core {@value #CHOICE_ENV} names, spelled as OpenBLAS spells it, or a reason why it cannot be used here.
     */
    static Choice requested(String value, Set<String> cpuFlags) {
        String v = value.strip();
        for (Map.Entry<String, List<String>> e : REQUIREMENTS.entrySet()) {
            if (!e.getKey().equalsIgnoreCase(v)) continue;
            List<String> lacking = e.getValue().stream().filter(f -> !cpuFlags.contains(f)).toList();
            if (!lacking.isEmpty()) {
                return new Choice(null, CHOICE_ENV + "=" + v + " needs CPU features this machine lacks ("
                        + String.join(", ", lacking) + ")");
            }
            return new Choice(e.getKey(), null);
        }
        return new Choice(null, CHOICE_ENV + " must be one of " + String.join(", ", REQUIREMENTS.keySet().stream()
                .sorted().toList()) + ", not '" + v + "'");
    }

    /** A usable core name, or the reason there is none. */
    record Choice(String core, String problem) {}

    /** The flags of the first processor in a /proc/cpuinfo-style file; empty when it cannot be read. */
    static Set<String> cpuFlags(Path cpuinfo) {
        try (Stream<String> lines = Files.lines(cpuinfo)) {
            return lines.filter(l -> l.startsWith("flags")).findFirst()
                    .map(l -> l.substring(l.indexOf(':') + 1).strip())
                    .map(s -> Set.of(s.split("\\s+")))
                    .orElse(Set.of());
        } catch (IOException | RuntimeException e) {
            return Set.of();
        }
    }

    /**
     * Chooses the kernels of a just-loaded library, as the class comment says.
     *
     * <p>Only the first call for a library file chooses: the library is loaded once per process whatever the number of
     * lookups, and choosing again while another thread is inside OpenBLAS would pull its kernels from under that call;
     * later calls return the first call's note.
     *
     * @param bundled true for the OpenBLAS eva4j ships, false for one named by {@code EVA4J_OPENBLAS}
     * @return a note for the backend's detail, starting with "; " ("" when there is nothing to say)
     */
    static String apply(SymbolLookup openblas, Path library, Map<String, String> env, Set<String> cpuFlags,
            boolean bundled) {
        Path key = library.toAbsolutePath().normalize();
        synchronized (CHOSEN) {
            return CHOSEN.computeIfAbsent(key, k -> choose(openblas, env, cpuFlags, bundled));
        }
    }

    /** The note of each library file whose kernels were chosen, by path. */
    private static final Map<Path, String> CHOSEN = new HashMap<>();

    private static String choose(SymbolLookup openblas, Map<String, String> env, Set<String> cpuFlags,
            boolean bundled) {
        Optional<MemorySegment> quit = openblas.find("gotoblas_dynamic_quit");
        Optional<MemorySegment> init = openblas.find("gotoblas_dynamic_init");
        Linker linker = Linker.nativeLinker();
        Optional<MemorySegment> setenv = linker.defaultLookup().find("setenv");
        Optional<MemorySegment> unsetenv = linker.defaultLookup().find("unsetenv");
        boolean hasAll = openblas.find("openblas_get_corename").isPresent() && quit.isPresent() && init.isPresent()
                && setenv.isPresent() && unsetenv.isPresent();
        if (!hasAll) return "";
        try {
            Native n = new Native(openblas, linker, quit.get(), init.get(), setenv.get(), unsetenv.get());
            String inherited = env.get(OPENBLAS_ENV);
            String loaded = n.coreName();
            String forced = env.get(CHOICE_ENV);
            String problem = null;
            if (forced != null && !forced.isBlank()) {
                Choice c = requested(forced, cpuFlags);
                if (c.core() != null) {
                    String now = n.choose(c.core(), inherited);
                    return "; kernels " + now + " (" + CHOICE_ENV + ")";
                }
                problem = c.problem();
                LOG.warn("{}; OpenBLAS's kernels are chosen automatically", problem);
            }
            if (!bundled && inherited != null) { // the user's library, the user's OPENBLAS_CORETYPE
                return avx512Instead(loaded, cpuFlags).isEmpty() || problem != null ? ""
                        : "; kernels " + loaded + " from " + OPENBLAS_ENV + "=" + inherited + " (the CPU has AVX-512: "
                                + "unset it, or set " + CHOICE_ENV + ", for the faster kernels)";
            }
            String detected = inherited == null ? loaded : n.choose(null, inherited);
            Optional<String> better = avx512Instead(detected, cpuFlags);
            String now = better.isPresent() ? n.choose(better.get(), inherited) : detected;
            if (now.equals(loaded) && problem == null) return "";
            StringBuilder note = new StringBuilder("; kernels ").append(now);
            if (better.isPresent()) {
                note.append(" chosen by eva4j (the CPU has AVX-512; OpenBLAS's own detection said ").append(detected);
            } else {
                note.append(" (OpenBLAS's own detection");
            }
            if (inherited != null) note.append("; ").append(OPENBLAS_ENV).append('=').append(inherited)
                    .append(" in the environment set aside for eva4j's bundled OpenBLAS");
            if (problem != null) note.append("; ").append(problem);
            note.append("; ").append(CHOICE_ENV).append("=NAME chooses)");
            LOG.debug("OpenBLAS kernels: {} -> {}", loaded, now);
            return note.toString();
        } catch (Throwable e) {
            LOG.debug("could not choose OpenBLAS's kernels", e);
            return "";
        }
    }

    /** The C functions a switch needs. */
    private static final class Native {
        private final SymbolLookup openblas;
        private final MethodHandle quit, init, setenv, unsetenv;

        Native(SymbolLookup openblas, Linker linker, MemorySegment quit, MemorySegment init, MemorySegment setenv,
                MemorySegment unsetenv) {
            this.openblas = openblas;
            this.quit = linker.downcallHandle(quit, FunctionDescriptor.ofVoid());
            this.init = linker.downcallHandle(init, FunctionDescriptor.ofVoid());
            this.setenv = linker.downcallHandle(setenv, FunctionDescriptor.of(ValueLayout.JAVA_INT,
                    ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.JAVA_INT));
            this.unsetenv = linker.downcallHandle(unsetenv,
                    FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS));
        }

        String coreName() {
            return OpenBlasLibrary.text(openblas, "openblas_get_corename").orElse("");
        }

        /**
         * Lets OpenBLAS choose again with {@code OPENBLAS_CORETYPE} set to {@code core} (unset when null), then puts
         * the variable back to {@code original} (unset when null).
         *
         * @return the core it chose
         */
        String choose(String core, String original) throws Throwable {
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment key = arena.allocateFrom(OPENBLAS_ENV);
                try {
                    set(key, core, arena);
                    quit.invokeExact();
                    init.invokeExact();
                } finally {
                    set(key, original, arena);
                }
            }
            return coreName();
        }

        private void set(MemorySegment key, String value, Arena arena) throws Throwable {
            int rc = value == null ? (int) unsetenv.invokeExact(key)
                    : (int) setenv.invokeExact(key, arena.allocateFrom(value), 1);
            if (rc != 0) throw new IllegalStateException("setenv/unsetenv " + OPENBLAS_ENV + " failed");
        }
    }
}
