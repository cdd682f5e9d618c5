package dev.eva4j.models;

import java.util.List;

/** Twenty varied sentences for reference checks: short, long (> 128 tokens), punctuation, non-ASCII, numbers. */
public final class Sentences {
    private Sentences() {}

    public static final List<String> TWENTY = List.of(
            "Hi.",
            "The quick brown fox jumps over the lazy dog.",
            "What?!... No -- really?! (Yes; truly.) #hashtag @user [brackets] {braces} <angle> \"quotes\" 'single'",
            "Déjà vu: naïve café owners in Zürich served crème brûlée to São Paulo's señoritas.",
            "東京は日本の首都です。北京是中国的首都。서울은 한국의 수도입니다.",
            "Привет, мир! Γειά σου Κόσμε! مرحبا بالعالم! שלום עולם!",
            "Emoji test: 😀🚀🎉 and symbols ™ © ® ∑ ∞ ≠ ≤ ≥ → ←.",
            "In 2023, revenue grew 12.5% to $3,456,789.01, while costs fell by 7/8 to 0.0001 per unit (±3σ).",
            "Call +1 (555) 123-4567 before 10:30 a.m. on 2024-02-29 or e-mail john.doe@example.com.",
            "    leading and trailing whitespace, \t tabs \n and newlines   ",
            "ALL CAPS SENTENCE SHOUTING ABOUT UNREMARKABLE THINGS",
            "supercalifragilisticexpialidocious antidisestablishmentarianism pneumonoultramicroscopicsilicovolcanoconiosis",
            "a",
            "The mitochondria is the powerhouse of the cell, producing ATP through oxidative phosphorylation.",
            String.join(" ", java.util.Collections.nCopies(40, "The long sentence keeps going and going,"))
                    + " until it is far beyond one hundred and twenty-eight tokens.",
            ("Call me Ishmael. Some years ago—never mind how long precisely—having little or no money in my purse, and "
                    + "nothing particular to interest me on shore, I thought I would sail about a little and see the watery "
                    + "part of the world. It is a way I have of driving off the spleen and regulating the circulation. "
                    + "Whenever I find myself growing grim about the mouth; whenever it is a damp, drizzly November in my "
                    + "soul; whenever I find myself involuntarily pausing before coffin warehouses, and bringing up the rear "
                    + "of every funeral I meet; then, I account it high time to get to sea as soon as I can."),
            "1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 3.14159 2.71828 1e-10 0x1F 1,000,000",
            "Is this the real life? Is this just fantasy?",
            "C++, C#, F#, Node.js, and Objective-C: languages_with_odd-names/and\\paths.",
            "Sentence embeddings map text to vectors; similar meanings land close together in that space.");
}
