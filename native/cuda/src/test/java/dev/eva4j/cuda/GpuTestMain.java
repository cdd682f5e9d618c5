package dev.eva4j.cuda;

import static org.junit.platform.engine.discovery.DiscoverySelectors.selectClass;
import static org.junit.platform.engine.discovery.DiscoverySelectors.selectPackage;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import org.junit.platform.launcher.Launcher;
import org.junit.platform.launcher.LauncherDiscoveryRequest;
import org.junit.platform.launcher.core.LauncherDiscoveryRequestBuilder;
import org.junit.platform.launcher.core.LauncherFactory;
import org.junit.platform.launcher.listeners.SummaryGeneratingListener;
import org.junit.platform.launcher.listeners.TestExecutionSummary;

/**
 * Runs JUnit test classes without Maven (the GPU machine has only a JRE): {@code java -cp <jars> 
 * dev.eva4j.cuda.GpuTestMain [--no-skips] [class or package names]} (default: the package {@code dev.eva4j.cuda}).
 * Prints every test's outcome (a skipped one with its reason), a summary, and exits 1 when a test failed, 2 when
 * none passed, 3 with {@code --no-skips} when an assumption skipped one (on the GPU machine nothing may be skipped).
 */
public final class GpuTestMain {
    private GpuTestMain() {}

    public static void main(String[] args) {
        boolean noSkips = List.of(args).contains("--no-skips");
        List<String> names = List.of(args).stream().filter(a -> !a.startsWith("--")).toList();
        if (names.isEmpty()) names = List.of("dev.eva4j.cuda");
        LauncherDiscoveryRequestBuilder b = LauncherDiscoveryRequestBuilder.request();
        List<org.junit.platform.engine.DiscoverySelector> selectors = new ArrayList<>();
        for (String n : names) {
            boolean isClass = !n.isEmpty() && Character.isUpperCase(n.substring(n.lastIndexOf('.') + 1).charAt(0));
            selectors.add(isClass ? selectClass(n) : selectPackage(n));
        }
        LauncherDiscoveryRequest request = b.selectors(selectors).build();
        Launcher launcher = LauncherFactory.create();
        SummaryGeneratingListener summary = new SummaryGeneratingListener();
        launcher.execute(request, summary, new org.junit.platform.launcher.TestExecutionListener() {
            @Override
            public void executionSkipped(org.junit.platform.launcher.TestIdentifier id, String reason) {
                System.out.println("SKIPPED " + id.getDisplayName() + ": " + reason);
            }

            @Override
            public void executionFinished(org.junit.platform.launcher.TestIdentifier id,
                                          org.junit.platform.engine.TestExecutionResult result) {
                if (id.isTest()) {
                    System.out.println(result.getStatus() + " " + id.getUniqueId().replaceAll(".*class:", "")
                            + result.getThrowable().map(t -> " -> " + t).orElse(""));
                } else if (result.getStatus() != org.junit.platform.engine.TestExecutionResult.Status.SUCCESSFUL) {
                    System.out.println(result.getStatus() + " " + id.getDisplayName()
                            + result.getThrowable().map(t -> " -> " + t).orElse(""));
                }
            }
        });
        TestExecutionSummary s = summary.getSummary();
        PrintWriter out = new PrintWriter(System.out);
        s.printFailuresTo(out, 30);
        s.printTo(out);
        out.flush();
        if (s.getTotalFailureCount() > 0) System.exit(1);
        if (s.getTestsSucceededCount() == 0) System.exit(2);
        if (noSkips && (s.getTestsAbortedCount() > 0 || s.getTestsSkippedCount() > 0)) {
            System.out.println("--no-skips: " + s.getTestsAbortedCount() + " test(s) skipped by an assumption");
            System.exit(3);
        }
        System.exit(0);
    }
}
