package dev.eva4j.models.train;

import dev.eva4j.spi.InvalidInputException;

import dev.eva4j.models.TransformerModel;
import dev.eva4j.spi.ComputeBackend;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Locale;
import java.util.Objects;
import java.util.stream.Collectors;

/**
 * How a LoRA adapter starts, with PEFT's semantics ({@code init_lora_weights}):
 * <ul>
 *   <li>{@link #EVA}: A = EVA's top principal components of each layer's input, B = 0; ranks (and with adjusted scaling
 *       alphas) redistributed per layer, rank-0 layers get no adapter. See {@link EvaInit}.</li>
 *   <li>{@link #LORA} (PEFT's default, {@code True}): A kaiming-uniform with a = sqrt(5), i.e. uniform in
 *       [-1/sqrt(in), 1/sqrt(in)], B = 0.</li>
 *   <li>{@link #GAUSSIAN}: A ~ N(0, std = 1/r) with the layer's rank r (PEFT's {@code std=1 / r}), B = 0.</li>
 *   <li>{@link #PISSA}: W [out, in] = U S V^T (thin SVD); with s the layer's scaling and Sr = S[:r] / s,
 *       A = diag(sqrt Sr) V^T[:r], B = U[:, :r] diag(sqrt Sr); the base weight becomes the residual W - s B A.</li>
 *   <li>{@link #OLORA}: W = QR (Householder); A = R[:r], B = Q[:, :r]; the base weight becomes W - s B A.</li>
 * </ul>
 * LORA, GAUSSIAN and EVA leave the model's output unchanged at step 0 because B = 0; PISSA and OLORA because base +
 * adapter = W. An adapter trained from PISSA or OLORA belongs to the residual base weights; {@link PissaExport}
 * converts it into a plain LoRA adapter (rank doubled) for the original weights, as PEFT's
 * {@code save_pretrained(path_initial_model_for_weight_conversion=...)} does.
 *
 * <p>The flow, for every kind:
 * <pre>{@code
 * InitPlan plan = init == LoraInit.EVA
 *         ? EvaInit.plan(model, settings, evaResultOrAdapter...)
 *         : LoraInit.plan(init, model, settings, seed, lapack);
 * try (Lora lora = new Lora(model.kernels(), plan.modules(), (float) plan.settings().dropout(), seed)) {
 *     InitialAdapter initial = plan.apply(lora);   // A, B filled; PiSSA/OLoRA: base weights now residual
 *     ... train ...
 *     if (plan.kind().changesBaseWeights()) PissaExport.convert(lora, initial);   // for the original weights
 * }
 * }</pre>
 */
public enum LoraInit {
    EVA, LORA, GAUSSIAN, PISSA, OLORA;

    /** The name on the command line and in {@code adapter_config.json}'s {@code init_lora_weights}. */
    public String cliName() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** Whether the initialisation rewrites the base weights (PiSSA, OLoRA: the base keeps W - s B0 A0). */
    public boolean changesBaseWeights() {
        return this == PISSA || this == OLORA;
    }

    /**
     * The initialisation called {@code name} (any case).
     *
     * @throws IllegalArgumentException one line listing the choices
     */
    public static LoraInit parse(String name) {
        String n = name == null ? "" : name.strip().toLowerCase(Locale.ROOT);
        for (LoraInit i : values()) if (i.cliName().equals(n)) return i;
        throw new InvalidInputException("--init must be one of " + Arrays.stream(values()).map(LoraInit::cliName)
                .collect(Collectors.joining(", ")) + ", got '" + name + "'");
    }

    /**
     * The plan of a LORA, GAUSSIAN, PISSA or OLORA initialisation: the adapted modules are
     * {@code settings.modules(model.linears())}, unchanged settings. EVA needs data or an adapter folder: see
     * {@link EvaInit}.
     *
     * @param seed   LORA and GAUSSIAN draw each module's A from {@code new java.util.Random(moduleSeed(seed, path))},
     *               so a module's values depend only on the seed and its path, not on the other targets
     * @param lapack the backend whose host {@code dgesdd} computes PiSSA's SVDs (any backend; unused, may be null,
     *               for the other kinds)
     * @throws IllegalArgumentException one line for EVA, a missing SVD backend, or settings that do not fit the model
     */
    public static InitPlan plan(LoraInit kind, TransformerModel model, LoraSettings settings, long seed,
                                ComputeBackend lapack) {
        Objects.requireNonNull(kind, "kind");
        if (kind == EVA) {
            throw new InvalidInputException("the eva initialisation needs EVA's result or an adapter folder from "
                    + "'eva4j init': use EvaInit");
        }
        if (kind == PISSA && lapack == null) throw new InvalidInputException("pissa needs a backend for its SVDs");
        return new InitPlan(kind, model, settings, settings.modules(model.linears()), seed, lapack, null);
    }

    /**
     * The seed of module {@code path}'s random A: splitmix64 of {@code seed} xor the FNV-1a 64-bit hash of the path's
     * UTF-8 bytes.
     */
    public static long moduleSeed(long seed, String path) {
        long h = 0xcbf29ce484222325L;
        for (byte b : path.getBytes(StandardCharsets.UTF_8)) {
            h ^= b & 0xff;
            h *= 0x100000001b3L;
        }
        long z = seed ^ h;
        z = (z ^ (z >>> 30)) * 0xbf58476d1ce4e5b9L;
        z = (z ^ (z >>> 27)) * 0x94d049bb133111ebL;
        return z ^ (z >>> 31);
    }
}
