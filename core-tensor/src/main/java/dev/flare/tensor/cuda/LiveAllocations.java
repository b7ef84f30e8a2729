package dev.flare.tensor.cuda;

import dev.flare.tensor.Bytes;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * With {@code -Dflare.debug.alloc=true}: every live device storage of a backend with the place that allocated it,
 * so an out-of-memory error can say which code holds the memory (a leak shows as one site with many tensors).
 * Off by default: recording a stack trace per allocation costs microseconds.
 */
final class LiveAllocations {
    static final boolean ENABLED = Boolean.getBoolean("flare.debug.alloc");
    /** Frames of the caller kept in a site's name. */
    private static final int SITE_FRAMES = 4;

    private final Set<CudaStorage> live = ConcurrentHashMap.newKeySet();

    void add(CudaStorage s) { if (ENABLED) live.add(s); }

    void remove(CudaStorage s) { if (ENABLED) live.remove(s); }

    /** A few lines: the sites holding the most bytes, with tensor counts; or how to turn the census on. */
    String census(int topSites) {
        if (!ENABLED) return " Run with -Dflare.debug.alloc=true to list the live tensors by where they were allocated.";
        Map<String, long[]> bySite = new HashMap<>();   // site -> {count, bytes}
        for (CudaStorage s : live) {
            long[] c = bySite.computeIfAbsent(site(s.allocationSite()), k -> new long[2]);
            c[0]++;
            c[1] += s.bytes();
        }
        List<Map.Entry<String, long[]>> sites = new ArrayList<>(bySite.entrySet());
        sites.sort((a, b) -> Long.compare(b.getValue()[1], a.getValue()[1]));
        StringBuilder sb = new StringBuilder("\nLive tensors by allocation site (").append(live.size()).append(" tensors):");
        for (Map.Entry<String, long[]> e : sites.subList(0, Math.min(topSites, sites.size())))
            sb.append("\n  ").append(Bytes.human(e.getValue()[1])).append(" in ").append(e.getValue()[0])
                    .append(" tensors at ").append(e.getKey());
        return sb.toString();
    }

    /** The first frames outside the tensor library's allocation plumbing: the code that asked for the tensor. */
    static String site(Throwable where) {
        if (where == null) return "(unknown)";
        StringBuilder sb = new StringBuilder();
        int kept = 0;
        for (StackTraceElement f : where.getStackTrace()) {
            String c = f.getClassName();
            if (c.startsWith("dev.flare.tensor.") && !c.startsWith("dev.flare.tensor.cpu")) continue;
            if (kept++ == SITE_FRAMES) break;
            if (!sb.isEmpty()) sb.append(" < ");
            sb.append(c.substring(c.lastIndexOf('.') + 1)).append('.').append(f.getMethodName()).append(':').append(f.getLineNumber());
        }
        return sb.isEmpty() ? "(inside dev.flare.tensor)" : sb.toString();
    }
}
