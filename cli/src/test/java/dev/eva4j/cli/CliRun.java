package dev.eva4j.cli;

import java.io.PrintWriter;
import java.io.StringWriter;

/** Runs the CLI in-process and keeps what it printed. */
record CliRun(int exit, String out, String err) {
    static CliRun of(String... args) {
        StringWriter out = new StringWriter(), err = new StringWriter();
        int exit = Main.run(new PrintWriter(out, true), new PrintWriter(err, true), args);
        return new CliRun(exit, out.toString(), err.toString());
    }

    /** Lines of stderr that are not progress output. */
    String errorLine() {
        return err.lines().filter(l -> l.startsWith("eva4j")).reduce((a, b) -> b).orElse("");
    }
}
