package dev.flare.tensor.cpu;

import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import java.util.function.IntConsumer;

/**
 * The GEMM's own thread pool: {@code CpuGemm.THREADS - 1} daemon workers plus the calling thread. Workers
 * spin for {@code CpuGemm.SPIN_NANOS} after each task before parking, so back-to-back GEMMs (a training
 * step makes hundreds) start at once instead of paying a wake-up each. One call uses the pool at a time;
 * a concurrent or nested call runs on its own thread.
 */
final class GemmThreads {
    private static final class Holder {
        static final GemmThreads POOL = new GemmThreads(CpuGemm.THREADS - 1);
    }

    private final Worker[] workers;
    private final AtomicBoolean busy = new AtomicBoolean();

    private GemmThreads(int n) {
        workers = new Worker[n];
        for (int i = 0; i < n; i++) {
            workers[i] = new Worker("flare-gemm-" + (i + 1));
            workers[i].start();
        }
    }

    /** The pool, reserved for the caller until {@link #release}, or null when none is free (or no point). */
    static GemmThreads acquire() {
        if (CpuGemm.THREADS < 2 || Thread.currentThread() instanceof Worker) {
            return null;
        }
        GemmThreads p = Holder.POOL;
        return p.busy.compareAndSet(false, true) ? p : null;
    }

    void release() {
        busy.set(false);
    }

    /** Threads of a call, the caller included. */
    int size() {
        return workers.length + 1;
    }

    /** Runs body(0 .. n-1) at once: 0 on the calling thread, the others on workers; rethrows the first error. */
    void run(int n, IntConsumer body) {
        Region r = new Region(body, n - 1);
        for (int i = 1; i < n; i++) {
            workers[i - 1].post(r, i);
        }
        Throwable error = null;
        try {
            body.accept(0);
        } catch (Throwable e) {
            error = e;
        }
        r.await();
        Throwable other = r.error;
        if (error == null) {
            error = other;
        } else if (other != null && other != error) {
            error.addSuppressed(other);
        }
        if (error instanceof RuntimeException re) {
            throw re;
        }
        if (error instanceof Error er) {
            throw er;
        }
        if (error != null) {
            throw new RuntimeException(error);
        }
    }

    /** One parallel region: the body and the count of workers still running it. */
    private static final class Region {
        final IntConsumer body;
        final AtomicInteger pending;
        final Thread caller = Thread.currentThread();
        volatile boolean callerSleeping;
        volatile Throwable error;

        Region(IntConsumer body, int workers) {
            this.body = body;
            this.pending = new AtomicInteger(workers);
        }

        void done(Throwable e) {
            if (e != null && error == null) {
                error = e;
            }
            if (pending.decrementAndGet() == 0 && callerSleeping) {
                LockSupport.unpark(caller);
            }
        }

        /** Spins, then parks in short naps (an unpark may race with the flag), until every worker is done. */
        void await() {
            long deadline = System.nanoTime() + CpuGemm.SPIN_NANOS;
            while (pending.get() != 0) {
                if (System.nanoTime() < deadline) {
                    Thread.onSpinWait();
                } else {
                    callerSleeping = true;
                    if (pending.get() != 0) {
                        LockSupport.parkNanos(this, 100_000);
                    }
                    callerSleeping = false;
                }
            }
        }
    }

    private static final class Worker extends Thread {
        private volatile Region region;
        private volatile int index;
        private volatile boolean sleeping;

        Worker(String name) {
            super(name);
            setDaemon(true);
        }

        void post(Region r, int i) {
            index = i;
            region = r;
            if (sleeping) {
                LockSupport.unpark(this);
            }
        }

        @Override
        public void run() {
            while (true) {
                long deadline = System.nanoTime() + CpuGemm.SPIN_NANOS;
                Region r;
                while ((r = region) == null) {
                    if (System.nanoTime() < deadline) {
                        Thread.onSpinWait();
                    } else {
                        sleeping = true;
                        if (region == null) {
                            LockSupport.park(this);
                        }
                        sleeping = false;
                    }
                }
                Throwable error = null;
                try {
                    r.body.accept(index);
                } catch (Throwable e) {
                    error = e;
                }
                region = null;
                r.done(error);
            }
        }
    }
}
