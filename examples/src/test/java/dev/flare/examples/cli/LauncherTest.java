package dev.flare.examples.cli;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** flare train --nproc: argument checks and the children's command lines (CPU; no process is started). */
class LauncherTest {
    @Test
    void childrenGetTheArgumentsWithoutNprocAndTheirOwnGpu() {
        List<String> args = List.of("--steps", "5", "--nproc", "2", "--device", "cuda", "--set", "lr=1e-3", "--nproc=2", "--device=cpu");
        assertEquals(List.of("--steps", "5", "--set", "lr=1e-3", "--device", "cuda:1"), Launcher.childArgs(args, 1));
        assertEquals(List.of("--device", "cuda:0"), Launcher.childArgs(List.of("--nproc", "4"), 0));
    }

    @Test
    void moreProcessesThanGpusIsAClearError() {
        var e = assertThrows(IllegalArgumentException.class, () -> Launcher.check(4, 2, null));
        assertTrue(e.getMessage().contains("only 2 CUDA GPU(s) visible"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Launcher.check(2, 0, "no libcuda.so.1"));
        assertTrue(e.getMessage().contains("none is visible (no libcuda.so.1)"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Launcher.check(0, 8, null));
        assertTrue(e.getMessage().startsWith("--nproc: expected >= 1"), e.getMessage());
        Launcher.check(1, 0, null);      // one process needs no GPU
        Launcher.check(2, 2, null);
    }

    @Test
    void resumingADataParallelRunIsRefused() {
        assertThrows(IllegalArgumentException.class, () -> Launcher.childArgs(List.of("--resume", "runs/x/step-00000010"), 0));
    }

    @Test
    void theCommandLineRefusesTwoProcessesWithoutGpus() {
        if (Launcher.visibleGpus() >= 2) return;      // a machine with two GPUs would really launch
        Cli r = Cli.run("train", "--nproc", "2", "--steps", "1");
        assertEquals(2, r.code(), r.toString());
    }

    @Test
    void aFailingChildStopsTheLaunchWithItsExitCode() throws Exception {
        // real child JVMs: --steps 0 is bad usage (exit 2) in each rank, before any GPU is touched
        assertEquals(2, Launcher.launch(2, List.of("--steps", "0")));
    }

    @Test
    void theDeviceOptionTheChildrenGetIsAccepted(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) throws Exception {
        // --device was refused as an unknown setting (Device is a record) before the launcher needed it
        Cli r = Cli.trainTiny(dir, "--device", "cpu");
        assertEquals(0, r.code(), r.err());
    }
}
