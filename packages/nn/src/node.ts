/**
 * @stripes/nn/node: safetensors files on disk, for Node.js. Writes are
 * atomic: a crash or an error mid-save leaves the previous file intact.
 */
import { closeSync, fsyncSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Tensor } from '@stripes/tensor';
import {
  decodeCheckpoint, decodeStateDict, encodeCheckpoint, encodeStateDict, type Checkpoint, type EncodeCheckpointOptions, type LoadedCheckpoint,
} from './checkpoint.ts';
import type { AnyModule } from './module.ts';
import { decodeSafetensors, encodeSafetensors, type DecodedSafetensors, type TensorDict, type TensorEntry } from './safetensors.ts';

export function readSafetensors(path: string): DecodedSafetensors {
  return decodeSafetensors(readFileSync(path), path);
}

export type AtomicWriteOptions = {
  /**
   * Called after the temporary file is written and synced, before it replaces
   * `path`. Tests throw here to simulate a crash mid-save.
   */
  beforeRename?: (tmpPath: string) => void;
};

/**
 * Writes `bytes` to `path` so that a crash at any point leaves either the old
 * file or the new one, never a torn mix: write a temp file beside it, fsync,
 * rename over `path`, fsync the directory so the rename itself is durable.
 */
export function writeFileAtomic(path: string, bytes: Uint8Array, options: AtomicWriteOptions = {}): void {
  const tmp = `${path}.tmp-${process.pid}`;
  try {
    const fd = openSync(tmp, 'w');
    try {
      for (let off = 0; off < bytes.length; ) off += writeSync(fd, bytes, off, bytes.length - off);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    options.beforeRename?.(tmp);
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
  // Windows cannot open a directory to fsync it; there the rename is as durable as the OS makes it.
  if (process.platform !== 'win32') {
    const dirFd = openSync(dirname(path), 'r');
    try {
      fsyncSync(dirFd);
    } finally {
      closeSync(dirFd);
    }
  }
}

/** The temporary name `writeFileAtomic` writes `path` under in process `pid`. */
const TEMP_NAME = /^(.+)\.tmp-(\d+)$/;

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: it exists but belongs to someone else.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes the temporary files (`<name>.tmp-<pid>`) that `writeFileAtomic`
 * left in `dir` when its process was killed mid-write (kill -9, power loss):
 * those of processes no longer running, and this process's own (it is not
 * writing while it calls this). Returns the paths removed. A missing `dir`
 * holds none.
 */
export function removeStaleTempFiles(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    const m = TEMP_NAME.exec(name);
    if (!m) continue;
    const pid = Number(m[2]);
    if (pid !== process.pid && processAlive(pid)) continue;
    const path = join(dir, name);
    rmSync(path, { force: true });
    removed.push(path);
  }
  return removed;
}

/** `encodeSafetensors` written atomically to `path`. */
export function writeSafetensorsAtomic(
  path: string,
  tensors: TensorDict,
  metadata?: Record<string, string>,
  options: AtomicWriteOptions = {},
): void {
  writeFileAtomic(path, encodeSafetensors(tensors, metadata), options);
}

/**
 * Writes a module's state dict (or named tensors) to `path` as safetensors,
 * under PyTorch's names. `metadata` goes into the header as strings.
 */
export async function saveStateDict(
  path: string,
  source: AnyModule | Record<string, Tensor>,
  metadata?: Record<string, string>,
  options?: AtomicWriteOptions,
): Promise<void> {
  writeFileAtomic(path, await encodeStateDict(source, metadata), options);
}

/** Reads a state dict as host values; pass it to `module.loadStateDict`. Metadata: `readSafetensors(path).metadata`. */
export function loadStateDict(path: string): Record<string, TensorEntry> {
  return decodeStateDict(readFileSync(path), path);
}

/**
 * Writes tensors and JSON state to `path` in one atomic safetensors file.
 * With `requireFinite`, tensors holding NaN or infinities are refused before
 * anything is written (`NonFiniteTensorError`).
 */
export async function saveCheckpoint(path: string, checkpoint: Checkpoint, options: AtomicWriteOptions & EncodeCheckpointOptions = {}): Promise<void> {
  writeFileAtomic(path, await encodeCheckpoint(checkpoint, options), options);
}

/** Reads a file written by `saveCheckpoint`. */
export function loadCheckpoint(path: string): LoadedCheckpoint {
  return decodeCheckpoint(readFileSync(path), path);
}
