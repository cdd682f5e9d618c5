package dev.eva4j.cli;

import dev.eva4j.api.eva.EvaResult;
import dev.eva4j.api.eva.LayerResult;
import java.io.PrintWriter;

/** The final rank distribution as a compact per-layer bar chart. */
final class RankTable {
    private RankTable() {}

    static void print(PrintWriter out, EvaResult result) {
        int nameW = 5, maxRank = 1;
        for (LayerResult l : result.layers()) {
            nameW = Math.max(nameW, l.layer().module().length());
            maxRank = Math.max(maxRank, l.rank());
        }
        out.printf("%-" + nameW + "s  %4s  %7s  %5s  %9s  %s%n", "layer", "rank", "alpha", "steps", "tokens", "");
        for (LayerResult l : result.layers()) {
            out.printf("%-" + nameW + "s  %4d  %7.2f  %5d  %9d  %s%s%n", l.layer().module(), l.rank(), l.alpha(),
                    l.steps(), l.tokens(), "#".repeat(Math.max(0, 30 * l.rank() / maxRank)),
                    l.converged() ? "" : "  (not converged)");
        }
        out.printf("total rank %d (budget %d = r %d x %d layers), allocator %s%n", result.totalRank(),
                result.config().r() * result.layers().size(), result.config().r(), result.layers().size(),
                result.allocator());
    }
}
