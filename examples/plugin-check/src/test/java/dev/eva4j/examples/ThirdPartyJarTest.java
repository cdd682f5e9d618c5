package dev.eva4j.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The packaged eva4j CLI, run in a child JVM exactly as the launcher runs it: with the third-party example jars added
 * to its class path (a rank allocator, a compute backend), {@code eva4j backends} lists their providers; without
 * them, it does not. Nothing in eva4j names the examples.
 */
class ThirdPartyJarTest {
    private static final Path CLI = Path.of(System.getProperty("eva4j.cliDir"));
    private static final Path PLUGIN = Path.of(System.getProperty("eva4j.pluginJar"));
    private static final Path COMPUTE = Path.of(System.getProperty("eva4j.computeJar"));

    private static Result backends(boolean withPlugin, String... extra) throws IOException, InterruptedException {
        return backends(withPlugin, java.util.Map.of(), extra);
    }

    private static Result backends(boolean withPlugin, java.util.Map<String, String> env, String... extra)
            throws IOException, InterruptedException {
        String cp = CLI.resolve("eva4j-cli.jar") + File.pathSeparator + CLI.resolve("lib") + File.separator + "*"
                + (withPlugin ? File.pathSeparator + PLUGIN + File.pathSeparator + COMPUTE : "");
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED", "--add-modules", "jdk.incubator.vector",
                "-cp", cp, "dev.eva4j.cli.Main", "backends"));
        cmd.addAll(List.of(extra));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        pb.environment().putAll(env);
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "eva4j backends did not finish");
        return new Result(p.exitValue(), out);
    }

    record Result(int exit, String out) {}

    @Test
    void providerJarOnTheClassPathShowsUp() throws Exception {
        assertTrue(Files.isRegularFile(PLUGIN), "example jar not built: " + PLUGIN);
        assertTrue(Files.isRegularFile(COMPUTE), "example jar not built: " + COMPUTE);
        Result with = backends(true);
        assertEquals(0, with.exit(), with.out());
        assertTrue(with.out().lines().anyMatch(l -> l.contains("rank allocator") && l.contains("proportional")
                && l.contains("available")), with.out());
        assertTrue(with.out().lines().anyMatch(l -> l.contains("compute backend") && l.contains("naive-java")
                && l.contains(" available ") && l.contains(" host-memory ")), with.out());
        assertFalse(with.out().contains("compute backend in use: naive-java"), "lowest priority: " + with.out());
        Result without = backends(false);
        assertEquals(0, without.exit(), without.out());
        assertFalse(without.out().contains("proportional"), without.out());
        assertFalse(without.out().contains("naive-java"), without.out());
    }

    /** Named, the third-party compute backend is chosen; the SVD backend cannot run on it (no LAPACK) and says so. */
    @Test
    void theThirdPartyComputeBackendCanBeChosen() throws Exception {
        Result r = backends(true, "--backend", "naive-java");
        assertEquals(0, r.exit(), r.out());
        assertTrue(r.out().lines().anyMatch(l -> l.startsWith("* compute backend") && l.contains("naive-java")),
                r.out());
        assertTrue(r.out().contains("compute backend in use: naive-java (as requested)"), r.out());
        assertTrue(r.out().contains("SVD backend in use: cpu (best available; it does not run on the naive-java "
                + "compute backend)"), r.out());
    }

    @Test
    void withoutOpenBlasThePureJavaFallbackIsUsedAndTheReasonShown() throws Exception {
        java.util.Map<String, String> env = java.util.Map.of("EVA4J_OPENBLAS", "/nonexistent/libopenblas.so");
        Result r = backends(false, env);
        assertEquals(0, r.exit(), r.out());
        assertTrue(r.out().lines().anyMatch(l -> l.contains("openblas") && l.contains("unavailable")
                && l.contains("/nonexistent/libopenblas.so")), r.out());
        assertTrue(r.out().contains("compute backend in use: java (best available)"), r.out());
        Result named = backends(false, env, "--backend", "openblas");
        assertEquals(2, named.exit(), named.out());
        assertTrue(named.out().contains("compute backend 'openblas' cannot work here"), named.out());
    }

    @Test
    void unknownBackendIsAOneLineUserErrorWithExitCode2() throws Exception {
        Result r = backends(false, "--backend", "no-such-backend");
        assertEquals(2, r.exit(), r.out());
        assertTrue(r.out().contains("no compute backend named 'no-such-backend'"), r.out());
    }
}
