package dev.flare.examples.cli;

import dev.flare.tensor.cuda.Cuda;
import dev.flare.training.distributed.ProcessGroup;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * {@code flare train --nproc N}: starts N child JVMs running the same command line without --nproc, one per GPU
 * (rank r gets --device cuda:r and FLARE_RANK=r, FLARE_WORLD_SIZE=N, FLARE_MASTER_ADDR/PORT for the rendezvous),
 * prints their output with a [rank] prefix, and stops the others as soon as one fails.
 */
final class Launcher {
    private Launcher() {}

    /** Checks N against the GPUs this machine shows; a clear error otherwise. */
    static void check(int nproc, int visibleGpus, String whyNone) {
        if (nproc < 1) throw new IllegalArgumentException("--nproc: expected >= 1, got " + nproc);
        if (nproc > 1 && visibleGpus == 0)
            throw new IllegalArgumentException("--nproc " + nproc + ": data-parallel training needs one CUDA GPU per process, and none is visible ("
                    + whyNone + ")");
        if (nproc > visibleGpus && nproc > 1)
            throw new IllegalArgumentException("--nproc " + nproc + ": only " + visibleGpus + " CUDA GPU(s) visible"
                    + " (one process per GPU; CUDA_VISIBLE_DEVICES=" + System.getenv("CUDA_VISIBLE_DEVICES") + ")");
    }

    /** The child's arguments: args without --nproc, and --device replaced by cuda:rank. */
    static List<String> childArgs(List<String> args, int rank) {
        List<String> out = new ArrayList<>();
        for (int i = 0; i < args.size(); i++) {
            String a = args.get(i);
            if (a.equals("--nproc") || a.equals("--device")) i++;             // drop the option and its value
            else if (!a.startsWith("--nproc=") && !a.startsWith("--device=")) out.add(a);
        }
        if (out.contains("--resume")) throw new IllegalArgumentException("--resume with --nproc: resuming a data-parallel run is not supported yet");
        out.add("--device");
        out.add("cuda:" + rank);
        return out;
    }

    /** Runs the children to the end; returns 0, or the exit code of the first child that failed. */
    static int launch(int nproc, List<String> trainArgs) throws IOException, InterruptedException {
        int port;
        try (ServerSocket s = new ServerSocket(0)) { port = s.getLocalPort(); }     // a free port for rank 0
        String java = ProcessHandle.current().info().command().orElse("java");
        List<Process> children = new ArrayList<>();
        List<Thread> pumps = new ArrayList<>();
        try {
            for (int rank = 0; rank < nproc; rank++) {
                List<String> cmd = new ArrayList<>(List.of(java));
                cmd.addAll(ManagementFactory.getRuntimeMXBean().getInputArguments());
                cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), FlareMain.class.getName(), "train"));
                cmd.addAll(childArgs(trainArgs, rank));
                ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
                pb.environment().put(ProcessGroup.RANK, Integer.toString(rank));
                pb.environment().put(ProcessGroup.WORLD_SIZE, Integer.toString(nproc));
                pb.environment().put(ProcessGroup.MASTER_ADDR, "127.0.0.1");
                pb.environment().put(ProcessGroup.MASTER_PORT, Integer.toString(port));
                Process p = pb.start();
                children.add(p);
                pumps.add(Thread.ofPlatform().daemon().start(() -> forward(p, "[" + children.indexOf(p) + "] ", System.out)));
            }
            return waitAll(children);
        } finally {
            for (Process p : children) p.destroyForcibly();
            for (Thread t : pumps) t.join(1000);
        }
    }

    /** Waits until all exit 0, or one fails: then the others are stopped (a rank alone would hang in NCCL). */
    private static int waitAll(List<Process> children) throws InterruptedException {
        while (true) {
            boolean allDone = true;
            for (int r = 0; r < children.size(); r++) {
                Process p = children.get(r);
                if (p.isAlive()) {
                    allDone = false;
                    continue;
                }
                if (p.exitValue() != 0) {
                    System.err.println("flare: rank " + r + " exited with code " + p.exitValue() + "; stopping the other ranks");
                    for (Process q : children) q.destroy();
                    for (Process q : children) if (!q.waitFor(10, TimeUnit.SECONDS)) q.destroyForcibly();
                    return p.exitValue();
                }
            }
            if (allDone) return 0;
            Thread.sleep(100);
        }
    }

    private static void forward(Process p, String prefix, PrintStream out) {
        try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
            for (String line; (line = r.readLine()) != null; ) out.println(prefix + line);
        } catch (IOException e) {
            // the child was stopped; its output ends here
        }
    }

    static int visibleGpus() { return Cuda.isAvailable() ? Cuda.deviceCount() : 0; }
}
