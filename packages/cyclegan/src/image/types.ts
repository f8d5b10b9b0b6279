/** A decoded image: 8-bit samples, interleaved row-major HWC. */
export interface ImageU8 {
  width: number;
  height: number;
  /** 1 = gray, 2 = gray + alpha, 3 = RGB, 4 = RGBA. */
  channels: 1 | 2 | 3 | 4;
  data: Uint8Array;
}

/** A model-ready image: planar CHW float32, values in [-1, 1]. */
export interface ImageCHW {
  channels: number;
  height: number;
  width: number;
  data: Float32Array;
}
