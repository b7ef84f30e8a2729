package dev.flare.tensor.cuda;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/** Where NCCL is looked for, and what a machine without it is told (CPU only). */
class NcclLibraryTest {
    @TempDir Path home;

    @Test
    void pipWheelFoldersAreSearchedAfterTheCudaFolders() throws Exception {
        Files.createDirectories(home.resolve(".local/lib/python3.12/site-packages"));
        Path venv = home.resolve("venv");
        List<Path> dirs = NcclLibrary.folders(Map.of("VIRTUAL_ENV", venv.toString(), "PYTHONPATH", "/opt/a:/opt/b"), home);
        Files.createDirectories(venv.resolve("lib/python3.11"));
        List<Path> withVenv = NcclLibrary.folders(Map.of("VIRTUAL_ENV", venv.toString()), home);
        assertTrue(dirs.contains(home.resolve(".local/lib/python3.12/site-packages/nvidia/nccl/lib")), dirs.toString());
        assertTrue(dirs.contains(Path.of("/opt/a/nvidia/nccl/lib")) && dirs.contains(Path.of("/opt/b/nvidia/nccl/lib")), dirs.toString());
        assertTrue(withVenv.contains(venv.resolve("lib/python3.11/site-packages/nvidia/nccl/lib")), withVenv.toString());
        assertEquals(CublasLibrary.folders(), dirs.subList(0, CublasLibrary.folders().size()), "CUDA folders first");
    }

    @Test
    void aMachineWithoutNcclIsToldWhatWasTried() {
        if (Nccl.isAvailable()) return;       // a machine with NCCL has nothing to report
        String why = Nccl.unavailableReason();
        assertTrue(why.contains("libnccl.so.2") && why.contains("FLARE_NCCL_LIBRARY") && why.contains("nvidia/nccl/lib"), why);
        IllegalStateException e = assertThrows(IllegalStateException.class, Nccl::version);
        assertEquals(why, e.getMessage());
    }

    @Test
    void versionCodesAndStatusesReadAsNcclWritesThem() {
        assertEquals("2.27.3", Nccl.versionText(22703));
        assertEquals("2.8.4", Nccl.versionText(2804));
        assertEquals("ncclInvalidArgument", Nccl.statusName(4));
        assertEquals("ncclResult 99", Nccl.statusName(99));
    }
}
