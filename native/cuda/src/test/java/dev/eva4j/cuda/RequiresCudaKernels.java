package dev.eva4j.cuda;

import java.util.Optional;
import org.junit.jupiter.api.extension.ConditionEvaluationResult;
import org.junit.jupiter.api.extension.ExecutionCondition;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * Disables a test class, with the reason, where eva4j's CUDA kernels cannot run (no driver or device, a build without
 * nvcc, cuBLAS missing): the tests are reported as skipped, never as passed.
 */
final class RequiresCudaKernels implements ExecutionCondition {
    @Override
    public ConditionEvaluationResult evaluateExecutionCondition(ExtensionContext context) {
        Optional<String> problem = CudaKernelsLoader.problem();
        return problem.map(p -> ConditionEvaluationResult.disabled("no GPU run: " + p))
                .orElseGet(() -> ConditionEvaluationResult.enabled("the CUDA kernels can run here"));
    }
}
