package dev.flare.tensor.cuda;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.util.function.Supplier;

/**
 * What the FFM bindings of native libraries (cuBLAS/cuBLASLt, NCCL) share: loading once per JVM (a failure is
 * remembered and its message repeated on every later call, so a missing library is searched for only once),
 * binding symbols, and unwrapping the Throwable of {@code invokeExact}.
 */
final class NativeBinding<T> {
    private final Supplier<T> load;
    private volatile T instance;
    private volatile String failure;

    /** load throws IllegalStateException, saying what it tried, when the library cannot be loaded. */
    NativeBinding(Supplier<T> load) { this.load = load; }

    /** The loaded binding; throws IllegalStateException with the first failure's message when it could not load. */
    T get() {
        T l = instance;
        if (l != null) return l;
        synchronized (this) {
            if (instance != null) return instance;
            if (failure != null) throw new IllegalStateException(failure);
            try {
                instance = load.get();
                return instance;
            } catch (IllegalStateException e) {
                failure = e.getMessage();
                throw e;
            }
        }
    }

    /** A downcall handle for symbol name of lookup; library names the library in the error when it is missing. */
    static MethodHandle bind(Linker linker, SymbolLookup lookup, String name, FunctionDescriptor fd, String library) {
        MemorySegment symbol = lookup.find(name).orElseThrow(() ->
                new IllegalStateException("symbol " + name + " not found in the loaded " + library));
        return linker.downcallHandle(symbol, fd);
    }

    /** invokeExact's Throwable as an unchecked exception (Errors are rethrown as they are). */
    static RuntimeException rethrow(Throwable t) {
        if (t instanceof RuntimeException r) return r;
        if (t instanceof Error e) throw e;
        return new IllegalStateException("native call failed: " + t, t);
    }
}
