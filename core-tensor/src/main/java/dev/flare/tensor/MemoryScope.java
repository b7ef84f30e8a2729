package dev.flare.tensor;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;

/**
 * Explicit lifetimes for tensor memory (the garbage collector does not free GPU memory in time).
 * Every storage allocated while a scope is open on the current thread belongs to the innermost scope and is
 * released when it closes, unless it was {@link #keep kept}: kept storage moves to the enclosing scope, or
 * becomes unscoped (owned by the caller, released by {@link Tensor#release()} or, on the CPU, the garbage
 * collector) when there is none.
 *
 * <pre>{@code
 * try (MemoryScope step = MemoryScope.open()) {
 *     Tensor loss = model.forward(x, y);
 *     loss.backward();
 *     return step.keep(loss.detach());
 * }
 * }</pre>
 * Views share their base's storage: keeping a view keeps the whole storage.
 */
public final class MemoryScope implements AutoCloseable {
    private static final ThreadLocal<Deque<MemoryScope>> STACK = ThreadLocal.withInitial(ArrayDeque::new);

    private final List<Storage> owned = new ArrayList<>();
    private long ownedBytes;
    private final Thread thread = Thread.currentThread();
    private boolean closed;

    private MemoryScope() {}

    /** Opens a scope nested in the current thread's innermost one. Close it with try-with-resources. */
    public static MemoryScope open() {
        MemoryScope s = new MemoryScope();
        STACK.get().push(s);
        return s;
    }

    /** The innermost open scope of this thread, or null. */
    public static MemoryScope current() { return STACK.get().peek(); }

    /** Gives new storage to this thread's innermost scope; whether there was one. */
    static boolean track(Storage storage) {
        MemoryScope s = STACK.get().peek();
        if (s != null) s.add(storage);
        return s != null;
    }

    private void add(Storage storage) {
        owned.add(storage);
        ownedBytes += storage.bytes();
    }

    /** Removes storage from this scope's list (identity, searching from the most recent); whether it was there. */
    private boolean remove(Storage storage) {
        for (int i = owned.size() - 1; i >= 0; i--) {
            if (owned.get(i) == storage) {
                owned.remove(i);
                ownedBytes -= storage.bytes();
                return true;
            }
        }
        return false;
    }

    /** Keeps {@code tensor}'s storage alive past this scope (moves it to the enclosing scope). Returns it. */
    public Tensor keep(Tensor tensor) {
        if (tensor != null) keepStorage(tensor.storage());
        return tensor;
    }

    /**
     * Takes {@code tensor}'s storage out of every open scope of this thread: it becomes unscoped, owned by
     * the caller (for long-lived tensors such as parameters' gradients created inside a step's scope).
     */
    public static Tensor detach(Tensor tensor) {
        Storage storage = tensor.storage();
        for (MemoryScope s : STACK.get())
            if (s.remove(storage)) {
                storage.leftScopes();
                return tensor;
            }
        return tensor;
    }

    /**
     * Releases {@code tensor}'s storage now when this scope owns it (not an enclosing scope), and returns whether it
     * did: for code that knows nothing else holds the storage, such as the autograd engine with a gradient it has
     * consumed. Storage owned elsewhere is left alone.
     */
    public boolean releaseNow(Tensor tensor) {
        if (closed) throw new IllegalStateException("releaseNow: this MemoryScope is already closed");
        Storage storage = tensor.storage();
        if (!remove(storage)) return false;
        storage.release();
        return true;
    }

    /** Keeps every given tensor. */
    public void keepAll(Iterable<Tensor> tensors) {
        for (Tensor t : tensors) keep(t);
    }

    private void keepStorage(Storage storage) {
        if (closed) throw new IllegalStateException("keep: this MemoryScope is already closed");
        if (!remove(storage)) return;
        MemoryScope parent = null;
        boolean seen = false;
        for (MemoryScope s : STACK.get()) {       // iterates innermost first
            if (seen) { parent = s; break; }
            if (s == this) seen = true;
        }
        if (parent != null) parent.add(storage);
        else storage.leftScopes();
    }

    /** Number of storages this scope will release on close. */
    public int ownedCount() { return owned.size(); }

    /** Bytes of the storages this scope will release on close. */
    public long ownedBytes() { return ownedBytes; }

    /** Releases what this scope owns. Scopes must close innermost first, on the thread that opened them. */
    @Override
    public void close() {
        if (closed) return;
        if (Thread.currentThread() != thread)
            throw new IllegalStateException("MemoryScope closed on thread " + Thread.currentThread().getName()
                    + " but opened on " + thread.getName());
        Deque<MemoryScope> stack = STACK.get();
        if (stack.peek() != this)
            throw new IllegalStateException("MemoryScope closed out of order: an inner scope is still open");
        stack.pop();
        closed = true;
        for (Storage s : owned) s.release();
        owned.clear();
        ownedBytes = 0;
    }
}
