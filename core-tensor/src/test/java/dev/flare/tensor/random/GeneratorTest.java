package dev.flare.tensor.random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.flare.tensor.TestSeeds;
import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.concurrent.CountDownLatch;
import org.junit.jupiter.api.Test;

class GeneratorTest {

    @Test
    void reserveReturnsStartAndAdvances() {
        Generator g = new Generator(123);
        assertEquals(123, g.seed());
        assertEquals(0, g.offset());
        assertEquals(0, g.reserve(5));
        assertEquals(5, g.reserve(0));
        assertEquals(5, g.reserve(2));
        assertEquals(7, g.offset());
        assertThrows(IllegalArgumentException.class, () -> g.reserve(-1));
        assertEquals(7, g.offset());
        Generator resumed = new Generator(123, 7);
        assertEquals(7, resumed.reserve(1));
    }

    @Test
    void concurrentReservationsAreDisjoint() throws Exception {
        long seed = TestSeeds.fresh();
        Generator g = new Generator(1);
        int perThread = 20_000;
        long[][] starts = new long[2][perThread];
        long[][] sizes = new long[2][perThread];
        CountDownLatch go = new CountDownLatch(1);
        Thread[] threads = new Thread[2];
        for (int t = 0; t < 2; t++) {
            int id = t;
            threads[t] = new Thread(() -> {
                SplittableRandom rnd = new SplittableRandom(seed + id);
                try {
                    go.await();
                } catch (InterruptedException e) {
                    throw new RuntimeException(e);
                }
                for (int i = 0; i < perThread; i++) {
                    sizes[id][i] = rnd.nextInt(1, 9);
                    starts[id][i] = g.reserve(sizes[id][i]);
                }
            });
            threads[t].start();
        }
        go.countDown();
        for (Thread t : threads) {
            t.join();
        }
        long total = Arrays.stream(sizes[0]).sum() + Arrays.stream(sizes[1]).sum();
        assertEquals(total, g.offset(), TestSeeds.describe(seed));
        long[][] all = new long[2 * perThread][];
        for (int t = 0; t < 2; t++) {
            for (int i = 0; i < perThread; i++) {
                all[t * perThread + i] = new long[] {starts[t][i], sizes[t][i]};
            }
        }
        Arrays.sort(all, (x, y) -> Long.compare(x[0], y[0]));
        long next = 0;
        for (long[] r : all) {
            assertEquals(next, r[0], "gap or overlap " + TestSeeds.describe(seed));
            next += r[1];
        }
    }

    @Test
    void defaultGeneratorAndManualSeed() {
        String before = System.getProperty(Generator.SEED_PROPERTY);
        try {
            Generator d = Generator.defaultGenerator();
            assertSame(d, Generator.defaultGenerator());
            if (before == null) {
                assertEquals(Generator.DEFAULT_SEED, d.seed());
                assertEquals(0L, Generator.DEFAULT_SEED);
            }
            Generator m = Generator.manualSeed(77);
            assertSame(m, Generator.defaultGenerator());
            assertEquals(77, m.seed());
            assertEquals(0, m.offset());
        } finally {
            Generator.manualSeed(Generator.seedFromProperty());
        }
    }

    @Test
    void seedProperty() {
        String before = System.getProperty(Generator.SEED_PROPERTY);
        try {
            System.clearProperty(Generator.SEED_PROPERTY);
            assertEquals(0, Generator.seedFromProperty());
            System.setProperty(Generator.SEED_PROPERTY, " 1234 ");
            assertEquals(1234, Generator.seedFromProperty());
            System.setProperty(Generator.SEED_PROPERTY, "-5");
            assertEquals(-5, Generator.seedFromProperty());
            System.setProperty(Generator.SEED_PROPERTY, "0x10");
            assertEquals(16, Generator.seedFromProperty());
            System.setProperty(Generator.SEED_PROPERTY, "0xFFFFFFFFFFFFFFFF");
            assertEquals(-1, Generator.seedFromProperty());
            System.setProperty(Generator.SEED_PROPERTY, "twelve");
            assertThrows(IllegalArgumentException.class, Generator::seedFromProperty);
        } finally {
            if (before == null) {
                System.clearProperty(Generator.SEED_PROPERTY);
            } else {
                System.setProperty(Generator.SEED_PROPERTY, before);
            }
        }
    }

    @Test
    void toStringShowsState() {
        Generator g = new Generator(9, 3);
        assertEquals("Generator[seed=9, offset=3]", g.toString());
        Generator wrapped = new Generator(-1, -1);
        assertTrue(wrapped.toString().contains("offset=18446744073709551615"), wrapped.toString());
    }
}
