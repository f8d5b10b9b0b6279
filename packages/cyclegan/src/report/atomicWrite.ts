import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { writeFileAtomic as writeBytesAtomic } from '@stripes/nn/node';

/**
 * `@stripes/nn/node`'s atomic write (a reader, such as a browser refreshing
 * the page, or a crash mid-write, sees the old file or the new one, never
 * half of one), after making the folder; strings are written as UTF-8.
 */
export function writeFileAtomic(path: string, data: string | Uint8Array): void {
  mkdirSync(dirname(path), { recursive: true });
  writeBytesAtomic(path, typeof data === 'string' ? new TextEncoder().encode(data) : data);
}
