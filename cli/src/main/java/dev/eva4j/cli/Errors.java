package dev.eva4j.cli;

import dev.eva4j.api.providers.ProviderSelectionException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import picocli.CommandLine;

/**
 * Turns failures into exit codes: a user mistake (bad option, bad path, bad file, unusable backend) prints one line
 * — "eva4j CMD: problem" — and exits 2; anything else is a bug and prints its stack trace with exit code 1.
 */
final class Errors {
    static final int USER_ERROR = 2;

    private Errors() {}

    static CommandLine configure(CommandLine cli) {
        cli.setParameterExceptionHandler((ex, args) -> {
            CommandLine cmd = ex.getCommandLine();
            cmd.getErr().println(cmd.getCommandSpec().qualifiedName() + ": " + ex.getMessage()
                    + " (see " + cmd.getCommandSpec().qualifiedName() + " --help)");
            return USER_ERROR;
        });
        cli.setExecutionExceptionHandler((ex, cmd, parseResult) -> {
            String message = userMessage(ex);
            if (message == null) throw ex;
            cmd.getErr().println(cmd.getCommandSpec().qualifiedName() + ": " + message);
            return USER_ERROR;
        });
        return cli;
    }

    /** The one-line message for a user mistake, or null when the exception is a bug. */
    static String userMessage(Throwable ex) {
        if (ex instanceof UncheckedIOException u) ex = u.getCause();
        if (ex instanceof ProviderSelectionException p) return p.getMessage(); // problem + the provider table
        if (ex instanceof UserException || ex instanceof IllegalArgumentException
                || ex instanceof dev.eva4j.api.eva.EvaNotConvergedException) {
            return ex.getMessage();
        }
        if (ex instanceof NoSuchFileException f) return "no such file or folder: " + f.getFile();
        if (ex instanceof AccessDeniedException f) return "permission denied: " + f.getFile();
        if (ex instanceof FileSystemException f) {
            return f.getFile() + ": " + (f.getReason() != null ? f.getReason() : f.getClass().getSimpleName());
        }
        if (ex instanceof IOException io) return io.getMessage() != null ? io.getMessage() : io.toString();
        return null;
    }
}
