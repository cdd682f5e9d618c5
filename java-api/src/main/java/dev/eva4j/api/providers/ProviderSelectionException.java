package dev.eva4j.api.providers;

/**
 * The user named a provider that does not exist or cannot work here, or no provider of a kind can. The message
 * names the problem on its first line and lists every provider of the kind with its status on the following ones.
 */
public final class ProviderSelectionException extends dev.eva4j.spi.InvalidInputException {
    private final String firstLine;

    ProviderSelectionException(String firstLine, String table) {
        super(firstLine + System.lineSeparator() + table);
        this.firstLine = firstLine;
    }

    /** The problem alone, without the table. */
    public String problem() {
        return firstLine;
    }
}
