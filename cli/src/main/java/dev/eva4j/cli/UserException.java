package dev.eva4j.cli;

/** A mistake the user can fix; the CLI prints the message as one line and exits with code 2. */
final class UserException extends dev.eva4j.spi.InvalidInputException {
    UserException(String message) {
        super(message);
    }
}
