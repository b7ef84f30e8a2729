package dev.flare.tensor.cuda;

import dev.flare.tensor.DType;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * NCCL through FFM ({@link NcclLibrary}): availability, version, unique ids, and the enum values and status names
 * the communicator ({@link NcclCommunicator}) needs. Every status is checked; a failure names the call, the status
 * and NCCL's own text.
 */
public final class Nccl {
    /** ncclDataType_t. */
    static final int FLOAT16 = 6, FLOAT32 = 7, FLOAT64 = 8, BFLOAT16 = 9;
    /** ncclRedOp_t. */
    static final int SUM = 0;
    /** Bytes of an ncclUniqueId. */
    public static final int UNIQUE_ID_BYTES = NcclLibrary.UNIQUE_ID_BYTES;

    private Nccl() {}

    /** True when libnccl.so.2 loads and binds; never throws. */
    public static boolean isAvailable() { return unavailableReason() == null; }

    /** Why NCCL cannot be used (everything tried), or null when it can. */
    public static String unavailableReason() {
        try {
            NcclLibrary.get();
            return null;
        } catch (IllegalStateException | UnsatisfiedLinkError e) {
            return e.getMessage();
        }
    }

    /** The file that was loaded. */
    public static String libraryPath() { return NcclLibrary.get().path; }

    /** NCCL_VERSION_CODE, e.g. 22703 for 2.27.3 (major * 10000 + minor * 100 + patch since 2.9). */
    public static int version() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment v = a.allocate(ValueLayout.JAVA_INT);
            check(NcclLibrary.get().getVersion(v), "ncclGetVersion");
            return v.get(ValueLayout.JAVA_INT, 0);
        }
    }

    /** "2.27.3" from a version code. */
    public static String versionText(int code) {
        return code >= 10000 ? code / 10000 + "." + code / 100 % 100 + "." + code % 100 : code / 1000 + "." + code / 100 % 10 + "." + code % 100;
    }

    /** A new ncclUniqueId (rank 0 makes it; the other ranks receive it through a rendezvous). */
    public static byte[] uniqueId() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment id = a.allocate(NcclLibrary.UNIQUE_ID);
            check(NcclLibrary.get().getUniqueId(id), "ncclGetUniqueId");
            return id.toArray(ValueLayout.JAVA_BYTE);
        }
    }

    static int dataType(DType t) {
        return switch (t) {
            case F32 -> FLOAT32;
            case BF16 -> BFLOAT16;
            case F16 -> FLOAT16;
            case F64 -> FLOAT64;
            default -> throw new IllegalArgumentException("NCCL all-reduce: no " + t + " (F32, BF16, F16, F64 only)");
        };
    }

    static void check(int status, String call) {
        if (status == 0) return;
        String text = null;
        try {
            text = NcclLibrary.get().errorString(status);
        } catch (RuntimeException ignored) {
            // the status name alone still says what failed
        }
        throw new NcclException(call + " failed: " + statusName(status) + " (" + status + ")" + (text == null ? "" : ": " + text), status);
    }

    /** ncclResult_t names. */
    public static String statusName(int status) {
        return switch (status) {
            case 0 -> "ncclSuccess";
            case 1 -> "ncclUnhandledCudaError";
            case 2 -> "ncclSystemError";
            case 3 -> "ncclInternalError";
            case 4 -> "ncclInvalidArgument";
            case 5 -> "ncclInvalidUsage";
            case 6 -> "ncclRemoteError";
            case 7 -> "ncclInProgress";
            default -> "ncclResult " + status;
        };
    }

    /** An NCCL call returned an error status. */
    public static final class NcclException extends RuntimeException {
        private final int status;

        public NcclException(String message, int status) {
            super(message);
            this.status = status;
        }

        public int status() { return status; }
    }
}
