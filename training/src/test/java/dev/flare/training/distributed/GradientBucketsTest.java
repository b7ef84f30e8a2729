package dev.flare.training.distributed;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

class GradientBucketsTest {
    @Test
    void bucketsFillUpToTheLimitInOrder() {
        List<GradientBuckets.Bucket> b = GradientBuckets.plan(new long[]{10, 10, 10, 25, 5, 40, 1}, 30);
        assertEquals(List.of(new GradientBuckets.Bucket(0, 3, 30), new GradientBuckets.Bucket(3, 5, 30),
                new GradientBuckets.Bucket(5, 6, 40), new GradientBuckets.Bucket(6, 7, 1)), b);
    }

    @Test
    void randomSizesAreCoveredOnceInOrderAndWithinTheLimit() {
        Random rnd = new Random(42);
        for (int trial = 0; trial < 200; trial++) {
            long[] bytes = new long[rnd.nextInt(40)];
            for (int i = 0; i < bytes.length; i++) bytes[i] = rnd.nextInt(5) == 0 ? rnd.nextInt(200) : rnd.nextInt(30);
            long limit = 1 + rnd.nextInt(100);
            int next = 0;
            for (GradientBuckets.Bucket b : GradientBuckets.plan(bytes, limit)) {
                assertEquals(next, b.from(), "buckets are consecutive");
                assertTrue(b.to() > b.from(), "no empty bucket");
                long sum = 0;
                for (int i = b.from(); i < b.to(); i++) sum += bytes[i];
                assertEquals(sum, b.bytes());
                assertTrue(sum <= limit || b.to() - b.from() == 1, "over the limit only as a lone tensor: " + b);
                next = b.to();
            }
            assertEquals(bytes.length, next, "every tensor once");
        }
    }

    @Test
    void nothingToReduceGivesNoBucketsAndBadLimitsAreRefused() {
        assertEquals(List.of(), GradientBuckets.plan(new long[0], 10));
        assertThrows(IllegalArgumentException.class, () -> GradientBuckets.plan(new long[]{1}, 0));
        assertThrows(IllegalArgumentException.class, () -> GradientBuckets.plan(new long[]{-1}, 10));
    }
}
