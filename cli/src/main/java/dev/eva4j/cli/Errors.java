package dev.eva4j.cli;

import dev.eva4j.api.eva.EvaNotConvergedException;
import dev.eva4j.spi.InvalidInputException;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import picocli.CommandLine;

/**
 * Turns failures into exit codes.
 * <ul>
 *   <li>A user mistake prints one line — "eva4j CMD: problem" — and exits 2: a bad option, an
 *       {@link InvalidInputException} (thrown wherever eva4j validates a file, a setting or data; provider choices
 *       and the CLI's own checks are of that kind too), EVA not converging within {@code --max-steps}, and I/O
 *       failures (missing file, permission denied, disk full).</li>
 *   <li>Anything else is a bug, a plain {@code IllegalArgumentException} included (an internal argument check that
 *       failed): one line naming the exception, the stack trace written to a file in the temporary folder (printed
 *       instead if that cannot be written), a request to report it, and exit code 1.</li>
 * </ul>
 */
final class Errors {
    static final int USER_ERROR = 2;
    static final int BUG = 1;

    private Errors() {}

    static CommandLine configure(CommandLine cli) {
        cli.setParameterExceptionHandler((ex, args) -> {
            CommandLine cmd = ex.getCommandLine();
            cmd.getErr().println(cmd.getCommandSpec().qualifiedName() + ": " + ex.getMessage()
                    + " (see " + cmd.getCommandSpec().qualifiedName() + " --help)");
            return USER_ERROR;
        });
        cli.setExecutionExceptionHandler((ex, cmd, parseResult) -> {
            String name = cmd.getCommandSpec().qualifiedName();
            String message = userMessage(ex);
            if (message != null) {
                cmd.getErr().println(name + ": " + message);
                return USER_ERROR;
            }
            reportBug(cmd.getErr(), name, ex);
            return BUG;
        });
        return cli;
    }

    /** The one-line message for a user mistake, or null when the exception is a bug. */
    static String userMessage(Throwable ex) {
        if (ex instanceof UncheckedIOException u) ex = u.getCause();
        if (ex instanceof InvalidInputException || ex instanceof EvaNotConvergedException) return ex.getMessage();
        if (ex instanceof NoSuchFileException f) return "no such file or folder: " + f.getFile();
        if (ex instanceof AccessDeniedException f) return "permission denied: " + f.getFile();
        if (ex instanceof FileSystemException f) {
            return f.getFile() + ": " + (f.getReason() != null ? f.getReason() : f.getClass().getSimpleName());
        }
        if (ex instanceof IOException io) return io.getMessage() != null ? io.getMessage() : io.toString();
        return null;
    }

    /** A bug: what it was in one line, where the stack trace is, and a request to report it. */
    static void reportBug(PrintWriter err, String command, Throwable ex) {
        String trace = stackTrace(ex);
        Path file = null;
        try {
            file = Files.createTempFile("eva4j-error-", ".txt");
            Files.writeString(file, command + " (eva4j " + VersionProvider.version() + ", Java "
                    + Runtime.version() + ")" + System.lineSeparator() + trace, StandardCharsets.UTF_8);
        } catch (IOException | RuntimeException e) {
            file = null;
        }
        err.println(command + ": internal error: " + oneLine(ex.toString()));
        if (file != null) {
            err.println(command + ": this is a bug in eva4j, not a mistake of yours; please report it with the stack "
                    + "trace in " + file);
        } else {
            err.print(trace);
            err.println(command + ": this is a bug in eva4j, not a mistake of yours; please report it with the stack "
                    + "trace above");
        }
        err.flush();
    }

    private static String stackTrace(Throwable ex) {
        StringWriter s = new StringWriter();
        ex.printStackTrace(new PrintWriter(s, true));
        return s.toString();
    }

    private static String oneLine(String s) {
        int nl = s.indexOf('\n');
        return nl < 0 ? s : s.substring(0, nl).stripTrailing() + " ...";
    }
}
