package dev.eva4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code ci/find-jdk.sh}, which {@code ./eva4j}, {@code ci/test.sh} and CI source: a JDK older than 25 is passed
 * over even when JAVA_HOME names it (eva4j is compiled for release 25), a JDK 25 is taken.
 */
class FindJdkScriptTest {
    private static final Path SCRIPT = Path.of("..", "ci", "find-jdk.sh").toAbsolutePath().normalize();

    @TempDir
    Path tmp;

    @Test
    void aJdkOlderThan25IsPassedOverEvenAsJavaHome() throws Exception {
        for (String version : new String[] {"22.0.2", "24.0.1", "17.0.12"}) {
            Path old = fakeJdk("jdk-" + version, version);
            String[] found = findJdk(old);
            if (found[0].equals("0")) {
                assertNotEquals(old.toString(), found[1], "JDK " + version + " must not be chosen");
                assertTrue(major(Path.of(found[1])) >= 25, "chose " + found[1]);
            } else {
                assertEquals("2", found[0]);
                assertTrue(found[2].contains("no JDK >= 25 found"), found[2]);
            }
        }
    }

    @Test
    void aJdk25AsJavaHomeIsTaken() throws Exception {
        Path jdk = fakeJdk("jdk-25", "25.0.1");
        String[] found = findJdk(jdk);
        assertEquals("0", found[0], found[2]);
        assertEquals(jdk.toString(), found[1]);
    }

    /** Runs eva4j_find_jdk with JAVA_HOME = jdk: {exit code, the JAVA_HOME it exported, stderr}. */
    private static String[] findJdk(Path jdk) throws IOException, InterruptedException {
        ProcessBuilder pb = new ProcessBuilder("bash", "-c",
                ". \"$1\"; eva4j_find_jdk; rc=$?; echo \"$rc\"; echo \"$JAVA_HOME\"", "find-jdk", SCRIPT.toString());
        pb.environment().remove("EVA4J_JAVA_HOME");
        pb.environment().put("JAVA_HOME", jdk.toString());
        Process p = pb.start();
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        String[] out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).split("\n");
        String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        return new String[] {out[0].strip(), out.length > 1 ? out[1].strip() : "", err};
    }

    /** A folder that looks like a JDK of the given version: a release file and executable bin/java, bin/javac. */
    private Path fakeJdk(String name, String version) throws IOException {
        Path home = tmp.resolve(name);
        Files.createDirectories(home.resolve("bin"));
        Files.writeString(home.resolve("release"), "JAVA_VERSION=\"" + version + "\"\n");
        for (String tool : new String[] {"java", "javac"}) {
            Path exe = home.resolve("bin").resolve(tool);
            Files.writeString(exe, "#!/bin/sh\necho 'openjdk version \"" + version + "\"' >&2\n");
            Files.setPosixFilePermissions(exe, PosixFilePermissions.fromString("rwxr-xr-x"));
        }
        return home;
    }

    private static int major(Path jdk) throws IOException {
        for (String line : Files.readAllLines(jdk.resolve("release"))) {
            if (line.startsWith("JAVA_VERSION=\"")) {
                String v = line.substring("JAVA_VERSION=\"".length());
                return Integer.parseInt(v.substring(0, v.indexOf('.') > 0 ? v.indexOf('.') : v.indexOf('"')));
            }
        }
        return -1;
    }
}
