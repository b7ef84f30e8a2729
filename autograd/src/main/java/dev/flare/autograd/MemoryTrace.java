package dev.flare.autograd;

import dev.flare.tensor.Backend;
import dev.flare.tensor.Backends;
import dev.flare.tensor.Bytes;
import dev.flare.tensor.Device;
import dev.flare.tensor.Tensor;
import dev.flare.tensor.ops.OpCall;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Where a training step's memory goes, by op: with {@code -Dflare.debug.memory=true} the engine samples the device's
 * {@link Backend#allocatedBytes()} after every recorded forward op and after every backward node, and each backward
 * ends with a {@link Report} ({@link #lastReport()}): how much the forward ops since the last backward left allocated (by op kind), and the
 * backward's start, peak (and the node at it) and end. Off by default: sampling the CUDA allocator costs a lock per op.
 * Turned on in the middle of a forward, the ops before it are not in the first report.
 *
 * <p>Growth is attributed to the recorded op after which it was seen, so work that is not recorded (ops under
 * {@link NoGrad}, ops on tensors that need no gradient) counts towards the next recorded op on that thread. The first
 * recorded op a thread runs with tracing on is its baseline and is not counted, unless {@link #startForward} set one.
 */
public final class MemoryTrace {
    private static volatile boolean on = Boolean.getBoolean("flare.debug.memory");

    private static final ThreadLocal<MemoryTrace> CURRENT = ThreadLocal.withInitial(MemoryTrace::new);
    private static final ThreadLocal<Report> LAST = new ThreadLocal<>();

    private Backend device;                     // the device of the last sample; growth is measured on it
    private long last;
    private final Map<String, long[]> forward = new LinkedHashMap<>();      // op kind -> {bytes, calls}
    private long backwardStart, backwardPeak;
    private String peakNode;
    private int peakIndex, nodes;

    private MemoryTrace() {}

    /** One backward and the forward that led to it. Bytes are the device's allocated bytes (see Backend). */
    public record Report(String device, List<OpGrowth> forwardByOp, long backwardStartBytes, long backwardPeakBytes,
                         String peakNode, int peakNodeIndex, int nodes, long backwardEndBytes) {
        /** Bytes the forward's ops of one kind left allocated (negative: freed), over calls calls. */
        public record OpGrowth(String op, long bytes, long calls) {}

        public long forwardBytes() { return forwardByOp.stream().mapToLong(OpGrowth::bytes).sum(); }

        @Override
        public String toString() {
            StringBuilder b = new StringBuilder("memory trace (" + device + "): forward left " + Bytes.human(forwardBytes()) + " allocated:");
            forwardByOp.stream().sorted((x, y) -> Long.compare(y.bytes(), x.bytes())).limit(12)
                    .forEach(g -> b.append(' ').append(g.op()).append(' ').append(Bytes.human(g.bytes())).append(" (").append(g.calls()).append("),"));
            b.setLength(b.length() - 1);
            return b.append("; backward started at ").append(Bytes.human(backwardStartBytes)).append(", peaked at ")
                    .append(Bytes.human(backwardPeakBytes)).append(" after node ").append(peakNodeIndex + 1).append(" of ").append(nodes)
                    .append(" (").append(peakNode).append("), ended at ").append(Bytes.human(backwardEndBytes)).toString();
        }
    }

    /** Whether tracing is on: {@code -Dflare.debug.memory=true} at start, or {@link #setOn}. */
    public static boolean isOn() { return on; }

    /** Turns tracing on or off for every thread (a backward in progress may see it change). */
    public static void setOn(boolean enabled) { on = enabled; }

    /**
     * Measures this thread's next forward from here, on device (a training step calls it before each forward, so that
     * what the previous step freed is not counted against the first op). Without it, a forward is measured from the
     * end of the previous backward.
     */
    public static void startForward(Device device) {
        if (!on) return;
        MemoryTrace t = CURRENT.get();
        t.device = Backends.of(device);
        t.last = t.device.allocatedBytes();
        t.forward.clear();
    }

    /** The report of this thread's last backward while tracing was on, or null. */
    public static Report lastReport() { return LAST.get(); }

    /** The name a report gives an op: its OpCall kind, or a custom function's class. */
    static String name(OpCall call) {
        return switch (call) {
            case OpCall.Custom c -> c.function().getClass().getSimpleName();
            case OpCall.Unary u -> "Unary " + u.op();
            case OpCall.Binary b -> "Binary " + b.op();
            case OpCall.Scalar sc -> "Scalar " + sc.op();
            case OpCall.Reduce r -> "Reduce " + r.op();
            default -> call.getClass().getSimpleName();
        };
    }

    static void forwardOp(OpCall call, Tensor output) {
        MemoryTrace t = CURRENT.get();
        Backend backend = output.backend();
        long now = backend.allocatedBytes();
        if (backend == t.device) {
            long[] g = t.forward.computeIfAbsent(name(call), k -> new long[2]);
            g[0] += now - t.last;
            g[1]++;
        }
        t.device = backend;
        t.last = now;
    }

    static void backwardStart(Tensor root) {
        MemoryTrace t = CURRENT.get();
        if (t.device != root.backend()) {                 // no forward seen on this device: start afresh
            t.forward.clear();
            t.device = root.backend();
        }
        t.backwardStart = t.backwardPeak = t.device.allocatedBytes();
        t.peakNode = "none";
        t.peakIndex = -1;
        t.nodes = 0;
    }

    static void afterNode(OpCall call) {
        MemoryTrace t = CURRENT.get();
        if (t.device == null || t.peakNode == null) return;          // turned on during this backward
        long now = t.device.allocatedBytes();
        if (now > t.backwardPeak) {
            t.backwardPeak = now;
            t.peakNode = name(call);
            t.peakIndex = t.nodes;
        }
        t.nodes++;
    }

    static void backwardEnd() {
        MemoryTrace t = CURRENT.get();
        if (t.device == null || t.peakNode == null) return;
        long end = t.device.allocatedBytes();
        List<Report.OpGrowth> ops = new ArrayList<>();
        t.forward.forEach((op, g) -> ops.add(new Report.OpGrowth(op, g[0], g[1])));
        LAST.set(new Report(t.device.device().toString(), List.copyOf(ops), t.backwardStart, t.backwardPeak, t.peakNode,
                t.peakIndex, t.nodes, end));
        t.forward.clear();
        t.last = end;
        t.peakNode = null;
    }
}
