package dev.eva4j.models.peft;

import dev.eva4j.spi.InvalidInputException;

import dev.eva4j.api.peft.AtomicDirectory;
import dev.eva4j.api.safetensors.SafetensorsWriter;
import dev.eva4j.api.safetensors.TensorData;
import dev.eva4j.models.LinearModule;
import dev.eva4j.models.nn.ClassificationHead;
import dev.eva4j.models.nn.Lora;
import dev.eva4j.models.train.LoraSettings;
import dev.eva4j.spi.Kernels;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A LoRA adapter folder as Hugging Face PEFT writes and reads it: {@code adapter_config.json} (LoraConfig's fields),
 * {@code adapter_model.safetensors} ({@code base_model.model.<module>.lora_A.weight} [r, in] and
 * {@code ...lora_B.weight} [out, r], float32; a classification head as PEFT saves {@code modules_to_save}:
 * {@code base_model.model.classifier.weight} [K, C] and {@code .bias} [K]) and, with a head, eva4j's own
 * {@code eva4j_head.json} (pooling, number of labels), which PEFT has no field for.
 *
 * <p>The settings are kept fully resolved: {@code rank_pattern} / {@code alpha_pattern} hold one entry per module whose
 * rank or alpha differs from {@code r} / {@code lora_alpha}, keyed by its full path, so {@link LoraSettings}' matching
 * and PEFT's regular-expression matching give the same answer for every module. Every module's rank equals
 * {@code settings.rankOf(path)}; its scaling is {@code settings.scaleOf(path)}.
 *
 * <p>Loading into a model is strict: an adapter module the model does not have, or a shape that does not fit, is one
 * line naming them, never a silent skip. A {@code bert.} prefix on either side (a {@code BertFor...} checkpoint against
 * a bare encoder, or the other way) is not a mismatch.
 *
 * @param settings r, alpha, patterns, dropout, rsLoRA, targets (the adapted modules, or the file's target_modules)
 * @param meta     base model, task type, initialisation
 * @param modules  the adapted modules in file order
 * @param head     the classification head, or null
 */
public record PeftLoraAdapter(LoraSettings settings, Meta meta, List<Module> modules, Head head) {
    public static final String CONFIG = AdapterConfig.FILE;
    public static final String WEIGHTS = AdapterTensors.FILE;
    public static final String HEAD_FILE = HeadFile.FILE;
    /** The module name a head is saved under (BERT's sequence-classification head). */
    public static final String HEAD_MODULE = "classifier";
    private static final Pattern LAYER_INDEX = Pattern.compile("\\.layers?\\.(\\d+)\\.");

    /**
     * What PEFT records beside the weights.
     *
     * @param baseModelNameOrPath base_model_name_or_path, or null
     * @param taskType            task_type ("SEQ_CLS", "CAUSAL_LM"), or null
     * @param initLoraWeights     init_lora_weights: "true" (PEFT's default, written as JSON true; null and "lora"
     *                            mean the same), "false", or a name ("eva", "gaussian", "pissa", "olora", ...)
     */
    public record Meta(String baseModelNameOrPath, String taskType, String initLoraWeights) {
        public Meta {
            if (initLoraWeights == null || initLoraWeights.equalsIgnoreCase("true") || initLoraWeights.equalsIgnoreCase("lora")) {
                initLoraWeights = "true";
            }
            else if (initLoraWeights.equalsIgnoreCase("false")) initLoraWeights = "false";
        }

        /**
         * Whether A and B only make sense on top of base weights that the initialisation changed (PiSSA's and
         * OLoRA's residual, CorDA's): such an adapter must be converted (see docs/peft-interop.md) before it can be
         * applied to, or merged into, the original base model.
         */
        public boolean relativeToResidualBase() {
            String s = initLoraWeights.toLowerCase(Locale.ROOT);
            return s.startsWith("pissa") || s.startsWith("olora") || s.startsWith("corda");
        }
    }

    /** One adapted module: its path (Hugging Face naming), rank, A [rank, in] and B [out, rank], row-major. */
    public record Module(String path, int rank, int in, int out, float[] a, float[] b) {
        public Module {
            Objects.requireNonNull(path, "path");
            if (rank < 1 || in < 1 || out < 1) {
                throw new InvalidInputException("module " + path + ": rank, in and out must be >= 1, got " + rank
                        + ", " + in + ", " + out);
            }
            if (a.length != (long) rank * in) throw new InvalidInputException("lora_A of " + path + " holds " + a.length + " values, needs [" + rank + ", " + in + "]");
            if (b.length != (long) out * rank) throw new InvalidInputException("lora_B of " + path + " holds " + b.length + " values, needs [" + out + ", " + rank + "]");
        }
    }

    /**
     * A classification head saved with the adapter.
     *
     * @param module    its module name ({@link #HEAD_MODULE} for eva4j's)
     * @param weight    [numLabels, hiddenSize]
     * @param bias      [numLabels] (zeros when the file has none)
     * @param pooling   mean or CLS pooling, or null when the adapter does not say (no eva4j_head.json)
     */
    public record Head(String module, int numLabels, int hiddenSize, float[] weight, float[] bias,
                       ClassificationHead.Pooling pooling) {
        public Head {
            if (weight.length != (long) numLabels * hiddenSize || bias.length != numLabels) {
                throw new InvalidInputException("head " + module + ": weight must be [" + numLabels + ", " + hiddenSize
                        + "] and bias [" + numLabels + "]");
            }
        }
    }

    public PeftLoraAdapter {
        Objects.requireNonNull(settings, "settings");
        Objects.requireNonNull(meta, "meta");
        modules = List.copyOf(modules);
        if (modules.isEmpty()) throw new InvalidInputException("an adapter needs at least one module");
        Set<String> seen = new HashSet<>();
        for (Module m : modules) {
            if (!seen.add(m.path())) throw new InvalidInputException("module " + m.path() + " is listed twice");
            if (m.rank() != settings.rankOf(m.path())) {
                throw new InvalidInputException("module " + m.path() + " has rank " + m.rank() + " but the settings give "
                        + settings.rankOf(m.path()) + " (r / rank_pattern)");
            }
        }
    }

    // ---------------------------------------------------------------------------------------------------- writing

    /**
     * The adapter held by {@code lora} (and {@code head}, may be null), read back from the backend. {@code settings}
     * must give every module its rank and scaling (as {@link LoraSettings#modules} built them); the result's settings
     * name exactly the adapted modules as targets, with per-module patterns.
     *
     * @throws IllegalArgumentException when a module's rank or scaling differs from what the settings give it
     */
    public static PeftLoraAdapter of(LoraSettings settings, Lora lora, ClassificationHead head, Meta meta) {
        var mods = new ArrayList<Module>();
        var ranks = new LinkedHashMap<String, Integer>();
        var alphas = new LinkedHashMap<String, Double>();
        for (Lora.Module m : lora.modules()) {
            if (m.rank() != settings.rankOf(m.path())) {
                throw new InvalidInputException("LoRA module " + m.path() + " has rank " + m.rank()
                        + " but the settings give " + settings.rankOf(m.path()) + " (r / rank_pattern)");
            }
            float expected = settings.scaleOf(m.path());
            if (Math.abs(expected - m.scale()) > 1e-6 * Math.abs(expected)) {
                throw new InvalidInputException("LoRA module " + m.path() + " scales by " + m.scale()
                        + " but the settings give " + expected + " (alpha / r" + (settings.rslora() ? ", rsLoRA" : "") + ")");
            }
            mods.add(new Module(m.path(), m.rank(), m.in(), m.out(), lora.params().read(m.aName()),
                    lora.params().read(m.bName())));
            if (m.rank() != settings.r()) ranks.put(m.path(), m.rank());
            double alpha = settings.alphaOf(m.path());
            if (alpha != settings.alpha()) alphas.put(m.path(), alpha);
        }
        String targets = String.join(",", mods.stream().map(Module::path).toList());
        LoraSettings resolved = new LoraSettings(settings.r(), settings.alpha(), settings.dropout(), settings.rslora(),
                targets, ranks, alphas);
        Head h = null;
        if (head != null) {
            float[] w = head.params().read(ClassificationHead.WEIGHT);
            h = new Head(HEAD_MODULE, head.numLabels(), w.length / head.numLabels(), w,
                    head.params().read(ClassificationHead.BIAS), head.pooling());
        }
        return new PeftLoraAdapter(resolved, meta, mods, h);
    }

    /** {@link #of} then {@link #write(Path)}: the adapter folder appears all at once or not at all. */
    public static void write(Path dir, LoraSettings settings, Lora lora, ClassificationHead head, Meta meta)
            throws IOException {
        of(settings, lora, head, meta).write(dir);
    }

    /** Writes this adapter as a PEFT folder, atomically (an existing folder is replaced). */
    public void write(Path dir) throws IOException {
        List<TensorData> tensors = new ArrayList<>();
        for (Module m : modules) {
            String p = AdapterTensors.PREFIX + m.path();
            tensors.add(TensorData.ofFloats(p + ".lora_A.weight", new long[] {m.rank(), m.in()}, m.a()));
            tensors.add(TensorData.ofFloats(p + ".lora_B.weight", new long[] {m.out(), m.rank()}, m.b()));
        }
        if (head != null) {
            String p = AdapterTensors.PREFIX + head.module();
            tensors.add(TensorData.ofFloats(p + ".weight", new long[] {head.numLabels(), head.hiddenSize()}, head.weight()));
            tensors.add(TensorData.ofFloats(p + ".bias", new long[] {head.numLabels()}, head.bias()));
        }
        byte[] config = AdapterConfig.json(settings, modules, head == null ? null : head.module(), meta);
        byte[] headJson = head == null ? null
                : new HeadFile(head.module(), head.numLabels(), head.hiddenSize(), head.pooling()).json();
        AtomicDirectory.write(dir, tmp -> {
            SafetensorsWriter.write(tmp.resolve(WEIGHTS), tensors, Map.of("format", "pt"));
            Files.write(tmp.resolve(CONFIG), config);
            if (headJson != null) Files.write(tmp.resolve(HEAD_FILE), headJson);
        });
    }

    // ---------------------------------------------------------------------------------------------------- reading

    /**
     * Reads a PEFT LoRA adapter folder, ours or one written by Python.
     *
     * @throws IllegalArgumentException one line naming the file and the problem: a missing file, bad JSON, a non-LoRA
     *                                  {@code peft_type}, a tensor that is not a LoRA weight or a saved head, a lora_A
     *                                  whose rank disagrees with the config, a module target_modules does not select
     */
    public static PeftLoraAdapter read(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            throw new InvalidInputException(dir + (Files.exists(dir) ? " is not a folder" : " does not exist")
                    + " (an adapter is a folder with " + CONFIG + " and " + WEIGHTS + ")");
        }
        AdapterConfig c = AdapterConfig.read(dir);
        AdapterTensors t = AdapterTensors.read(dir, c.modulesToSave());
        String file = dir.resolve(WEIGHTS).toString();
        List<String> paths = t.modules();
        checkTargets(c, paths, file);
        var rankKeys = PeftPatterns.compile(c.rankPattern(), dir.resolve(CONFIG) + " rank_pattern");
        var alphaKeys = PeftPatterns.compile(c.alphaPattern(), dir.resolve(CONFIG) + " alpha_pattern");
        LoraSettings settings = new LoraSettings(c.r(), c.alpha(), c.dropout(), c.rslora(),
                c.targetModules() != null ? c.targetModules() : String.join(",", paths),
                PeftPatterns.expand(rankKeys, paths, c.r()), PeftPatterns.expand(alphaKeys, paths, c.alpha()));
        var mods = new ArrayList<Module>();
        for (String p : paths) {
            AdapterTensors.Tensor a = t.a().get(p), b = t.b().get(p);
            int rank = settings.rankOf(p);
            if (a.shape()[0] != rank) {
                throw new InvalidInputException(file + ": lora_A of " + p + " is " + a.shapeText() + " but "
                        + CONFIG + " gives rank " + rank + " (r / rank_pattern)");
            }
            if (b.shape()[1] != rank) {
                throw new InvalidInputException(file + ": lora_B of " + p + " is " + b.shapeText() + " but lora_A is "
                        + a.shapeText() + " (B must be [out, " + rank + "])");
            }
            mods.add(new Module(p, rank, Math.toIntExact(a.shape()[1]), Math.toIntExact(b.shape()[0]), a.values(), b.values()));
        }
        return new PeftLoraAdapter(settings, c.meta(), mods, head(dir, t, file, c.meta().taskType()));
    }

    /** Every module with weights must be one that target_modules selects (PEFT's rules), else the file is inconsistent. */
    private static void checkTargets(AdapterConfig c, List<String> paths, String file) {
        String spec = c.targetModules();
        if (spec == null || spec.equals("all-linear")) return;
        Predicate<String> selected;
        if (spec.startsWith("re:")) {
            Pattern p = Pattern.compile(spec.substring(3));
            selected = m -> p.matcher(m).matches();
        } else {
            List<String> names = List.of(spec.split(","));
            selected = m -> names.stream().anyMatch(n -> m.equals(n) || m.endsWith("." + n));
        }
        for (String m : paths) {
            if (!selected.test(m)) {
                throw new InvalidInputException(file + " holds LoRA weights for " + m + ", which target_modules ("
                        + spec + ") does not select");
            }
        }
    }

    private static Head head(Path dir, AdapterTensors t, String file, String taskType) throws IOException {
        HeadFile facts = HeadFile.read(dir);
        if (t.head().isEmpty()) {
            if (facts != null) {
                throw new InvalidInputException(dir + ": " + HEAD_FILE + " describes a head but " + WEIGHTS
                        + " holds none (modules_to_save)");
            }
            return null;
        }
        if (t.head().size() > 1) {
            throw new InvalidInputException(file + ": saves several modules " + t.head().keySet()
                    + "; eva4j reads one classification head");
        }
        var e = t.head().entrySet().iterator().next();
        String name = e.getKey().substring(e.getKey().lastIndexOf('.') + 1);
        if (!"SEQ_CLS".equals(taskType) && !name.equals(HEAD_MODULE) && !name.equals("score")) {
            throw new InvalidInputException(file + ": saves " + e.getKey() + " whole (modules_to_save); eva4j applies "
                    + "LoRA weights and a sequence-classification head only");
        }
        AdapterTensors.Tensor w = e.getValue().get("weight"), b = e.getValue().get("bias");
        if (w == null || w.shape().length != 2) {
            throw new InvalidInputException(file + ": head " + e.getKey() + " needs a 2-D weight [labels, hidden]"
                    + (w == null ? ", found none" : ", found " + w.shapeText()));
        }
        int k = Math.toIntExact(w.shape()[0]), hidden = Math.toIntExact(w.shape()[1]);
        if (b != null && !Arrays.equals(b.shape(), new long[] {k})) {
            throw new InvalidInputException(file + ": head bias " + e.getKey() + " is " + b.shapeText() + ", needs [" + k + "]");
        }
        if (facts != null && facts.hiddenSize() != 0 && facts.hiddenSize() != hidden) {
            throw new InvalidInputException(dir + ": " + HEAD_FILE + " says hidden size " + facts.hiddenSize()
                    + " but the head's weight is " + w.shapeText());
        }
        if (facts != null && facts.numLabels() != 0 && facts.numLabels() != k) {
            throw new InvalidInputException(dir + ": " + HEAD_FILE + " says " + facts.numLabels() + " labels but the head's"
                    + " weight is " + w.shapeText());
        }
        return new Head(e.getKey(), k, hidden, w.values(), b == null ? new float[k] : b.values(),
                facts == null ? null : facts.pooling());
    }

    // ------------------------------------------------------------------------------------------------ applying

    /** The module at {@code path} (as the adapter names it), or null. */
    public Module module(String path) {
        for (Module m : modules) if (m.path().equals(path)) return m;
        return null;
    }

    /** PEFT's scaling of a module: alpha / rank, or alpha / sqrt(rank) with rsLoRA. */
    public float scaleOf(Module m) {
        return settings.scaleOf(m.path());
    }

    /**
     * The LoRA modules to build for a model with these linear layers: one per adapter module, named as the model
     * names it, with the adapter's rank and scaling.
     *
     * @throws IllegalArgumentException one line naming every module the model lacks and every shape that does not fit
     */
    public List<Lora.Module> modules(List<LinearModule> linears) {
        Map<String, LinearModule> byPath = new HashMap<>();
        for (LinearModule l : linears) byPath.put(l.path(), l);
        var out = new ArrayList<Lora.Module>();
        var problems = new ArrayList<String>();
        for (Module m : modules) {
            String p = resolve(m.path(), byPath::containsKey);
            if (p == null) {
                problems.add("adapter module " + m.path() + " is not in the model (" + describe(linears) + ")");
                continue;
            }
            LinearModule l = byPath.get(p);
            int before = problems.size();
            if (m.in() != l.inFeatures()) {
                problems.add("lora_A of " + m.path() + " is [" + m.rank() + ", " + m.in() + "] but the layer's input is " + l.inFeatures());
            }
            if (m.out() != l.outFeatures()) {
                problems.add("lora_B of " + m.path() + " is [" + m.out() + ", " + m.rank() + "] but the layer's output is " + l.outFeatures());
            }
            if (problems.size() == before && m.rank() > Math.min(l.inFeatures(), l.outFeatures())) {
                problems.add("rank " + m.rank() + " of " + m.path() + " exceeds the layer's smaller dimension ("
                        + l.outFeatures() + " x " + l.inFeatures() + ")");
            }
            if (problems.size() == before) out.add(new Lora.Module(p, l.inFeatures(), l.outFeatures(), m.rank(), scaleOf(m)));
        }
        fail("the adapter does not fit the model", problems);
        return out;
    }

    /**
     * Copies A and B into {@code lora}, which must adapt exactly this adapter's modules with the same shapes and
     * scalings (build it from {@link #modules(List)}).
     *
     * @throws IllegalArgumentException one line naming the modules that differ
     */
    public void loadInto(Lora lora) {
        var problems = new ArrayList<String>();
        var covered = new HashSet<String>();
        var targets = new LinkedHashMap<Module, String>();
        for (Module m : modules) {
            String p = resolve(m.path(), lora::adapts);
            if (p == null) {
                problems.add("adapter module " + m.path() + " is not adapted by the LoRA layers");
                continue;
            }
            covered.add(p);
            Lora.Module l = lora.module(p);
            if (l.rank() != m.rank() || l.in() != m.in() || l.out() != m.out()) {
                problems.add(m.path() + " is rank " + m.rank() + " [" + m.out() + " x " + m.in() + "] in the adapter but rank "
                        + l.rank() + " [" + l.out() + " x " + l.in() + "] in the LoRA layers");
            } else if (Math.abs(l.scale() - scaleOf(m)) > 1e-6 * Math.abs(scaleOf(m))) {
                problems.add(m.path() + " scales by " + scaleOf(m) + " in the adapter but by " + l.scale() + " in the LoRA layers");
            } else {
                targets.put(m, p);
            }
        }
        var extra = new TreeSet<String>();
        for (Lora.Module l : lora.modules()) if (!covered.contains(l.path())) extra.add(l.path());
        if (!extra.isEmpty()) problems.add("the LoRA layers adapt " + extra.size() + " module(s) the adapter lacks, e.g. " + extra.first());
        fail("the adapter does not fit the LoRA layers", problems);
        targets.forEach((m, p) -> {
            Lora.Module l = lora.module(p);
            lora.params().write(l.aName(), m.a());
            lora.params().write(l.bName(), m.b());
        });
    }

    /**
     * Copies the saved head into {@code target}.
     *
     * @throws IllegalArgumentException one line when the adapter has no head, or its labels, hidden size or pooling
     *                                  differ from {@code target}'s
     */
    public void loadHead(ClassificationHead target) {
        Head h = requireHead();
        long weights = target.params().get(ClassificationHead.WEIGHT).length();
        if (target.numLabels() != h.numLabels() || weights != (long) h.numLabels() * h.hiddenSize()) {
            throw new InvalidInputException("the adapter's head is [" + h.numLabels() + ", " + h.hiddenSize()
                    + "] but the classification head is [" + target.numLabels() + ", " + weights / target.numLabels() + "]");
        }
        if (h.pooling() != null && h.pooling() != target.pooling()) {
            throw new InvalidInputException("the adapter's head pools by " + h.pooling() + " but the classification "
                    + "head by " + target.pooling());
        }
        target.params().write(ClassificationHead.WEIGHT, h.weight());
        target.params().write(ClassificationHead.BIAS, h.bias());
    }

    /**
     * A classification head on {@code kernels} holding the saved head, pooling as the adapter says or else
     * {@code fallback}.
     *
     * @throws IllegalArgumentException one line when there is no head or it reads another hidden size
     */
    public ClassificationHead newHead(Kernels kernels, int hiddenSize, ClassificationHead.Pooling fallback) {
        Head h = requireHead();
        if (h.hiddenSize() != hiddenSize) {
            throw new InvalidInputException("the adapter's head reads hidden size " + h.hiddenSize()
                    + " but the model's is " + hiddenSize);
        }
        var target = new ClassificationHead(kernels, hiddenSize, h.numLabels(), h.pooling() != null ? h.pooling() : fallback, 0);
        try {
            loadHead(target);
            return target;
        } catch (RuntimeException e) {
            target.close();
            throw e;
        }
    }

    private Head requireHead() {
        if (head == null) {
            throw new InvalidInputException("the adapter has no classification head (modules_to_save is empty)");
        }
        return head;
    }

    /**
     * How the model names an adapter module: the same path, or the path with a {@code bert.} prefix removed or
     * added; null when the model has none of them.
     */
    static String resolve(String path, Predicate<String> exists) {
        if (exists.test(path)) return path;
        if (path.startsWith("bert.") && exists.test(path.substring(5))) return path.substring(5);
        if (exists.test("bert." + path)) return "bert." + path;
        return null;
    }

    /** "6 layers" (transformer blocks counted from the paths), else "N linear layers". */
    private static String describe(List<LinearModule> linears) {
        Set<String> blocks = new TreeSet<>();
        for (LinearModule l : linears) {
            Matcher m = LAYER_INDEX.matcher(l.path());
            if (m.find()) blocks.add(m.group(1));
        }
        return blocks.isEmpty() ? linears.size() + " linear layers" : blocks.size() + " layers";
    }

    private static void fail(String what, List<String> problems) {
        if (problems.isEmpty()) return;
        int shown = Math.min(3, problems.size());
        String line = String.join("; ", problems.subList(0, shown))
                + (problems.size() > shown ? "; and " + (problems.size() - shown) + " more" : "");
        throw new InvalidInputException(problems.size() == 1 ? line : what + ": " + line);
    }
}
