import { parentPort, workerData } from 'node:worker_threads';
import { ItemLoader } from './dataset.ts';
import type { DatasetItem, ItemLoaderSpec, LoadFailure } from './dataset.ts';
import type { ItemPlan } from './pairing.ts';

export interface DecodeRequest {
  id: number;
  plan: ItemPlan;
}

export type DecodeResponse =
  | { id: number; ok: true; item: DatasetItem; failures: LoadFailure[] }
  | { id: number; ok: false; message: string };

export interface DecodeWorkerData {
  /** URL of this module; from source, the entry imports it after registering tsx. */
  script: string;
  spec: ItemLoaderSpec;
}

const port = parentPort;
if (!port) throw new Error('decode-worker.ts runs only as a worker thread');
const loader = new ItemLoader((workerData as DecodeWorkerData).spec);

port.on('message', ({ id, plan }: DecodeRequest) => {
  let result: { item: DatasetItem; failures: LoadFailure[] };
  try {
    result = loader.load(plan);
  } catch (e) {
    port.postMessage({ id, ok: false, message: (e as Error).message } satisfies DecodeResponse);
    return;
  }
  const response: DecodeResponse = { id, ok: true, ...result };
  // The pixel buffers move to the main thread instead of being copied.
  port.postMessage(response, [result.item.A.data.buffer as ArrayBuffer, result.item.B.data.buffer as ArrayBuffer]);
});
