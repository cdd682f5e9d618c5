package dev.eva4j.api.safetensors;

import java.util.Collection;
import java.util.NoSuchElementException;

/** The error for a tensor name that is not there, with the closest existing name as a hint. */
final class Lookup {
    private static final int MAX_COMPARED_CHARS = 200;
    private static final int MAX_COMPARED_NAMES = 20_000;

    private Lookup() {}

    static NoSuchElementException missing(String where, String name, Collection<String> names) {
        String hint = names.isEmpty() ? "it holds no tensors"
                : names.size() > MAX_COMPARED_NAMES ? "it holds " + names.size() + " tensors"
                : "it holds " + names.size() + " tensors; closest name: " + Text.quote(closest(name, names));
        return new NoSuchElementException(Text.oneLine(where + ": no tensor " + Text.quote(name) + " (" + hint + ")"));
    }

    private static String closest(String name, Collection<String> names) {
        String best = null;
        int bestDistance = Integer.MAX_VALUE;
        for (String candidate : names) {
            int d = distance(clip(name), clip(candidate));
            if (d < bestDistance) {
                best = candidate;
                bestDistance = d;
            }
        }
        return best;
    }

    private static String clip(String s) {
        return s.length() > MAX_COMPARED_CHARS ? s.substring(0, MAX_COMPARED_CHARS) : s;
    }

    /** Levenshtein distance, two rows. */
    private static int distance(String a, String b) {
        int[] prev = new int[b.length() + 1];
        int[] cur = new int[b.length() + 1];
        for (int j = 0; j <= b.length(); j++) {
            prev[j] = j;
        }
        for (int i = 1; i <= a.length(); i++) {
            cur[0] = i;
            for (int j = 1; j <= b.length(); j++) {
                int sub = prev[j - 1] + (a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1);
                cur[j] = Math.min(sub, Math.min(prev[j], cur[j - 1]) + 1);
            }
            int[] tmp = prev;
            prev = cur;
            cur = tmp;
        }
        return prev[b.length()];
    }
}
