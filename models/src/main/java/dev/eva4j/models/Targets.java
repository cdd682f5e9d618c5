package dev.eva4j.models;

import dev.eva4j.spi.InvalidInputException;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * Chooses target linear layers as PEFT's {@code target_modules} does: a list of names matches a module whose path
 * equals a name or ends with "." + name ({@code q_proj,v_proj}); a single {@code re:REGEX} must match the whole path;
 * {@code all-linear} (the default) takes every linear layer of the blocks.
 */
public final class Targets {
    private Targets() {}

    public static List<LinearModule> select(List<LinearModule> linears, String spec) {
        if (spec == null || spec.isBlank() || spec.strip().equals("all-linear")) return List.copyOf(linears);
        List<LinearModule> out = new ArrayList<>();
        String s = spec.strip();
        if (s.startsWith("re:")) {
            Pattern p;
            try {
                p = Pattern.compile(s.substring(3));
            } catch (PatternSyntaxException e) {
                throw new InvalidInputException("--targets: bad regular expression: " + e.getDescription());
            }
            for (LinearModule l : linears) if (p.matcher(l.path()).matches()) out.add(l);
        } else {
            List<String> names = List.of(s.split(","));
            for (String n : names) {
                if (n.isBlank()) throw new InvalidInputException("--targets: empty name in '" + spec + "'");
            }
            for (LinearModule l : linears) {
                for (String n : names) {
                    String name = n.strip();
                    if (l.path().equals(name) || l.path().endsWith("." + name)) {
                        out.add(l);
                        break;
                    }
                }
            }
        }
        if (out.isEmpty()) {
            throw new InvalidInputException("--targets '" + spec + "' matches no linear layer (e.g. "
                    + linears.stream().limit(3).map(LinearModule::path).toList() + ")");
        }
        return out;
    }
}
