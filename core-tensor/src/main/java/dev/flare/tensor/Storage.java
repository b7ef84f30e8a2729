package dev.flare.tensor;

/**
 * A flat block of elements on one device. Tensors are views (shape, strides, offset) over a storage.
 * A storage is released explicitly, by {@link MemoryScope} or {@link Tensor#release()}; after that any access
 * throws, naming where the storage was created when {@code -Dflare.debug.alloc=true}.
 */
public abstract class Storage {
    private final DType dtype;
    private final long numel;
    private volatile boolean released;
    /** Bumped by every in-place write through a tensor, so autograd can detect a changed saved tensor. */
    private int version;
    private final Throwable allocationSite;
    private boolean scoped;

    protected Storage(DType dtype, long numel) {
        if (numel < 0) throw new IllegalArgumentException("numel: expected >= 0, got " + numel);
        this.dtype = dtype;
        this.numel = numel;
        this.allocationSite = Boolean.getBoolean("flare.debug.alloc") ? new Throwable("allocated here") : null;
        scoped = MemoryScope.track(this);
    }

    /** Whether a {@link MemoryScope} owns this storage (and will release it when it closes). */
    public final boolean isScoped() { return scoped; }

    /** Called by MemoryScope when this storage leaves its last scope unreleased (detached, or kept past the outermost). */
    final void leftScopes() {
        scoped = false;
        onUnscoped();
    }

    /**
     * Hook: the storage is now owned by the caller, released by {@link #release()} or never (then only the garbage
     * collector reclaims it). Runs at most once, and only for storage created inside a scope; a backend checks
     * {@link #isScoped()} after construction for the rest.
     */
    protected void onUnscoped() {}

    public final DType dtype() { return dtype; }

    public final long numel() { return numel; }

    public final long bytes() { return numel * dtype.byteSize(); }

    public abstract Device device();

    public final boolean isReleased() { return released; }

    public final int version() { return version; }

    /** Where this storage was allocated, when {@code -Dflare.debug.alloc=true}; null otherwise. */
    public final Throwable allocationSite() { return allocationSite; }

    public final void bumpVersion() { version++; }

    /** Returns the memory (to the allocator, or to the garbage collector on the CPU). Idempotent. */
    public final void release() {
        if (!RELEASED.compareAndSet(this, false, true)) return;     // once, even when two threads race to release
        free();
    }

    private static final java.lang.invoke.VarHandle RELEASED;
    static {
        try {
            RELEASED = java.lang.invoke.MethodHandles.lookup().findVarHandle(Storage.class, "released", boolean.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    protected abstract void free();

    /** Throws if this storage was released. Every backend calls this before touching memory. */
    public final void checkLive() {
        if (released) {
            IllegalStateException e = new IllegalStateException("tensor storage (" + dtype + ", " + numel
                    + " elements on " + device() + ") was already released (its MemoryScope closed or release() was called)"
                    + (allocationSite == null ? "; run with -Dflare.debug.alloc=true to see where it was allocated" : ""));
            if (allocationSite != null) e.initCause(allocationSite);
            throw e;
        }
    }

    /** Copies {@code count} elements from a host array of this storage's Java element type into this storage. */
    public abstract void copyFromHost(Object srcArray, int srcIndex, long dstIndex, int count);

    /** Copies {@code count} elements of this storage into a host array of its Java element type. */
    public abstract void copyToHost(long srcIndex, Object dstArray, int dstIndex, int count);
}
