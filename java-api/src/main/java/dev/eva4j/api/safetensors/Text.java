package dev.eva4j.api.safetensors;

import java.nio.file.Path;

/** Helpers that keep error messages on one line and readable, whatever bytes a corrupt file holds. */
final class Text {
    private static final int MAX_QUOTED_CHARS = 120;

    private Text() {}

    /** The file's name (not its folder), for messages. */
    static String fileLabel(Path file) {
        Path name = file.getFileName();
        return name == null ? file.toString() : name.toString();
    }

    /** {@code 'name'} with control characters escaped and long names shortened. */
    static String quote(String s) {
        String shown = s.length() > MAX_QUOTED_CHARS ? s.substring(0, MAX_QUOTED_CHARS) + "..." : s;
        return "'" + escapeControls(shown) + "'";
    }

    /** Replaces every control character (line breaks included) by a visible escape. */
    static String oneLine(String s) {
        return escapeControls(s);
    }

    private static String escapeControls(String s) {
        StringBuilder out = null;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            boolean control = Character.isISOControl(c) || c == '\u2028' || c == '\u2029' || c == '\u0085';
            if (control && out == null) {
                out = new StringBuilder(s.length() + 8).append(s, 0, i);
            }
            if (out != null) {
                if (control) {
                    out.append(switch (c) {
                        case '\n' -> "\\n";
                        case '\r' -> "\\r";
                        case '\t' -> "\\t";
                        default -> String.format("\\u%04x", (int) c);
                    });
                } else {
                    out.append(c);
                }
            }
        }
        return out == null ? s : out.toString();
    }
}
