package dev.eva4j.cpu.openblas;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Which OpenBLAS kernels eva4j chooses, and that the loaded library runs AVX-512 ones where the CPU has them. */
class OpenBlasCoreTypeTest {
    private static final Set<String> AVX512 = Set.of("sse4_2", "ssse3", "avx", "fma", "avx2", "avx512f",
            "avx512cd", "avx512bw", "avx512dq", "avx512vl");
    private static final Set<String> AVX2 = Set.of("sse4_2", "ssse3", "avx", "fma", "avx2");

    private static Set<String> with(Set<String> flags, String... more) {
        Set<String> s = new HashSet<>(flags);
        s.addAll(Set.of(more));
        return s;
    }

    @Test
    void anAvx512CpuTakenForAnOlderCoreGetsTheFallbackOpenBlasItselfWouldName() {
        assertEquals(Optional.of("SkylakeX"), OpenBlasCoreType.avx512Instead("Haswell", AVX512));
        assertEquals(Optional.of("Cooperlake"), OpenBlasCoreType.avx512Instead("Zen", with(AVX512, "avx512_bf16")));
        assertEquals(Optional.of("SkylakeX"), OpenBlasCoreType.avx512Instead("Prescott", AVX512));
    }

    @Test
    void aRecognisedAvx512CoreStays() {
        for (String core : OpenBlasCoreType.AVX512_CORES) {
            assertEquals(Optional.empty(), OpenBlasCoreType.avx512Instead(core, with(AVX512, "avx512_bf16")));
        }
    }

    @Test
    void aCpuLackingAnyOfTheSubsetsStays() {
        for (String missing : OpenBlasCoreType.AVX512_FLAGS) {
            Set<String> flags = new HashSet<>(AVX512);
            flags.remove(missing);
            assertEquals(Optional.empty(), OpenBlasCoreType.avx512Instead("Haswell", flags), missing);
        }
        assertEquals(Optional.empty(), OpenBlasCoreType.avx512Instead("Haswell", AVX2));
        assertEquals(Optional.empty(), OpenBlasCoreType.avx512Instead(null, AVX512));
    }

    @Test
    void aRequestedCoreIsSpelledAsOpenBlasSpellsIt() {
        assertEquals(new OpenBlasCoreType.Choice("Haswell", null), OpenBlasCoreType.requested(" haswell ", AVX512));
        assertEquals(new OpenBlasCoreType.Choice("SkylakeX", null), OpenBlasCoreType.requested("SKYLAKEX", AVX512));
        assertEquals(new OpenBlasCoreType.Choice("Prescott", null), OpenBlasCoreType.requested("prescott", Set.of()));
    }

    @Test
    void aRequestedCoreTheCpuCannotRunIsRefusedWithWhatItLacks() {
        OpenBlasCoreType.Choice c = OpenBlasCoreType.requested("SkylakeX", AVX2);
        assertNull(c.core());
        assertEquals("EVA4J_OPENBLAS_CORETYPE=SkylakeX needs CPU features this machine lacks (avx512f, avx512cd, "
                + "avx512bw, avx512dq, avx512vl)", c.problem());
        assertEquals("EVA4J_OPENBLAS_CORETYPE=Cooperlake needs CPU features this machine lacks (avx512_bf16)",
                OpenBlasCoreType.requested("Cooperlake", AVX512).problem());
    }

    @Test
    void anUnknownCoreNameIsRefusedWithTheNamesThatWork() {
        OpenBlasCoreType.Choice c = OpenBlasCoreType.requested("Zen5", AVX512);
        assertNull(c.core());
        assertEquals("EVA4J_OPENBLAS_CORETYPE must be one of Cooperlake, Core2, Haswell, Nehalem, Prescott, "
                + "Sandybridge, SkylakeX, Zen, not 'Zen5'", c.problem());
    }

    @Test
    void flagsComeFromTheFirstProcessor(@TempDir Path dir) throws IOException {
        Path info = Files.writeString(dir.resolve("cpuinfo"), """
                processor\t: 0
                vendor_id\t: AuthenticAMD
                flags\t\t: fpu avx2 avx512f avx512_bf16
                processor\t: 1
                flags\t\t: fpu sse2
                """);
        assertEquals(Set.of("fpu", "avx2", "avx512f", "avx512_bf16"), OpenBlasCoreType.cpuFlags(info));
        assertEquals(Set.of(), OpenBlasCoreType.cpuFlags(dir.resolve("missing")));
        assertEquals(Set.of(), OpenBlasCoreType.cpuFlags(dir));
    }

    /**
     * On a machine with AVX-512 (this project's CI machines have it) the bundled OpenBLAS runs AVX-512 kernels, even
     * when the environment sets OPENBLAS_CORETYPE to an older core, and the C environment is as it was afterwards.
     */
    @Test
    void theLoadedLibraryRunsAvx512KernelsWhereTheCpuHasThem() throws Throwable {
        Set<String> flags = OpenBlasCoreType.cpuFlags(Path.of("/proc/cpuinfo"));
        assumeTrue(flags.containsAll(OpenBlasCoreType.AVX512_FLAGS), "no AVX-512 here");
        assumeTrue(System.getenv("EVA4J_OPENBLAS_CORETYPE") == null, "EVA4J_OPENBLAS_CORETYPE chooses");
        assumeTrue(System.getenv("EVA4J_OPENBLAS") == null, "not the bundled OpenBLAS");
        assumeTrue(OpenBlasLibrary.availability().available(), "no OpenBLAS");
        MemorySegment fn = OpenBlasLibrary.lookup().find("openblas_get_corename").orElseThrow();
        MemorySegment name = (MemorySegment) Linker.nativeLinker()
                .downcallHandle(fn, FunctionDescriptor.of(ValueLayout.ADDRESS)).invokeExact();
        String core = name.reinterpret(64).getString(0);
        assertTrue(OpenBlasCoreType.AVX512_CORES.contains(core), core);
        MemorySegment getenv = Linker.nativeLinker().defaultLookup().find("getenv").orElseThrow();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment value = (MemorySegment) Linker.nativeLinker().downcallHandle(getenv,
                    FunctionDescriptor.of(ValueLayout.ADDRESS, ValueLayout.ADDRESS))
                    .invokeExact(arena.allocateFrom("OPENBLAS_CORETYPE"));
            String inherited = System.getenv("OPENBLAS_CORETYPE");
            if (inherited == null) {
                assertEquals(MemorySegment.NULL, value);
            } else {
                assertEquals(inherited, value.reinterpret(256).getString(0));
            }
        }
    }
}
