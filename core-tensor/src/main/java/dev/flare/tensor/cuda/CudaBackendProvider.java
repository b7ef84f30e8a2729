package dev.flare.tensor.cuda;

import dev.flare.tensor.Backend;
import dev.flare.tensor.Backends;
import dev.flare.tensor.Device;

/** Registers the CUDA backend with {@link Backends} (META-INF/services/dev.flare.tensor.Backends$Provider). */
public final class CudaBackendProvider implements Backends.Provider {
    @Override
    public Device.Type type() { return Device.Type.CUDA; }

    @Override
    public Backend create(Device device) {
        if (!Cuda.isAvailable())
            throw new IllegalStateException("device " + device + ": CUDA is not available: " + Cuda.unavailableReason());
        return new CudaBackend(device);
    }
}
