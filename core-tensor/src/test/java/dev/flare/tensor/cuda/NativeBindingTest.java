package dev.flare.tensor.cuda;

import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.invoke.MethodHandle;
import java.util.concurrent.atomic.AtomicInteger;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.junit.jupiter.api.Assertions.*;

/** Load-once, remembered failures and symbol binding of the FFM library bindings (on libc: no GPU needed). */
class NativeBindingTest {
    @Test
    void loadsOnceAndReturnsTheSameInstance() {
        AtomicInteger loads = new AtomicInteger();
        NativeBinding<Object> b = new NativeBinding<>(() -> { loads.incrementAndGet(); return new Object(); });
        assertSame(b.get(), b.get());
        assertEquals(1, loads.get());
    }

    @Test
    void aFailureIsRememberedWithItsMessageAndNotRetried() {
        AtomicInteger loads = new AtomicInteger();
        NativeBinding<Object> b = new NativeBinding<>(() -> {
            loads.incrementAndGet();
            throw new IllegalStateException("libfoo.so.1 not found in /a, /b");
        });
        for (int i = 0; i < 3; i++) {
            IllegalStateException e = assertThrows(IllegalStateException.class, b::get);
            assertEquals("libfoo.so.1 not found in /a, /b", e.getMessage());
        }
        assertEquals(1, loads.get());
    }

    @Test
    void bindsASymbolAndNamesTheLibraryWhenOneIsMissing() throws Throwable {
        Linker linker = Linker.nativeLinker();
        MethodHandle strlen = NativeBinding.bind(linker, linker.defaultLookup(), "strlen",
                FunctionDescriptor.of(JAVA_LONG, ADDRESS), "C library");
        try (Arena arena = Arena.ofConfined()) {
            assertEquals(5L, (long) strlen.invokeExact(arena.allocateFrom("flare")));
        }
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> NativeBinding.bind(linker,
                linker.defaultLookup(), "flare_no_such_symbol", FunctionDescriptor.ofVoid(), "C library"));
        assertEquals("symbol flare_no_such_symbol not found in the loaded C library", e.getMessage());
    }

    @Test
    void rethrowKeepsUncheckedExceptionsAndWrapsCheckedOnes() {
        IllegalArgumentException iae = new IllegalArgumentException("x");
        assertSame(iae, NativeBinding.rethrow(iae));
        Exception checked = new Exception("checked");
        RuntimeException wrapped = NativeBinding.rethrow(checked);
        assertSame(checked, wrapped.getCause());
        assertThrows(AssertionError.class, () -> NativeBinding.rethrow(new AssertionError("err")));
    }
}
