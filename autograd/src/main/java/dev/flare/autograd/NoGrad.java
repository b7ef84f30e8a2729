package dev.flare.autograd;

/**
 * A scope in which ops are not recorded (evaluation, optimizer updates). Thread-local and nestable:
 * <pre>{@code try (NoGrad ignored = NoGrad.enter()) { ... } }</pre>
 */
public final class NoGrad implements AutoCloseable {
    private static final ThreadLocal<int[]> DEPTH = ThreadLocal.withInitial(() -> new int[1]);
    private boolean closed;

    private NoGrad() {}

    public static NoGrad enter() {
        DEPTH.get()[0]++;
        return new NoGrad();
    }

    /** True unless the current thread is inside a NoGrad scope. */
    public static boolean isGradEnabled() { return DEPTH.get()[0] == 0; }

    @Override
    public void close() {
        if (closed) return;
        closed = true;
        DEPTH.get()[0]--;
    }
}
