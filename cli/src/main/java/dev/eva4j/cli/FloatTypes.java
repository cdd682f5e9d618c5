package dev.eva4j.cli;

import dev.eva4j.api.tensor.DType;
import java.util.Locale;

/** The {@code --dtype} option of the commands that write float tensors. */
final class FloatTypes {
    private FloatTypes() {}

    static DType parse(String name) {
        return switch (name.toLowerCase(Locale.ROOT)) {
            case "f32" -> DType.F32;
            case "f16" -> DType.F16;
            case "bf16" -> DType.BF16;
            default -> throw new UserException("--dtype must be f32, f16 or bf16, got '" + name + "'");
        };
    }
}
