package dev.flare.tensor.cuda;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;

/**
 * Times every kernel launch and cuBLAS call of one device with a pair of CUDA events around it, without waiting:
 * the pairs queue up and are read (one synchronization) when the profile is asked for, or when many are pending.
 * Off unless profiling is switched on: two event records per call cost a few microseconds of host time.
 */
final class KernelTimer {
    /** Pairs read at once when this many are pending (bounds the events alive). */
    private static final int MAX_PENDING = 8192;

    private record Pending(String name, CudaEvent start, CudaEvent end) {}

    private final CudaContext context;
    private final KernelProfile profile = new KernelProfile();
    private final List<Pending> pending = new ArrayList<>();
    private final ArrayDeque<CudaEvent> free = new ArrayDeque<>();
    private volatile boolean enabled;

    KernelTimer(CudaContext context, boolean enabled) {
        this.context = context;
        this.enabled = enabled;
    }

    boolean enabled() { return enabled; }

    synchronized void setEnabled(boolean on) {
        if (!on) harvest();
        enabled = on;
    }

    /** The start of a timed call on stream (null when profiling is off); pass it to {@link #end}. */
    Object begin(CudaStream stream) {
        if (!enabled) return null;
        synchronized (this) {
            return event().record(stream);
        }
    }

    /** Ends the call begun at start (no-op for null) under name. */
    void end(Object start, String name, CudaStream stream) {
        if (start == null) return;
        synchronized (this) {
            pending.add(new Pending(name, (CudaEvent) start, event().record(stream)));
            if (pending.size() >= MAX_PENDING) harvest();
        }
    }

    /** Reads every pending pair into the profile (waits for them) and returns it. */
    synchronized KernelProfile profile() {
        harvest();
        return profile;
    }

    private CudaEvent event() {
        CudaEvent e = free.poll();
        return e != null ? e : CudaEvent.timing(context);
    }

    private void harvest() {
        for (Pending p : pending) {
            profile.add(p.name(), CudaEvent.elapsedMillis(p.start(), p.end()));
            free.push(p.start());
            free.push(p.end());
        }
        pending.clear();
    }
}
