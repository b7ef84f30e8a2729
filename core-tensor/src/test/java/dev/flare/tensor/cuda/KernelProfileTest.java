package dev.flare.tensor.cuda;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** Aggregation and the per-step table of kernel times (the GPU side is in CudaKernelProfilingTest). */
class KernelProfileTest {
    @Test
    void sumsByNameSortsByTotalAndReportsPerStep() {
        KernelProfile p = new KernelProfile();
        p.add("gelu", 1.0);
        p.add("matmul", 3.0);
        p.add("gelu", 1.0);
        p.add("add", 0.5);
        List<KernelProfile.Row> rows = p.rows();
        assertEquals(List.of(new KernelProfile.Row("matmul", 1, 3.0), new KernelProfile.Row("gelu", 2, 2.0),
                new KernelProfile.Row("add", 1, 0.5)), rows);
        assertEquals(5.5, p.totalMs(), 1e-12);
        String table = p.table(2, 2);
        List<String> lines = table.lines().toList();
        assertEquals(5, lines.size(), table);
        assertTrue(lines.get(1).startsWith("matmul") && lines.get(1).contains(" 0.5 ") && lines.get(1).contains("1.500")
                && lines.get(1).contains("54.5%"), table);
        assertTrue(lines.get(2).startsWith("gelu") && lines.get(2).contains(" 1.0 ") && lines.get(2).contains("1.000"), table);
        assertTrue(lines.get(3).startsWith("(1 more)") && lines.get(3).contains("0.250") && lines.get(3).contains("9.1%"), table);
        assertTrue(lines.get(4).startsWith("GPU time in kernels") && lines.get(4).endsWith("2.750"), table);
        p.reset();
        assertTrue(p.rows().isEmpty());
    }

    @Test
    void badArgumentsAreNamed() {
        KernelProfile p = new KernelProfile();
        assertTrue(assertThrows(IllegalArgumentException.class, () -> p.table(0, 5)).getMessage().startsWith("steps: expected > 0, got 0"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> p.table(1, 0)).getMessage().startsWith("top: expected > 0, got 0"));
    }
}
