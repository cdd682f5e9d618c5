package dev.eva4j.api.providers;

import java.util.List;

/** Formats provider rows as a fixed-width text table, as {@code eva4j backends} prints it. */
public final class ProviderTable {
    private ProviderTable() {}

    public static String format(List<ProviderStatus> rows) {
        if (rows.isEmpty()) return "  (none found on the class path)";
        int nameW = 4, kindW = 4;
        for (ProviderStatus r : rows) {
            nameW = Math.max(nameW, r.name().length());
            kindW = Math.max(kindW, r.kind().label().length());
        }
        StringBuilder sb = new StringBuilder();
        String fmt = "  %-" + kindW + "s  %-" + nameW + "s  %8s  %-11s  %s%n";
        sb.append(String.format(fmt, "kind", "name", "priority", "status", "detail"));
        for (ProviderStatus r : rows) {
            String status = r.broken() ? "broken" : r.available() ? "available" : "unavailable";
            String prio = r.broken() ? "-" : Integer.toString(r.priority());
            sb.append(String.format(fmt, r.kind().label(), r.name(), prio, status, r.reason()));
        }
        return sb.toString().stripTrailing();
    }
}
