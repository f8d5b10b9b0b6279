/**
 * Debug switches, set by `init({ debug })` or `rt().debug = ...`, and in
 * Node.js by environment variables (read by the Node host only; this file
 * stays host-free):
 *
 *   STRIPES_PRINT_WGSL=all | <kernel>,<kernel>   printWgsl: true | [names]
 *   STRIPES_CONV_TILES=<name>                     convTiles: name
 */
import { namedConvTiles, type ConvTilesName } from './ops/convTiles.ts';

export interface DebugOptions {
  /**
   * Print the complete WGSL of each pipeline when it is compiled (once per
   * kernel specialization): true for every kernel, or the kernel names.
   */
  printWgsl?: boolean | readonly string[];
  /** Where `printWgsl` writes; console.error by default. */
  print?: (text: string) => void;
  /**
   * The conv tile configuration (a key of CONV_TILE_CONFIGS) the conv
   * dispatches use instead of the adapter's, unless a caller passes tiles.
   */
  convTiles?: ConvTilesName;
}

/** `options`, checked: throws on an unknown conv tile name, listing the valid ones (`origin` names where it came from). */
export function checkDebugOptions(options: DebugOptions, origin = 'debug.convTiles'): DebugOptions {
  if (options.convTiles !== undefined) namedConvTiles(options.convTiles, origin);
  return { ...options };
}

/** The debug options that environment variables (STRIPES_PRINT_WGSL, STRIPES_CONV_TILES) ask for; unset or empty ones ask for nothing. */
export function debugOptionsFromEnv(env: Readonly<Record<string, string | undefined>>): DebugOptions {
  const options: DebugOptions = {};
  const print = env.STRIPES_PRINT_WGSL?.trim();
  if (print) {
    options.printWgsl = print === 'all' ? true : print.split(',').map((name) => name.trim()).filter(Boolean);
  }
  const tiles = env.STRIPES_CONV_TILES?.trim();
  if (tiles) options.convTiles = tiles as ConvTilesName;
  return checkDebugOptions(options, 'STRIPES_CONV_TILES');
}

/** True when `options` asks to print the WGSL of kernel `name`. */
export function printsWgsl(options: DebugOptions, name: string): boolean {
  const selected = options.printWgsl;
  return selected === true || (typeof selected === 'object' && selected.includes(name));
}
