package dev.eva4j.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.platform.engine.discovery.DiscoverySelectors.selectClass;

import dev.eva4j.spi.Kernels;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.platform.engine.TestExecutionResult;
import org.junit.platform.testkit.engine.EngineTestKit;
import org.junit.platform.testkit.engine.Event;
import org.junit.platform.testkit.engine.Events;

/**
 * The kit proves it can fail: the contract runs (through JUnit's EngineTestKit) against the reference with one
 * backward pass deliberately broken, and exactly that kernel's backward test fails — with a message naming the
 * gradient and its largest difference — while every forward test passes.
 */
class KitCanFailTest {

    /** Run only from here; surefire leaves out the deliberately-wrong tag. */
    @Tag("deliberately-wrong")
    static class LayerNormWithoutMeanContract extends KernelContract {
        @Override
        protected Kernels kernels() {
            return new WrongBackward.LayerNormWithoutMean();
        }
    }

    @Tag("deliberately-wrong")
    static class AttentionWithoutSoftmaxCorrectionContract extends KernelContract {
        @Override
        protected Kernels kernels() {
            return new WrongBackward.AttentionWithoutSoftmaxCorrection();
        }
    }

    @Test
    void aLayerNormBackwardWithoutTheMeanTermIsCaught() {
        Events tests = run(LayerNormWithoutMeanContract.class);
        assertEquals(Set.of("layerNormBackward()"), names(tests.failed()));
        String message = failure(tests, "layerNormBackward()");
        assertTrue(message.contains("dinp") && message.contains("largest difference"), message);
        assertTrue(!message.contains("] dweight") && !message.contains("] dbias"),
                "only dinp is wrong, yet: " + message);
        assertForwardsPassed(tests);
    }

    @Test
    void anAttentionBackwardWithoutTheSoftmaxCorrectionIsCaught() {
        Events tests = run(AttentionWithoutSoftmaxCorrectionContract.class);
        assertEquals(Set.of("attentionBackward()"), names(tests.failed()));
        String message = failure(tests, "attentionBackward()");
        assertTrue(message.contains("dq") && message.contains("dk") && message.contains("largest difference"),
                message);
        assertTrue(!message.contains("] dv"), "dv is right, yet: " + message);
        assertForwardsPassed(tests);
    }

    private static Events run(Class<?> contract) {
        Events tests = EngineTestKit.engine("junit-jupiter").selectors(selectClass(contract)).execute().testEvents();
        assertEquals(0, tests.aborted().count(), "aborted tests");
        assertEquals(0, tests.skipped().count(), "skipped tests");
        return tests;
    }

    private static void assertForwardsPassed(Events tests) {
        Set<String> passed = names(tests.succeeded());
        List<String> forwards = List.of("embeddingForward()", "layerNormForward()", "rmsNormForward()",
                "matmulForward()", "loraForward()", "attentionForward()", "ropeForward()", "geluForward()",
                "swigluForward()", "residualForward()", "crossEntropyForward()", "meanPoolForward()",
                "clsPoolForward()", "adamw()", "norm()");
        for (String forward : forwards) assertTrue(passed.contains(forward), forward + " passed; passed: " + passed);
        assertTrue(passed.size() > 60, "most tests pass (" + passed.size() + ")");
    }

    private static Set<String> names(Events events) {
        return events.stream().map(e -> e.getTestDescriptor().getDisplayName()).collect(Collectors.toSet());
    }

    private static String failure(Events tests, String name) {
        Event event = tests.failed().stream().filter(e -> e.getTestDescriptor().getDisplayName().equals(name))
                .findFirst().orElseThrow();
        Throwable thrown = event.getPayload(TestExecutionResult.class).orElseThrow().getThrowable().orElseThrow();
        return String.valueOf(thrown.getMessage());
    }
}
