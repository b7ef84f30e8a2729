package dev.flare.tensor.cuda;

import jcuda.driver.CUresult;

/** A CUDA driver call failed. The message names the call and the driver's status name. */
public class CudaException extends RuntimeException {
    private final int status;

    public CudaException(String message, int status) {
        super(message);
        this.status = status;
    }

    public CudaException(String message, Throwable cause) {
        super(message, cause);
        this.status = -1;
    }

    /** The CUresult code, or -1 when the failure was not a driver status. */
    public int status() { return status; }

    /** The driver's name for a CUresult code, e.g. CUDA_ERROR_OUT_OF_MEMORY. */
    public static String statusName(int status) {
        try {
            return CUresult.stringFor(status);
        } catch (Throwable t) {
            return "CUresult " + status;
        }
    }

    /** Throws a CudaException naming {@code call} unless {@code status} is CUDA_SUCCESS. */
    public static void check(int status, String call) {
        if (status != CUresult.CUDA_SUCCESS)
            throw new CudaException(call + " failed: " + statusName(status) + " (" + status + ")", status);
    }
}
