package dev.flare.tensor.cuda;

import jcuda.driver.CUdevice;
import jcuda.driver.CUdevice_attribute;
import jcuda.driver.CUresult;
import jcuda.driver.JCudaDriver;

/**
 * Whether CUDA can be used here, and what the devices are. {@link #isAvailable()} never throws: a missing
 * JCuda native library, a missing driver ({@code libcuda.so.1}) or no GPU all give {@code false}, and
 * {@link #unavailableReason()} says which. The answer is computed once and cached.
 * {@code -Dflare.cuda.disable=true} makes CUDA unavailable on purpose.
 */
public final class Cuda {
    private static volatile Boolean available;
    private static volatile String reason;
    private static int deviceCount;

    private Cuda() {}

    /** True when the JCuda natives load, cuInit succeeds and at least one CUDA device is present. */
    public static boolean isAvailable() {
        Boolean a = available;
        if (a == null) a = probe();
        return a;
    }

    /** Why CUDA is not available (null when it is). */
    public static String unavailableReason() {
        isAvailable();
        return reason;
    }

    private static synchronized boolean probe() {
        if (available != null) return available;
        boolean ok = false;
        try {
            if (Boolean.getBoolean("flare.cuda.disable")) {
                reason = "CUDA disabled by -Dflare.cuda.disable=true";
            } else {
                JCudaDriver.setExceptionsEnabled(false);
                int r = JCudaDriver.cuInit(0);
                if (r != CUresult.CUDA_SUCCESS) {
                    reason = "cuInit failed: " + CudaException.statusName(r)
                            + " (no NVIDIA driver, no GPU, or the driver is older than the CUDA version JCuda needs)";
                } else {
                    int[] n = new int[1];
                    r = JCudaDriver.cuDeviceGetCount(n);
                    if (r != CUresult.CUDA_SUCCESS) {
                        reason = "cuDeviceGetCount failed: " + CudaException.statusName(r);
                    } else if (n[0] == 0) {
                        reason = "no CUDA device is visible (check CUDA_VISIBLE_DEVICES)";
                    } else {
                        deviceCount = n[0];
                        ok = true;
                    }
                }
            }
        } catch (Throwable t) {
            // UnsatisfiedLinkError (no libcuda.so.1 or no JCuda natives for this platform), NoClassDefFoundError, ...
            reason = "the CUDA driver could not be loaded through JCuda: " + summarize(t);
        }
        if (ok) reason = null;
        available = ok;
        return ok;
    }

    /** The gist of a native-library failure: its first line and the loader's "cannot open" line if any. */
    static String summarize(Throwable t) {
        String msg = String.valueOf(t.getMessage());
        String first = t.getClass().getSimpleName() + ": " + msg.lines().findFirst().orElse("");
        String cause = msg.lines().filter(l -> l.contains("cannot open shared object") || l.contains("undefined symbol"))
                .map(l -> l.substring(l.indexOf(':') + 1).trim()).findFirst().orElse(null);
        return cause == null ? first : first + " (" + cause + ")";
    }

    /** Number of CUDA devices (0 when CUDA is unavailable). */
    public static int deviceCount() { return isAvailable() ? deviceCount : 0; }

    /** Throws an exception with {@link #unavailableReason()} unless CUDA is available and {@code device} exists. */
    public static void requireDevice(int device) {
        if (!isAvailable()) throw new IllegalStateException("CUDA is not available: " + unavailableReason());
        if (device < 0 || device >= deviceCount)
            throw new IllegalArgumentException("device: cuda:" + device + " does not exist; " + deviceCount
                    + " CUDA device(s) visible");
    }

    static CUdevice handle(int device) {
        requireDevice(device);
        CUdevice d = new CUdevice();
        CudaException.check(JCudaDriver.cuDeviceGet(d, device), "cuDeviceGet(" + device + ")");
        return d;
    }

    public static String deviceName(int device) {
        byte[] name = new byte[256];
        CudaException.check(JCudaDriver.cuDeviceGetName(name, name.length, handle(device)), "cuDeviceGetName");
        int len = 0;
        while (len < name.length && name[len] != 0) len++;
        return new String(name, 0, len, java.nio.charset.StandardCharsets.US_ASCII);
    }

    /** Compute capability as {major, minor}, e.g. {9, 0} for an H100. */
    public static int[] computeCapability(int device) {
        return new int[]{attribute(device, CUdevice_attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR),
                attribute(device, CUdevice_attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR)};
    }

    public static int multiprocessorCount(int device) {
        return attribute(device, CUdevice_attribute.CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT);
    }

    public static long totalMemory(int device) {
        long[] bytes = new long[1];
        CudaException.check(JCudaDriver.cuDeviceTotalMem(bytes, handle(device)), "cuDeviceTotalMem");
        return bytes[0];
    }

    public static int attribute(int device, int attribute) {
        int[] v = new int[1];
        CudaException.check(JCudaDriver.cuDeviceGetAttribute(v, attribute, handle(device)),
                "cuDeviceGetAttribute(" + attribute + ")");
        return v[0];
    }

    /** The installed driver's CUDA version, e.g. 13000 for 13.0. */
    public static int driverVersion() {
        if (!isAvailable()) return 0;
        int[] v = new int[1];
        CudaException.check(JCudaDriver.cuDriverGetVersion(v), "cuDriverGetVersion");
        return v[0];
    }

    /** One line per device: index, name, compute capability, memory. */
    public static String describe() {
        if (!isAvailable()) return "CUDA unavailable: " + unavailableReason();
        StringBuilder sb = new StringBuilder("CUDA driver " + driverVersion() / 1000 + "." + (driverVersion() % 1000) / 10);
        for (int i = 0; i < deviceCount; i++) {
            int[] cc = computeCapability(i);
            sb.append(String.format("%ncuda:%d %s, sm_%d%d, %d SMs, %.1f GiB", i, deviceName(i), cc[0], cc[1],
                    multiprocessorCount(i), totalMemory(i) / (double) (1L << 30)));
        }
        return sb.toString();
    }
}
