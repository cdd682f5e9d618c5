package dev.eva4j.cli;

import dev.eva4j.models.TransformerModel;
import dev.eva4j.models.nn.ClassificationHead;
import dev.eva4j.models.nn.Lora;
import dev.eva4j.models.peft.PeftLoraAdapter;
import dev.eva4j.models.train.InitPlan;
import dev.eva4j.models.train.InitialAdapter;
import dev.eva4j.models.train.LoraInit;
import dev.eva4j.models.train.LoraSettings;
import dev.eva4j.models.train.PissaExport;
import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Where training starts: LoRA layers built and filled, the settings to save them with (every module's rank and alpha
 * resolved), what PiSSA / OLoRA changed (for the export), the init's name as {@code adapter_config.json} records it, and
 * a saved classification head when the adapter folder carries one.
 *
 * @param initial what the initialisation wrote (null when it started from a folder)
 * @param head    the head saved with the adapter folder, or null
 */
record AdapterStart(Lora lora, LoraSettings settings, InitialAdapter initial, String initName,
                    PeftLoraAdapter.Head head, String description) {

    /** The name PEFT's {@code init_lora_weights} gives an initialisation (PEFT's default is {@code true}). */
    static String peftName(LoraInit init) {
        return init == LoraInit.LORA ? "true" : init.cliName();
    }

    /** Builds the layers from {@code plan} and applies it (PiSSA / OLoRA: the base weights become the residual). */
    static AdapterStart fromPlan(TransformerModel model, InitPlan plan, long seed, String description) {
        Lora lora = new Lora(model.kernels(), plan.modules(), (float) plan.settings().dropout(), seed);
        try {
            InitialAdapter initial = plan.apply(lora);
            return new AdapterStart(lora, plan.settings(), initial, peftName(plan.kind()), null, description);
        } catch (RuntimeException e) {
            lora.close();
            throw e;
        }
    }

    /**
     * The adapter of a PEFT LoRA folder (ours or Python's) on {@code model}, with {@code dropout} for training.
     *
     * @param checkpoint whether the folder is a checkpoint's adapter (else the user's --adapter)
     * @throws UserException when --adapter holds an adapter relative to PiSSA's or OLoRA's residual base weights
     */
    static AdapterStart fromFolder(TransformerModel model, Path dir, double dropout, long seed, boolean checkpoint)
            throws IOException {
        PeftLoraAdapter saved = PeftLoraAdapter.read(dir);
        if (saved.meta().relativeToResidualBase() && !checkpoint) {
            throw new UserException("--adapter " + dir + " was trained from " + saved.meta().initLoraWeights()
                    + " against residual base weights (init_lora_weights in adapter_config.json); start from an adapter "
                    + "exported for the original weights (the adapter/ folder of eva4j train)");
        }
        var modules = saved.modules(model.linears());
        LoraSettings s = saved.settings();
        Map<String, Integer> ranks = new LinkedHashMap<>();
        Map<String, Double> alphas = new LinkedHashMap<>();
        for (Lora.Module m : modules) {
            String inFile = savedPath(saved, m.path());
            if (m.rank() != s.r()) ranks.put(m.path(), m.rank());
            double alpha = s.alphaOf(inFile);
            if (alpha != s.alpha()) alphas.put(m.path(), alpha);
        }
        LoraSettings settings = new LoraSettings(s.r(), s.alpha(), dropout, s.rslora(),
                String.join(",", modules.stream().map(Lora.Module::path).toList()), ranks, alphas);
        Lora lora = new Lora(model.kernels(), modules, (float) dropout, seed);
        try {
            saved.loadInto(lora);
        } catch (RuntimeException e) {
            lora.close();
            throw e;
        }
        return new AdapterStart(lora, settings, null, saved.meta().initLoraWeights(), saved.head(),
                (checkpoint ? "checkpoint " : "--adapter ") + dir + " (" + modules.size() + " layers, init_lora_weights " + saved.meta().initLoraWeights() + ")");
    }

    /** The init recorded in a checkpoint's adapter folder. */
    static String savedInit(Path dir) throws IOException {
        return PeftLoraAdapter.read(dir).meta().initLoraWeights();
    }

    /** The adapter's own name of a model module (the same, or with a "bert." prefix added or removed). */
    private static String savedPath(PeftLoraAdapter saved, String modelPath) {
        if (saved.module(modelPath) != null) return modelPath;
        if (saved.module("bert." + modelPath) != null) return "bert." + modelPath;
        if (modelPath.startsWith("bert.") && saved.module(modelPath.substring(5)) != null) return modelPath.substring(5);
        return modelPath;
    }

    /** The adapter as trained so far (checkpoints; for PiSSA / OLoRA it belongs to the residual base weights). */
    PeftLoraAdapter trained(ClassificationHead head, PeftLoraAdapter.Meta meta) {
        return PeftLoraAdapter.of(settings, lora, head, meta);
    }

    /** Whether {@link #exported} converts the trained adapter (PiSSA, OLoRA). */
    boolean converts() {
        return initial != null && initial.kind().changesBaseWeights();
    }

    /**
     * The adapter for the ORIGINAL base weights: as trained, or for PiSSA / OLoRA converted as PEFT's
     * {@code path_initial_model_for_weight_conversion} does (rank doubled, same scaling, init_lora_weights true).
     */
    PeftLoraAdapter exported(ClassificationHead head, PeftLoraAdapter.Meta meta) {
        if (!converts()) return trained(head, meta);
        PissaExport.Converted c = PissaExport.convert(lora, initial);
        LoraSettings cs = c.settings();
        LoraSettings resolved = new LoraSettings(cs.r(), cs.alpha(), cs.dropout(), cs.rslora(),
                String.join(",", c.modules().stream().map(PissaExport.Module::path).toList()), cs.rankPattern(),
                cs.alphaPattern());
        var modules = c.modules().stream()
                .map(m -> new PeftLoraAdapter.Module(m.path(), m.rank(), m.in(), m.out(), m.a(), m.b())).toList();
        PeftLoraAdapter.Head h = null;
        if (head != null) {
            float[] w = head.params().read(ClassificationHead.WEIGHT);
            h = new PeftLoraAdapter.Head(PeftLoraAdapter.HEAD_MODULE, head.numLabels(), w.length / head.numLabels(), w,
                    head.params().read(ClassificationHead.BIAS), head.pooling());
        }
        return new PeftLoraAdapter(resolved, new PeftLoraAdapter.Meta(meta.baseModelNameOrPath(), meta.taskType(), "true"),
                modules, h);
    }

    /** Trainable LoRA parameters. */
    long parameters() {
        return lora.params().size();
    }
}
