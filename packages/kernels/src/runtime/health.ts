/** Device health: the device's loss and the errors WebGPU reports asynchronously. */

export class GpuError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GpuError';
  }
}

export class DeviceHealth {
  private lostError: GpuError | null = null;
  /** Errors from error scopes: they name the kernel or allocation at fault. */
  private scopedErrors: GpuError[] = [];
  /** Uncaptured errors, usually consequences of a scoped one; reported after them. */
  private deviceErrors: GpuError[] = [];
  private pendingScopes: Promise<void>[] = [];
  /** Rejecters of pending GPU waits, called if the device is lost first. */
  private lossWaiters = new Set<(e: GpuError) => void>();

  constructor(private readonly device: GPUDevice) {
    device.lost.then((info) => {
      this.lostError = new GpuError(`WebGPU device lost (${info.reason}): ${info.message || 'no message'}`);
      const waiting = new GpuError(`WebGPU device lost (${info.reason}) while waiting for the GPU: ${info.message || 'no message'}`);
      for (const reject of this.lossWaiters) reject(waiting);
      this.lossWaiters.clear();
    });
    device.onuncapturederror = (ev: GPUUncapturedErrorEvent) => {
      this.deviceErrors.push(new GpuError(`WebGPU error: ${ev.error.message}`));
    };
  }

  /** Throws the device-loss or any asynchronously reported error. */
  check(): void {
    if (this.lostError) throw this.lostError;
    const e = this.scopedErrors.shift() ?? this.deviceErrors.shift();
    if (e) {
      this.deviceErrors = [];
      throw e;
    }
  }

  /** Pops the error scope pushed last; an error in it is reported as `what` (with the compiler's messages for `module`). */
  watchScope(what: string, module?: GPUShaderModule): void {
    const scope = this.device.popErrorScope().then(async (err) => {
      if (!err) return;
      let detail = err.message;
      if (module) {
        const info = await module.getCompilationInfo();
        const msgs = info.messages.filter((m) => m.type === 'error').map((m) => `  line ${m.lineNum}:${m.linePos} ${m.message}`);
        if (msgs.length) detail = msgs.join('\n');
      }
      this.scopedErrors.push(new GpuError(`${what}:\n${detail}`));
    });
    this.pendingScopes.push(scope);
  }

  /** The error scopes watched so far, handed to one waiter; later ones go to the next. */
  takeScopes(): Promise<void>[] {
    const scopes = this.pendingScopes;
    this.pendingScopes = [];
    return scopes;
  }

  /**
   * `p`, or a rejection naming the device loss if that comes first. Waiters are
   * kept in a set rather than raced against `device.lost`: every race would leave
   * a reaction on that never-settling promise, one per training step.
   */
  raceLoss<T>(p: Promise<T>): Promise<T> {
    if (this.lostError) return Promise.reject(this.lostError);
    return new Promise<T>((resolve, reject) => {
      this.lossWaiters.add(reject);
      p.then(
        (v) => {
          this.lossWaiters.delete(reject);
          resolve(v);
        },
        (e) => {
          this.lossWaiters.delete(reject);
          reject(e);
        },
      );
    });
  }
}
