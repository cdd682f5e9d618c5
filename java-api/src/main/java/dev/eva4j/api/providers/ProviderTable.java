package dev.eva4j.api.providers;

import java.util.List;
import java.util.Locale;
import java.util.function.Predicate;
import java.util.stream.Collectors;

/**
 * Formats provider rows as a fixed-width text table, as {@code eva4j backends} prints it: kind, name, priority,
 * status, the capabilities of compute backends (a column present when the table holds one) and the detail.
 */
public final class ProviderTable {
    private ProviderTable() {}

    public static String format(List<ProviderStatus> rows) {
        return format(rows, r -> false);
    }

    /** As {@link #format(List)}, marking the rows {@code inUse} accepts with a {@code *} before the kind. */
    public static String format(List<ProviderStatus> rows, Predicate<ProviderStatus> inUse) {
        if (rows.isEmpty()) return "  (none found on the class path)";
        boolean compute = rows.stream().anyMatch(r -> r.kind() == ProviderKind.COMPUTE);
        int nameW = 4, kindW = 4, capsW = 12;
        for (ProviderStatus r : rows) {
            nameW = Math.max(nameW, r.name().length());
            kindW = Math.max(kindW, r.kind().label().length());
            capsW = Math.max(capsW, capabilities(r).length());
        }
        StringBuilder sb = new StringBuilder();
        String fmt = "%s %-" + kindW + "s  %-" + nameW + "s  %8s  %-11s  " + (compute ? "%-" + capsW + "s  " : "%s")
                + "%s%n";
        sb.append(String.format(fmt, " ", "kind", "name", "priority", "status", compute ? "capabilities" : "",
                "detail"));
        for (ProviderStatus r : rows) {
            String status = r.broken() ? "broken" : r.available() ? "available" : "unavailable";
            String prio = r.broken() ? "-" : Integer.toString(r.priority());
            sb.append(String.format(fmt, inUse.test(r) ? "*" : " ", r.kind().label(), r.name(), prio, status,
                    compute ? capabilities(r) : "", r.reason()));
        }
        return sb.toString().stripTrailing();
    }

    /** "host-memory, native-linear-algebra"; "-" for none (and for other kinds than compute backends). */
    static String capabilities(ProviderStatus r) {
        if (r.capabilities().isEmpty()) return "-";
        return r.capabilities().stream().sorted().map(c -> c.name().toLowerCase(Locale.ROOT).replace('_', '-'))
                .collect(Collectors.joining(","));
    }
}
