package dev.eva4j.cpu.openblas;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import static org.junit.jupiter.api.Assumptions.assumeTrue;
import org.junit.jupiter.api.io.TempDir;

/** How the loader decides and what it says when it cannot load; each case runs {@link OpenBlasLibrary#load}. */
class OpenBlasLibraryTest {

    private static String reason(OpenBlasLibrary.Outcome outcome) {
        return assertInstanceOf(OpenBlasLibrary.Failed.class, outcome).reason();
    }

    @Test
    void overrideToAMissingFileSaysSoAndWhatToDo(@TempDir Path dir) {
        Path missing = dir.resolve("nowhere/libopenblas.so");
        String reason = reason(OpenBlasLibrary.load(Map.of("EVA4J_OPENBLAS", missing.toString()), "Linux",
                "amd64", dir.toString()));
        assertEquals("EVA4J_OPENBLAS=" + missing + " but no such file exists; point it to libopenblas.so"
                + " (CBLAS + LAPACKE) or unset it to use the bundled OpenBLAS", reason);
    }

    @Test
    void overrideToAFolderSaysItIsNotAFile(@TempDir Path dir) {
        String reason = reason(OpenBlasLibrary.load(Map.of("EVA4J_OPENBLAS", dir.toString()), "Linux", "amd64",
                dir.toString()));
        assertTrue(reason.contains("that is not a file"), reason);
    }

    @Test
    void overrideToSomethingThatIsNoLibraryNamesTheFile(@TempDir Path dir) throws IOException {
        Path text = Files.writeString(dir.resolve("libopenblas.so"), "not an ELF file");
        String reason = reason(OpenBlasLibrary.load(Map.of("EVA4J_OPENBLAS", text.toString()), "Linux", "amd64",
                dir.toString()));
        assertTrue(reason.startsWith(text + " could not be loaded: "), reason);
        assertTrue(reason.endsWith("point EVA4J_OPENBLAS to a full OpenBLAS build (with LAPACKE) or unset it"),
                reason);
    }

    @Test
    void overrideToALibraryWithoutLapackeListsWhatIsMissing(@TempDir Path dir) {
        // libm is a real shared library that has none of the symbols
        Path libm = Path.of("/lib/x86_64-linux-gnu/libm.so.6");
        org.junit.jupiter.api.Assumptions.assumeTrue(Files.isRegularFile(libm));
        String reason = reason(OpenBlasLibrary.load(Map.of("EVA4J_OPENBLAS", libm.toString()), "Linux", "amd64",
                dir.toString()));
        assertTrue(reason.startsWith(libm + " lacks cblas_sgemm, LAPACKE_sgesdd"), reason);
    }

    @Test
    void otherPlatformsAreToldToBringTheirOwn(@TempDir Path dir) {
        String reason = reason(OpenBlasLibrary.load(Map.of(), "Mac OS X", "aarch64", dir.toString()));
        assertTrue(reason.contains("only for linux-x86_64, not Mac OS X/aarch64"), reason);
        assertTrue(reason.contains("EVA4J_OPENBLAS=/path/to/libopenblas.so"), reason);
    }

    @Test
    void unwritableCacheIsAReasonNotACrash(@TempDir Path dir) throws IOException {
        Path file = Files.writeString(dir.resolve("cache-is-a-file"), "x"); // a folder cannot be created under it
        String reason = reason(OpenBlasLibrary.load(Map.of("EVA4J_CACHE", file.toString()), "Linux", "amd64",
                dir.toString()));
        assertTrue(reason.startsWith("could not extract the bundled OpenBLAS into " + file.resolve("native")), reason);
        assertTrue(reason.contains("set EVA4J_CACHE to a writable folder"), reason);
    }

    @Test
    void cacheFolderComesFromEva4jCacheOrHome() {
        assertEquals(Path.of("/tmp/c"), OpenBlasLibrary.cacheRoot(Map.of("EVA4J_CACHE", "/tmp/c"), "/home/u"));
        assertEquals(Path.of("/home/u/.cache/eva4j"), OpenBlasLibrary.cacheRoot(Map.of(), "/home/u"));
    }

    @Test
    void versionIsReadFromTheBytedecoArtifact() {
        assertEquals("0.3.31-1.5.13", OpenBlasLibrary.bundledVersion());
    }

