package dev.eva4j.cli;

import java.io.IOException;
import java.io.InputStream;
import java.util.Properties;
import picocli.CommandLine;

/** {@code eva4j --version}: the build's version and the runtime it runs on. */
final class VersionProvider implements CommandLine.IVersionProvider {

    static String version() {
        Properties p = new Properties();
        try (InputStream in = VersionProvider.class.getResourceAsStream("version.properties")) {
            if (in != null) p.load(in);
        } catch (IOException e) {
            // fall through to "unknown"
        }
        return p.getProperty("version", "unknown");
    }

    @Override
    public String[] getVersion() {
        return new String[] {
            "eva4j " + version(),
            "Java " + Runtime.version() + " (" + System.getProperty("java.vm.name") + ", "
                    + System.getProperty("os.arch") + ", " + Runtime.getRuntime().availableProcessors() + " cores)"
        };
    }
}
