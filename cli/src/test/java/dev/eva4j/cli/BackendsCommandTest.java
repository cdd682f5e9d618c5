package dev.eva4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.eva4j.cpu.openblas.OpenBlasBackend;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code eva4j backends}: the providers the Guice wiring sees, the choice per kind, compute capabilities. */
class BackendsCommandTest {
    private static final String BEST_COMPUTE = new OpenBlasBackend().isAvailable() ? "openblas" : "java";

    @TempDir
    Path tmp;

    private static String row(CliRun run, String kind, String name) {
        return run.out().lines().filter(l -> l.substring(2).startsWith(kind) && l.contains("  " + name + "  "))
                .findFirst().orElseThrow(() -> new AssertionError("no " + kind + " row " + name + " in:\n" + run.out()));
    }

    @Test
    void listsEveryProviderMarksTheChoicesAndShowsCapabilities() {
        CliRun run = CliRun.of("backends");
        assertEquals(0, run.exit(), run.err());
        assertTrue(run.out().lines().findFirst().orElseThrow().contains("capabilities"), run.out());
        for (String name : List.of("openblas", "java", "cuda")) row(run, "compute backend", name);
        assertTrue(row(run, "compute backend", "java").contains("host-memory "), run.out());
        assertTrue(row(run, "compute backend", "openblas").contains("host-memory,native-linear-algebra"), run.out());
        assertTrue(row(run, "compute backend", BEST_COMPUTE).startsWith("* "), run.out());
        assertTrue(row(run, "compute backend", "cuda").startsWith("  "), run.out());
        if (row(run, "compute backend", "cuda").contains("unavailable")) { // the CUDA library report follows the table
            assertTrue(run.out().contains("libcublas.so.13: ") && run.out().contains("searched:")
                    && run.out().contains("dynamic loader"), run.out());
        }
        assertTrue(row(run, "SVD backend", "cpu").startsWith("* "), run.out());
        assertTrue(row(run, "rank allocator", "eva").startsWith("* "), run.out());
        assertTrue(row(run, "rank allocator", "uniform").startsWith("  "), run.out());
        row(run, "model loader", "hf");
        row(run, "model loader", "onnx");
        assertTrue(run.out().contains("compute backend in use: " + BEST_COMPUTE + " (best available)"), run.out());
        assertTrue(run.out().contains("SVD backend in use: cpu (best available, on the " + BEST_COMPUTE
                + " compute backend)"), run.out());
        assertTrue(run.out().contains("rank allocator in use: eva (best available)"), run.out());
        assertFalse(run.out().contains("activation hook"), run.out());
    }

    @Test
    void theSvdBackendFollowsTheNamedComputeBackend() {
        CliRun run = CliRun.of("backends", "--backend", "java");
        assertEquals(0, run.exit(), run.err());
        assertTrue(row(run, "compute backend", "java").startsWith("* "), run.out());
        assertTrue(run.out().contains("compute backend in use: java (as requested)"), run.out());
        assertTrue(run.out().contains("SVD backend in use: cpu (best available, on the java compute backend)"),
                run.out());
    }

    @Test
    void aNamedSvdBackendIsTakenAsItIs() {
        CliRun run = CliRun.of("backends", "--backend", "java", "--svd-backend", "cpu", "--allocator", "uniform");
        assertEquals(0, run.exit(), run.err());
        assertTrue(run.out().contains("SVD backend in use: cpu (as requested)"), run.out());
        assertTrue(run.out().contains("rank allocator in use: uniform (as requested)"), run.out());
        assertTrue(row(run, "rank allocator", "uniform").startsWith("* "), run.out());
    }

    @Test
    void unknownOrUnusableProvidersAreOneLineUserErrors() {
        CliRun unknown = CliRun.of("backends", "--backend", "no-such-backend");
        assertEquals(2, unknown.exit(), unknown.err());
        assertEquals("eva4j backends: no compute backend named 'no-such-backend'", unknown.errorLine());
        CliRun cuda = CliRun.of("backends", "--backend", "cuda");
        assertEquals(2, cuda.exit(), cuda.err());
        assertTrue(cuda.errorLine().startsWith("eva4j backends: compute backend 'cuda' cannot work here: "),
                cuda.err());
        CliRun svd = CliRun.of("backends", "--svd-backend", "nope");
        assertEquals(2, svd.exit(), svd.err());
        assertEquals("eva4j backends: no SVD backend named 'nope'", svd.errorLine());
    }

    /** Other commands get their providers the same way: a named backend that cannot work stops them up front. */
    @Test
    void initWithAnUnknownBackendFailsWithTheProviderTable() throws Exception {
        Path acts = ActivationFixtures.write(tmp.resolve("acts"), 12, 200, 1);
        CliRun run = CliRun.of("init", "--activations", acts.toString(), "--out", tmp.resolve("a").toString(),
                "--backend", "no-such-backend");
        assertEquals(2, run.exit(), run.err());
        List<String> lines = run.err().lines().toList();
        assertTrue(lines.contains("eva4j init: no compute backend named 'no-such-backend'"), run.err());
        assertTrue(run.err().contains("openblas") && run.err().contains("cuda"), run.err());
        assertFalse(java.nio.file.Files.exists(tmp.resolve("a")));
    }

    @Test
    void initRunsItsSvdsOnTheNamedComputeBackend() throws Exception {
        Path acts = ActivationFixtures.write(tmp.resolve("acts"), 12, 200, 1);
        CliRun run = CliRun.of("init", "--activations", acts.toString(), "--out", tmp.resolve("a").toString(),
                "--rank", "4", "--svd", "exact", "--backend", "java");
        assertEquals(0, run.exit(), run.err());
        assertTrue(run.err().contains("svd=exact on cpu (java)"), run.err());
    }
}