    @Test
    void bundledLibraryLoadsFromAFreshCache(@TempDir Path dir) {
        org.junit.jupiter.api.Assumptions.assumeTrue(System.getProperty("os.arch").equals("amd64"));
        OpenBlasLibrary.Outcome outcome = OpenBlasLibrary.load(Map.of("EVA4J_CACHE", dir.toString()), "Linux",
                "amd64", "/nonexistent");
        OpenBlasLibrary.Loaded loaded = assertInstanceOf(OpenBlasLibrary.Loaded.class, outcome);
        assertEquals(dir.resolve("native/openblas-0.3.31-1.5.13-linux-x86_64/libopenblas.so.0"), loaded.path());
        assertTrue(loaded.detail().startsWith("OpenBLAS 0.3.31"), loaded.detail());
        assertTrue(loaded.lookup().find("cblas_sgemm").isPresent());
    }

    @Test
    void ilp64BuildsAreRefusedFromTheirConfigString() {
        for (String ilp64 : java.util.List.of(
                "OpenBLAS 0.3.28 USE64BITINT DYNAMIC_ARCH NO_AFFINITY Haswell MAX_THREADS=64",
                "OpenBLAS 0.3.26 USE64BITINT USE_OPENMP Zen MAX_THREADS=256",
                "USE64BITINT DYNAMIC_ARCH NO_AFFINITY Sandybridge MAX_THREADS=128")) { // before 0.3.x: no version
            String problem = OpenBlasLibrary.integerWidthProblem(ilp64);
            assertTrue(problem != null && problem.contains("ILP64") && problem.contains(ilp64), ilp64 + ": " + problem);
        }
        for (String lp64 : java.util.List.of(
                "OpenBLAS 0.3.31 DYNAMIC_ARCH NO_AFFINITY Cooperlake MAX_THREADS=64", // the bundled build
                "OpenBLAS 0.3.20 DYNAMIC_ARCH NO_AFFINITY Haswell MAX_THREADS=64",
                "OpenBLAS 0.3.21 NO_AFFINITY USE_OPENMP SkylakeX MAX_THREADS=128",
                "OpenBLAS 0.3.28 NO_AFFINITY Haswell SINGLE_THREADED",
                "OpenBLAS")) { // no openblas_get_config: nothing to tell
            assertEquals(null, OpenBlasLibrary.integerWidthProblem(lp64), lp64);
        }
    }

    /**
     * End to end through {@link OpenBlasLibrary#load}: a library with every symbol the backend needs whose
     * {@code openblas_get_config} reports USE64BITINT (compiled here with cc) is refused, and the same library saying
     * LP64 is accepted. Skipped without a C compiler.
     */
    @Test
    void anIlp64LibraryNamedByTheOverrideIsRefused(@TempDir Path dir) throws Exception {
        assumeTrue(new ProcessBuilder("cc", "--version").start().waitFor() == 0, "no C compiler");
        for (boolean ilp64 : new boolean[] {true, false}) {
            StringBuilder c = new StringBuilder();
            for (String symbol : OpenBlasLibrary.REQUIRED_SYMBOLS) c.append("void ").append(symbol).append("(void) {}\n");
            c.append("const char *openblas_get_config(void) { return \"OpenBLAS 0.3.28 ")
                    .append(ilp64 ? "USE64BITINT " : "").append("DYNAMIC_ARCH NO_AFFINITY Haswell MAX_THREADS=64\"; }\n");
            Path src = Files.writeString(dir.resolve("fake" + ilp64 + ".c"), c.toString());
            Path lib = dir.resolve("libfake" + ilp64 + ".so");
            Process cc = new ProcessBuilder("cc", "-shared", "-fPIC", "-o", lib.toString(), src.toString())
                    .redirectErrorStream(true).start();
            String log = new String(cc.getInputStream().readAllBytes());
            assertEquals(0, cc.waitFor(), log);
            OpenBlasLibrary.Outcome outcome = OpenBlasLibrary.load(Map.of("EVA4J_OPENBLAS", lib.toString()), "Linux",
                    "amd64", dir.toString());
            if (ilp64) {
                String reason = reason(outcome);
                assertTrue(reason.startsWith(lib + " is an ILP64 build"), reason);
                assertTrue(reason.endsWith("point EVA4J_OPENBLAS to a full OpenBLAS build (with LAPACKE) or unset it"),
                        reason);
            } else {
                assertInstanceOf(OpenBlasLibrary.Loaded.class, outcome);
            }
        }
    }
}
