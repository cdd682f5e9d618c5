package dev.eva4j.spi;

/**
 * The input a caller or user gave is wrong — a file (missing, corrupt, of the wrong kind), a setting out of range, data
 * that does not fit the model or the task — and the message says which and how, in one line. It is an
 * {@link IllegalArgumentException}, so Java callers may treat it as one; what sets it apart is that it is never a
 * bug: the {@code eva4j} command prints its message as one line and exits with code 2, while any other exception
 * (a plain {@code IllegalArgumentException} included) counts as a bug, exit code 1 with the stack trace.
 *
 * <p>Throw it where input is validated (parsers of files and settings, checks of options and data), and nowhere
 * else: argument checks of internal calls (kernel shapes, buffer sizes) stay plain {@code IllegalArgumentException}s.
 */
public class InvalidInputException extends IllegalArgumentException {
    public InvalidInputException(String message) {
        super(message);
    }

    public InvalidInputException(String message, Throwable cause) {
        super(message, cause);
    }
}
