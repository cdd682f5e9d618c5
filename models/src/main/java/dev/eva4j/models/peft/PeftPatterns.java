package dev.eva4j.models.peft;

import dev.eva4j.spi.InvalidInputException;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * How PEFT matches the keys of {@code rank_pattern} / {@code alpha_pattern} and a regex {@code target_modules}
 * against module names, read the way PEFT reads them, so an adapter written by Python resolves to the same per-module
 * ranks and alphas here.
 *
 * <ul>
 *   <li>A pattern key is a regular expression that must match the end of the module name at a dot boundary:
 *       Python's {@code re.match(rf"(.*\.)?({key})$", name)}; the first key (in the file's order) that matches wins.
 *       A plain module path or suffix ({@code q_proj}, {@code model.layers.0.self_attn.q_proj}) thus matches as
 *       eva4j's {@code LoraSettings} matches it.</li>
 *   <li>A string {@code target_modules} is a regular expression that must match the whole module name
 *       ({@code re.fullmatch}).</li>
 * </ul>
 */
final class PeftPatterns {
    private PeftPatterns() {}

    /** The keys of {@code pattern} compiled as PEFT applies them, in order; {@code source} names the file and field. */
    static <V> Map<Pattern, V> compile(Map<String, V> pattern, String source) {
        var out = new LinkedHashMap<Pattern, V>();
        for (var e : pattern.entrySet()) {
            try {
                out.put(Pattern.compile("(.*\\.)?(" + e.getKey() + ")"), e.getValue());
            } catch (PatternSyntaxException ex) {
                throw new InvalidInputException(source + ": key '" + e.getKey() + "' is not a valid regular "
                        + "expression (" + ex.getDescription() + ")");
            }
        }
        return out;
    }

    /** The value of the first compiled key that matches {@code module}, or null. */
    static <V> V lookup(Map<Pattern, V> compiled, String module) {
        for (var e : compiled.entrySet()) {
            if (e.getKey().matcher(module).matches()) return e.getValue();
        }
        return null;
    }

    /**
     * Per-module values for exactly the given modules where the matching pattern gives something other than
     * {@code global}: PEFT's patterns resolved against the adapter's own module names, keyed by full module path.
     */
    static <V> Map<String, V> expand(Map<Pattern, V> compiled, List<String> modules, V global) {
        var out = new LinkedHashMap<String, V>();
        for (String m : modules) {
            V v = lookup(compiled, m);
            if (v != null && !v.equals(global)) out.put(m, v);
        }
        return out;
    }

    /** A regex target_modules as a compiled pattern; one line naming the file when it is not valid. */
    static Pattern targetRegex(String regex, String source) {
        try {
            return Pattern.compile(regex);
        } catch (PatternSyntaxException e) {
            throw new InvalidInputException(source + ": target_modules '" + regex + "' is not a valid regular "
                    + "expression (" + e.getDescription() + ")");
        }
    }
}
