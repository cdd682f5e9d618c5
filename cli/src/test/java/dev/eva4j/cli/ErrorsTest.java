package dev.eva4j.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.eva4j.api.safetensors.SafetensorsFile;
import dev.eva4j.spi.InvalidInputException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** Exit codes: a user mistake is one line and 2, a bug is 1 with its stack trace in a file and a request to report. */
class ErrorsTest {
    @TempDir
    Path tmp;

    @Command(name = "fails")
    static final class Fails implements Callable<Integer> {
        final RuntimeException toThrow;

        Fails(RuntimeException toThrow) {
            this.toThrow = toThrow;
        }

        @Override
        public Integer call() {
            throw toThrow;
        }
    }

    private static CliRun run(RuntimeException e) {
        StringWriter out = new StringWriter(), err = new StringWriter();
        CommandLine cli = Errors.configure(new CommandLine(new Fails(e)));
        cli.setOut(new PrintWriter(out, true));
        cli.setErr(new PrintWriter(err, true));
        int exit = cli.execute();
        return new CliRun(exit, out.toString(), err.toString());
    }

    @Test
    void anInternalFaultIsExit1WithTheTraceInAFile() throws Exception {
        // what FFM throws for a misaligned float access: an IllegalArgumentException that is nobody's input mistake
        CliRun r = run(new IllegalArgumentException("Misaligned access at address: 140234567891"));
        assertEquals(1, r.exit(), r.err());
        assertTrue(r.err().contains("internal error: java.lang.IllegalArgumentException: Misaligned access"), r.err());
        assertTrue(r.err().contains("please report it"), r.err());
        Matcher m = Pattern.compile("stack trace in (\\S+)").matcher(r.err());
        assertTrue(m.find(), r.err());
        Path trace = Path.of(m.group(1));
        try {
            String text = Files.readString(trace);
            assertTrue(text.contains("Misaligned access") && text.contains("\tat dev.eva4j.cli.ErrorsTest"), text);
        } finally {
            Files.deleteIfExists(trace);
        }
        assertFalse(r.err().contains("\tat "), "the trace goes to the file, not the terminal");

        CliRun npe = run(new NullPointerException());
        assertEquals(1, npe.exit());
        Matcher m2 = Pattern.compile("stack trace in (\\S+)").matcher(npe.err());
        assertTrue(m2.find(), npe.err());
        Files.deleteIfExists(Path.of(m2.group(1)));
    }

    @Test
    void aUserMistakeIsOneLineAndExit2() {
        CliRun r = run(new InvalidInputException("--rank must be >= 1, got 0"));
        assertEquals(2, r.exit());
        assertEquals("fails: --rank must be >= 1, got 0", r.err().strip());
        CliRun u = run(new UserException("--out is a file"));
        assertEquals(2, u.exit());
        assertEquals("fails: --out is a file", u.err().strip());
        CliRun io = run(new java.io.UncheckedIOException(new java.nio.file.NoSuchFileException("/nope")));
        assertEquals(2, io.exit());
        assertEquals("fails: no such file or folder: /nope", io.err().strip());
    }

    /**
     * The case end to end: init --activations over files whose F32 tensors are unaligned (a valid header
     * length) works and gives the same adapter as the aligned files.
     */
    @Test
    void initOnUnalignedActivationsGivesTheAlignedResult() throws Exception {
        Path aligned = ActivationFixtures.write(tmp.resolve("aligned"), 6, 200, 7);
        Path unaligned = Files.createDirectories(tmp.resolve("unaligned"));
        try (Stream<Path> files = Files.list(aligned)) {
            for (Path f : files.sorted().toList()) padHeader(f, unaligned.resolve(f.getFileName()), 3);
        }
        try (SafetensorsFile f = SafetensorsFile.open(unaligned.resolve("batch-0000.safetensors"))) {
            assertNotEquals(0, f.raw(ActivationFixtures.Q).address() % 4, "the fixture must be unaligned");
        }
        List<float[]> results = new java.util.ArrayList<>();
        for (Path acts : List.of(aligned, unaligned)) {
            Path out = tmp.resolve("adapter-" + acts.getFileName());
            CliRun run = CliRun.of("init", "--activations", acts.toString(), "--out", out.toString(), "--rank", "4",
                    "--svd", "exact", "--max-steps", "6", "--accept-unconverged");
            assertEquals(0, run.exit(), run.err());
            try (SafetensorsFile w = SafetensorsFile.open(out.resolve("adapter_model.safetensors"))) {
                for (String name : w.tensorNames()) results.add(w.readFloats(name));
            }
        }
        assertEquals(0, results.size() % 2);
        int half = results.size() / 2;
        for (int i = 0; i < half; i++) assertArrayEquals(results.get(i), results.get(half + i));
    }

    /** A copy of a safetensors file with spaces added to its header so that the data starts at 8k + misalign. */
    static void padHeader(Path from, Path to, int misalign) throws Exception {
        byte[] all = Files.readAllBytes(from);
        int n = (int) ByteBuffer.wrap(all, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        String json = new String(all, 8, n, StandardCharsets.UTF_8).strip();
        int len = json.getBytes(StandardCharsets.UTF_8).length;
        byte[] header = (json + " ".repeat(Math.floorMod(misalign - (8 + len), 8))).getBytes(StandardCharsets.UTF_8);
        ByteBuffer out = ByteBuffer.allocate(8 + header.length + all.length - 8 - n).order(ByteOrder.LITTLE_ENDIAN);
        out.putLong(header.length).put(header).put(Arrays.copyOfRange(all, 8 + n, all.length));
        Files.write(to, out.array());
    }
}
