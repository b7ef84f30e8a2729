package dev.flare.tensor;

import org.junit.jupiter.api.Test;

import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Scoped lifetimes of tensor storage. */
class MemoryScopeTest {

    @Test
    void closingAScopeReleasesWhatWasAllocatedInIt() {
        Tensor outside = Tensor.ones(3);
        Tensor inside;
        Tensor view;
        try (MemoryScope scope = MemoryScope.open()) {
            inside = outside.add(outside);
            view = inside.view(3, 1);
            assertEquals(1, scope.ownedCount());
            assertSame(scope, MemoryScope.current());
        }
        assertTrue(inside.storage().isReleased(), "storage made in the scope is released");
        assertTrue(view.storage().isReleased(), "views share the released storage");
        assertFalse(outside.storage().isReleased(), "storage made before the scope is untouched");
        assertNull(MemoryScope.current());
    }

    @Test
    void releaseNowFreesOnlyWhatThisScopeOwnsAndOwnedBytesFollows() {
        Tensor outside = Tensor.ones(3);
        try (MemoryScope outer = MemoryScope.open()) {
            Tensor a = Tensor.ones(4), b = Tensor.ones(DType.F64, Device.CPU, 2);
            assertEquals(4 * 4 + 2 * 8, outer.ownedBytes());
            try (MemoryScope inner = MemoryScope.open()) {
                Tensor c = Tensor.ones(5);
                assertFalse(inner.releaseNow(a), "a belongs to the enclosing scope");
                assertFalse(inner.releaseNow(outside), "outside belongs to no scope");
                assertFalse(a.storage().isReleased() || outside.storage().isReleased());
                inner.keep(c);
                assertEquals(0, inner.ownedBytes());
                assertEquals(4 * 4 + 2 * 8 + 5 * 4, outer.ownedBytes(), "kept storage moves to the enclosing scope");
            }
            assertTrue(outer.releaseNow(a.view(2, 2)), "a view releases its base's storage");
            assertTrue(a.storage().isReleased());
            assertFalse(outer.releaseNow(a), "already released");
            MemoryScope.detach(b);
            assertEquals(5 * 4, outer.ownedBytes());
            assertEquals(1, outer.ownedCount());
        }
        assertFalse(outside.storage().isReleased());
    }

    @Test
    void useAfterReleaseThrowsAClearIllegalStateException() {
        Tensor t;
        try (MemoryScope ignored = MemoryScope.open()) {
            t = Tensor.zeros(DType.BF16, Device.CPU, 2, 5);
        }
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> t.add(t));
        assertTrue(e.getMessage().contains("BF16, 10 elements on cpu) was already released"), e.getMessage());
        assertThrows(IllegalStateException.class, t::toFloatArray);
        assertThrows(IllegalStateException.class, t::sum);
        assertThrows(IllegalStateException.class, () -> t.fill(1));
        assertTrue(t.toString().endsWith("<released>"), t.toString());
        Tensor u = Tensor.ones(2);
        u.release();
        assertThrows(IllegalStateException.class, () -> u.mul(2));
        u.release();   // idempotent
    }

    @Test
    void keepMovesStorageToTheParentScopeOrUnscopesIt() {
        Tensor kept;
        Tensor keptToTop;
        try (MemoryScope outer = MemoryScope.open()) {
            try (MemoryScope inner = MemoryScope.open()) {
                kept = inner.keep(Tensor.ones(2).mul(3));
                Tensor scratch = Tensor.zeros(4);
                assertEquals(2, inner.ownedCount(), "ones(2) and zeros(4) stay in the inner scope");
                assertEquals(1, outer.ownedCount(), "keep moves the product to the outer scope at once");
                assertFalse(scratch.storage().isReleased());
            }
            assertFalse(kept.storage().isReleased(), "kept storage survives the inner scope");
            assertEquals(1, outer.ownedCount(), "kept storage moved to the outer scope");
            assertEquals(6.0, kept.sum().item());
            keptToTop = outer.keep(Tensor.full(5, 1));
        }
        assertTrue(kept.storage().isReleased(), "the outer scope released what the inner one kept");
        assertFalse(keptToTop.storage().isReleased(), "kept from the outermost scope: unscoped");
        assertEquals(5.0, keptToTop.item());
    }

    @Test
    void closingOutOfOrderOrOnAnotherThreadThrows() throws Exception {
        MemoryScope outer = MemoryScope.open();
        MemoryScope inner = MemoryScope.open();
        IllegalStateException e = assertThrows(IllegalStateException.class, outer::close);
        assertTrue(e.getMessage().contains("out of order"), e.getMessage());
        AtomicReference<Throwable> other = new AtomicReference<>();
        Thread th = new Thread(() -> {
            try {
                inner.close();
            } catch (Throwable t) {
                other.set(t);
            }
        });
        th.start();
        th.join();
        assertTrue(other.get() instanceof IllegalStateException && other.get().getMessage().contains("opened on"),
                String.valueOf(other.get()));
        inner.close();
        outer.close();
        outer.close();   // idempotent
        assertNull(MemoryScope.current());
        IllegalStateException k = assertThrows(IllegalStateException.class, () -> inner.keep(Tensor.ones(1)));
        assertTrue(k.getMessage().contains("already closed"), k.getMessage());
    }
}
