package dev.eva4j.models.tiny;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.List;

/**
 * A small Hugging Face {@code tokenizer.json}: a WordLevel model over a fixed word list (lower-cased, split on
 * whitespace and punctuation), its special tokens at ids 0.., and a template that adds them around a sequence.
 * Llama: [PAD] 0, [UNK] 1, [BOS] 2, [EOS] 3, template "[BOS] $A". BERT: [PAD] 0, [UNK] 1, [CLS] 2, [SEP] 3,
 * [MASK] 4, template "[CLS] $A [SEP]". The remaining ids are punctuation, common English words, then w0, w1, ...
 */
public final class TinyTokenizer {
    /** The smallest vocabulary: the BERT special tokens and one word. */
    public static final int MIN_VOCAB = 6;
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String[] WORDS = (". , ! ? ' - : ; the of and to a in is it you that he was for on are with as i his "
            + "they be at one have this from or had by not word but what some we can out other were all there when up "
            + "use your how said an each she which do their time if will way about many then them write would like so "
            + "these her long make thing see him two has look more day could go come did number sound no most people "
            + "my over know water than call first who may down side been now find any new work part take get place made "
            + "live where after back little only round man year came show every good me give our under name very through "
            + "just form sentence great think say help low line differ turn cause much mean before move right boy old too "
            + "same tell does set three want air well also play small end put home read hand port large spell add even "
            + "land here must big high such follow act why ask men change went light kind off need house picture try us "
            + "again animal point mother world near build self earth father free money mail spam offer click buy").split(" ");

    private TinyTokenizer() {}

    /** The special tokens of an architecture, in id order. */
    public static List<String> specialTokens(TinySpec.Arch arch) {
        return arch == TinySpec.Arch.BERT ? List.of("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")
                : List.of("[PAD]", "[UNK]", "[BOS]", "[EOS]");
    }

    /** All {@code vocabSize} tokens, in id order. */
    public static List<String> vocabulary(TinySpec.Arch arch, int vocabSize) {
        var tokens = new ArrayList<>(specialTokens(arch));
        for (int i = 0; tokens.size() < vocabSize; i++) {
            tokens.add(i < WORDS.length ? WORDS[i] : "w" + (i - WORDS.length));
        }
        return tokens;
    }

    /** The tokenizer.json document. */
    public static ObjectNode tokenizerJson(TinySpec.Arch arch, int vocabSize) {
        List<String> vocab = vocabulary(arch, vocabSize);
        List<String> specials = specialTokens(arch);
        ObjectNode root = JSON.createObjectNode();
        root.put("version", "1.0");
        root.putNull("truncation");
        root.putNull("padding");
        ArrayNode added = root.putArray("added_tokens");
        for (int id = 0; id < specials.size(); id++) {
            ObjectNode t = added.addObject();
            t.put("id", id);
            t.put("content", specials.get(id));
            t.put("single_word", false);
            t.put("lstrip", false);
            t.put("rstrip", false);
            t.put("normalized", false);
            t.put("special", true);
        }
        root.putObject("normalizer").put("type", "Lowercase");
        root.putObject("pre_tokenizer").put("type", "Whitespace");
        ObjectNode post = root.putObject("post_processor");
        post.put("type", "TemplateProcessing");
        ArrayNode single = post.putArray("single");
        ArrayNode pair = post.putArray("pair");
        ObjectNode st = post.putObject("special_tokens");
        if (arch == TinySpec.Arch.BERT) {
            special(single, "[CLS]", 0);
            sequence(single, "A", 0);
            special(single, "[SEP]", 0);
            special(pair, "[CLS]", 0);
            sequence(pair, "A", 0);
            special(pair, "[SEP]", 0);
            sequence(pair, "B", 1);
            special(pair, "[SEP]", 1);
            specialEntry(st, "[CLS]", 2);
            specialEntry(st, "[SEP]", 3);
        } else {
            special(single, "[BOS]", 0);
            sequence(single, "A", 0);
            special(pair, "[BOS]", 0);
            sequence(pair, "A", 0);
            sequence(pair, "B", 1);
            specialEntry(st, "[BOS]", 2);
        }
        root.putNull("decoder");
        ObjectNode model = root.putObject("model");
        model.put("type", "WordLevel");
        ObjectNode v = model.putObject("vocab");
        for (int id = 0; id < vocab.size(); id++) {
            v.put(vocab.get(id), id);
        }
        model.put("unk_token", "[UNK]");
        return root;
    }

    /** tokenizer_config.json, naming the special tokens for Hugging Face's PreTrainedTokenizerFast. */
    public static ObjectNode tokenizerConfigJson(TinySpec.Arch arch) {
        ObjectNode o = JSON.createObjectNode();
        o.put("tokenizer_class", "PreTrainedTokenizerFast");
        o.put("pad_token", "[PAD]");
        o.put("unk_token", "[UNK]");
        if (arch == TinySpec.Arch.BERT) {
            o.put("cls_token", "[CLS]");
            o.put("sep_token", "[SEP]");
            o.put("mask_token", "[MASK]");
        } else {
            o.put("bos_token", "[BOS]");
            o.put("eos_token", "[EOS]");
        }
        return o;
    }

    private static void special(ArrayNode template, String token, int typeId) {
        ObjectNode s = template.addObject().putObject("SpecialToken");
        s.put("id", token);
        s.put("type_id", typeId);
    }

    private static void sequence(ArrayNode template, String which, int typeId) {
        ObjectNode s = template.addObject().putObject("Sequence");
        s.put("id", which);
        s.put("type_id", typeId);
    }

    private static void specialEntry(ObjectNode specialTokens, String token, int id) {
        ObjectNode e = specialTokens.putObject(token);
        e.put("id", token);
        e.putArray("ids").add(id);
        e.putArray("tokens").add(token);
    }
}
