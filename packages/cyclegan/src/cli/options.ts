/**
 * The option table of `stripes-cyclegan train | test | translate | convert |
 * import | export`, with the reference code's names and defaults (options/base_options.py,
 * train_options.py, test_options.py, and cycle_gan_model.py's overrides).
 * Every option is spelled as in the reference (`--lambda_A`), in kebab-case
 * (`--lambda-A`) or in camelCase (`--lambdaA`); parsed values use the
 * camelCase key. `parseArgs` collects every problem before throwing, so one
 * run reports them all.
 */

import { DATA_OPTIONS, dataOptionProblems } from '../data/dataset.ts';
import { TEST_OPTIONS } from '../inference.ts';
import { INTEROP_OPTIONS } from '../interop.ts';
import { MODEL_OPTIONS } from '../model/cyclegan.ts';
import { camel, COMMANDS, defaultOf, describeProblems, type Command, type OptionSpec as Spec, type OptionValue as Value, type OptionValues } from '../optionSpec.ts';
import { CHECKPOINT_OPTIONS, EXPERIMENT_OPTIONS, TRAIN_OPTIONS, trainOptionProblems } from '../train.ts';

export { COMMANDS, type Command };

/**
 * Every command's options, composed from the tables of the code that uses
 * them, so the table, the types, the defaults and the choices cannot drift
 * from that code. Choices list only what this package implements (e.g.
 * `--norm instance`: there is no BatchNorm), so a reference command line with
 * other values fails here, not mid-run.
 */
const OPTIONS = {
  // The order is help's, and a typo's suggestion is the first of equally near names (--nEpoch: --n_epochs, not --epoch).
  ...DATA_OPTIONS, ...INTEROP_OPTIONS, ...EXPERIMENT_OPTIONS, ...TEST_OPTIONS, ...MODEL_OPTIONS, ...TRAIN_OPTIONS, ...CHECKPOINT_OPTIONS,
} as const satisfies Record<string, Spec>;

type Table = typeof OPTIONS;
export type OptionName = keyof Table;

export type OptionsFor<C extends Command> = { command: C } & OptionValues<Table, C>;
export type TrainOptions = OptionsFor<'train'>;
export type TestOptions = OptionsFor<'test'>;
export type TranslateOptions = OptionsFor<'translate'> & { input: string; output: string };
export type ConvertOptions = OptionsFor<'convert'> & { input: string; output: string };
export type ImportOptions = OptionsFor<'import'>;
export type ExportOptions = OptionsFor<'export'>;
export type ParsedOptions = TrainOptions | TestOptions | TranslateOptions | ConvertOptions | ImportOptions | ExportOptions;

/** Every problem found in one command line. */
export class OptionsError extends Error {
  constructor(
    readonly command: Command,
    readonly problems: string[],
  ) {
    super(`stripes-cyclegan ${command}: ${describeProblems(problems)}`);
    this.name = 'OptionsError';
  }
}

const POSITIONALS: Record<Command, readonly string[]> = { train: [], test: [], translate: ['input', 'output'], convert: ['input', 'output'], import: [], export: [] };

function spellings(name: string): string[] {
  return [...new Set([name, name.replace(/_/g, '-'), camel(name)])];
}

function specOf(name: OptionName): Spec {
  return OPTIONS[name];
}

function namesFor(command: Command): OptionName[] {
  return (Object.keys(OPTIONS) as OptionName[]).filter((n) => specOf(n).commands.includes(command));
}

/** Accepted spelling -> option name, over all commands. */
const BY_SPELLING = new Map<string, OptionName>((Object.keys(OPTIONS) as OptionName[]).flatMap((n) => spellings(n).map((s) => [s, n] as [string, OptionName])));

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length];
}

/** The closest candidate within a typo's reach (case differences are free), if any. */
function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    const d = editDistance(word.toLowerCase(), c.toLowerCase());
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  return bestD <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined;
}

function unknownOption(token: string, key: string, command: Command): string {
  const known = BY_SPELLING.get(key);
  if (known) {
    const where = specOf(known).commands.join(' and ');
    return `${token} is not ${/^[aeiou]/.test(command) ? 'an' : 'a'} ${command} option (it belongs to ${where})`;
  }
  const names = namesFor(command);
  const match = closest(key, names.flatMap(spellings));
  const suggestion = match === undefined ? '' : `; did you mean --${BY_SPELLING.get(match)}?`;
  return `unknown option ${token}${suggestion}`;
}

const FLAG_VALUES: Record<string, boolean> = { true: true, false: false, '1': true, '0': false, yes: true, no: false };

/** Parses and range-checks one value; returns an error message instead of throwing. */
function parseValue(name: OptionName, raw: string): Value | { error: string } {
  const spec = specOf(name);
  const flag = `--${name}`;
  switch (spec.type) {
    case 'flag': {
      const v = FLAG_VALUES[raw.toLowerCase()];
      return v === undefined ? { error: `${flag} takes true or false, got '${raw}'` } : v;
    }
    case 'choice': {
      const choices = spec.choices ?? [];
      if (choices.includes(raw)) return raw;
      const near = closest(raw, choices);
      return { error: `${flag} must be one of ${choices.join(', ')}, got '${raw}'${near ? `; did you mean ${near}?` : ''}` };
    }
    case 'string':
      return raw === '' ? { error: `${flag} needs a non-empty value` } : raw;
    case 'int':
    case 'float': {
      let v: number;
      if (spec.infinite && /^\+?(inf|infinity)$/i.test(raw)) v = Infinity;
      else if (spec.type === 'int' ? /^[+-]?\d+$/.test(raw) : /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(raw)) v = Number(raw);
      else return { error: `${flag} expects ${spec.type === 'int' ? 'an integer' : 'a number'}, got '${raw}'` };
      // '1e400' parses as Infinity and '99999999999999999999' loses digits: neither survives a checkpoint's JSON.
      if (!(spec.infinite && v === Infinity && /inf/i.test(raw)) && (spec.type === 'int' ? !Number.isSafeInteger(v) : !Number.isFinite(v))) {
        return { error: `${flag} ${raw} is out of range (${spec.type === 'int' ? `integers up to ${Number.MAX_SAFE_INTEGER}` : 'a finite number'})` };
      }
      if (spec.oneOf && !spec.oneOf.includes(v)) return { error: `${flag} must be one of ${spec.oneOf.join(', ')}, got ${raw}` };
      if (spec.min !== undefined && v < spec.min) return { error: `${flag} must be at least ${spec.min}, got ${raw}` };
      if (spec.max !== undefined && v > spec.max) return { error: `${flag} must be at most ${spec.max}, got ${raw}` };
      if (spec.above !== undefined && !(v > spec.above)) return { error: `${flag} must be greater than ${spec.above}, got ${raw}` };
      return v;
    }
  }
}

/** True when the command line asks for help (`-h` or `--help` before any `--`). */
export function isHelpRequest(argv: readonly string[]): boolean {
  const end = argv.indexOf('--');
  return (end < 0 ? argv : argv.slice(0, end)).some((a) => a === '-h' || a === '--help');
}

/** Looks like a value rather than an option: anything not starting with '-', or a negative number. */
function isValueToken(token: string | undefined): token is string {
  return token !== undefined && (!token.startsWith('-') || /^-\d|^-\.\d/.test(token));
}

/** Checks that involve several options, as the reference asserts at startup: the ones the code itself runs, so a run from code meets the same. */
function crossCheck(options: ParsedOptions): string[] {
  if (options.command === 'train') return trainOptionProblems(options);
  if (options.command === 'test') return dataOptionProblems(options);
  return [];
}

export function parseArgs(command: 'train', argv: readonly string[]): TrainOptions;
export function parseArgs(command: 'test', argv: readonly string[]): TestOptions;
export function parseArgs(command: 'translate', argv: readonly string[]): TranslateOptions;
export function parseArgs(command: 'convert', argv: readonly string[]): ConvertOptions;
export function parseArgs(command: 'import', argv: readonly string[]): ImportOptions;
export function parseArgs(command: 'export', argv: readonly string[]): ExportOptions;
export function parseArgs(command: Command, argv: readonly string[]): ParsedOptions;
/** Parses the arguments after the command name; throws `OptionsError` listing every problem. */
export function parseArgs(command: Command, argv: readonly string[]): ParsedOptions {
  return parseCommandLine(command, argv).options;
}

/**
 * `parseArgs`, plus the options the command line set explicitly (camelCase
 * keys): a resumed run keeps its checkpoint's values for the others.
 */
export function parseCommandLine(command: 'train', argv: readonly string[]): { options: TrainOptions; given: ReadonlySet<string> };
export function parseCommandLine(command: Command, argv: readonly string[]): { options: ParsedOptions; given: ReadonlySet<string> };
export function parseCommandLine(command: Command, argv: readonly string[]): { options: ParsedOptions; given: ReadonlySet<string> } {
  if (!COMMANDS.includes(command)) throw new Error(`parseArgs: unknown command '${String(command)}' (expected ${COMMANDS.join(', ')})`);
  const problems: string[] = [];
  const given = new Map<OptionName, Value>();
  const positional: string[] = [];
  const own = new Set(namesFor(command));
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i];
    if (token === '--') {
      positional.push(...argv.slice(i + 1));
      break;
    }
    if (!token.startsWith('--')) {
      if (isValueToken(token)) positional.push(token);
      else problems.push(`unknown option ${token}; options start with --`);
      continue;
    }
    const eq = token.indexOf('=');
    const key = token.slice(2, eq < 0 ? undefined : eq);
    const inline = eq < 0 ? undefined : token.slice(eq + 1);
    const name = BY_SPELLING.get(key);
    if (name === undefined || !own.has(name)) {
      problems.push(unknownOption(eq < 0 ? token : token.slice(0, eq), key, command));
      // Its value would otherwise read as a stray positional.
      if (inline === undefined && POSITIONALS[command].length === 0 && isValueToken(argv[i + 1])) i++;
      continue;
    }
    let raw = inline;
    if (raw === undefined) {
      if (specOf(name).type === 'flag') raw = 'true';
      else if (isValueToken(argv[i + 1])) raw = argv[++i];
      else {
        problems.push(`--${name} needs a value`);
        continue;
      }
    }
    const value = parseValue(name, raw);
    if (typeof value === 'object') problems.push(value.error);
    else given.set(name, value);
  }

  const values: Record<string, Value> = {};
  for (const name of own) {
    const v = given.get(name) ?? defaultOf(specOf(name), command);
    if (v === undefined) {
      // Missing, or present with a bad value (already reported).
      if (specOf(name).required && !problems.some((p) => p.startsWith(`--${name} `))) problems.push(`missing required option --${name}`);
      continue;
    }
    if (v !== null) values[name] = v;
  }
  const expected = POSITIONALS[command];
  if (positional.length !== expected.length) {
    problems.push(
      expected.length === 0
        ? `unexpected argument${positional.length > 1 ? 's' : ''} ${positional.map((p) => `'${p}'`).join(' ')}`
        : `expected ${expected.length} arguments (${expected.map((p) => `<${p}>`).join(' ')}), got ${positional.length}`,
    );
  }
  if (problems.length > 0) throw new OptionsError(command, problems);

  const out: Record<string, Value> = { command };
  for (const [name, v] of Object.entries(values)) out[camel(name)] = v;
  expected.forEach((p, k) => (out[p] = positional[k]));
  const options = out as unknown as ParsedOptions;
  // Cross-option checks only on values that parsed, so one typo is not reported twice.
  const crossed = crossCheck(options);
  if (crossed.length > 0) throw new OptionsError(command, crossed);
  return { options, given: new Set([...given.keys()].map(camel)) };
}

function metavarOf(name: OptionName): string {
  const spec = specOf(name);
  if (spec.type === 'flag') return '';
  if (spec.type === 'choice') return ` ${(spec.choices ?? []).join('|')}`;
  return ` <${spec.metavar ?? spec.type}>`;
}

function formatDefault(v: Value | undefined): string {
  if (v === undefined) return 'required';
  if (typeof v === 'boolean') return v ? 'default: on' : 'default: off';
  return `default: ${v === Infinity ? 'Infinity' : String(v)}`;
}

/** What a command does beyond its options' one-liners. */
const NOTES: Partial<Record<Command, string[]>> = {
  train: [
    'Resuming (--continue_train): the run continues from <checkpoints_dir>/<name>/<epoch>.ckpt.safetensors',
    'with its weights, optimizer state, image pools, data order and learning-rate schedule:',
    '  architecture  --input_nc --output_nc --ngf --ndf --netG --netD --n_layers_D --no_dropout:',
    '                taken from the checkpoint; given with a different value, an error naming both',
    '  schedule      --n_epochs --n_epochs_decay: given, they replace the checkpoint\'s, so a run can be',
    '                extended or shortened (lr at epoch e = lr * (1 - max(0, e - n_epochs) / (n_epochs_decay + 1)),',
    '                as the reference computes it); --epoch_count E starts epoch E from its beginning',
    '                (the reference\'s --epoch_count); without it the run goes on where the checkpoint stopped',
    '  training      --lr --beta1 --gan_mode --lambda_A --lambda_B --lambda_identity --pool_size --seed',
    '                --init_gain: taken from the checkpoint (a different value given is reported and ignored)',
    '  everything else (data, preprocessing, frequencies) comes from the command line.',
    'The run prints what it took from where and writes the resolved options to',
    '<checkpoints_dir>/<name>/train_opt.txt. A new run (no --continue_train) in a folder that holds',
    "checkpoints or a loss log stops unless --overwrite is given. Losses that turn NaN or infinite",
    'stop the run with an error (exit status 3); a checkpoint is never written over with non-finite values.',
  ],
  translate: [
    '<input> is an image or a folder (searched recursively); a folder\'s outputs keep their relative',
    'paths, as <output>/<path without extension>.png (<name>.<ext>.png when two inputs share a name).',
    'Images that cannot be decoded are reported and skipped (--strict stops instead); nothing is',
    'written over an input. Without --load_size, images of any size are translated at their own size.',
    'A checkpoint holds G_A (AtoB) and G_B (BtoA); a generator state dict holds one generator, which',
    'maps the way it was trained (--direction does not apply; the run says which it used). Outputs are',
    "written as the reference's tensor2im writes them ((y + 1) / 2 * 255, truncated to 8 bits).",
  ],
  convert: [
    '<input> is a state dict: .safetensors, or a PyTorch .pth in either container (told apart by',
    "its bytes); <output>'s extension sets the format: .safetensors, or .pth / .pt (the zip format",
    'torch.load(..., weights_only=True) reads). Every float tensor is written as float32; int64',
    'num_batches_tracked counters are left out. A .pth is read safely: no code in it can run.',
  ],
  import: [
    "Turns a reference run's <reference_dir>/<epoch>_net_{G_A,G_B,D_A,D_B}.pth into",
    '<checkpoints_dir>/<name>/<epoch>.ckpt.safetensors, from which train --continue_train [--epoch E]',
    'goes on. The architecture is read off the weight shapes and every tensor is checked (all problems',
    'in one error). The reference saves no optimizer state or image pool: Adam and the pools start',
    'fresh. The training options given here (or the defaults) are the ones the resumed run uses;',
    "give those of the reference run (its train_opt.txt lists them).",
  ],
  export: [
    'Writes the four networks of <checkpoints_dir>/<name>/<epoch>.ckpt.safetensors as',
    '<epoch>_net_G_A.pth, _G_B, _D_A and _D_B in PyTorch\'s zip format, which the reference\'s test.py',
    'and train.py load (torch.load(..., weights_only=True), then load_state_dict).',
  ],
};

/** Usage and one line per option of `command`, with its default. */
export function helpText(command: Command): string {
  const usage: Record<Command, string> = {
    train: 'stripes-cyclegan train --dataroot <dir> [options]',
    test: 'stripes-cyclegan test --dataroot <dir> [options]',
    translate: 'stripes-cyclegan translate --model <file> [options] <input> <output>',
    convert: 'stripes-cyclegan convert <input> <output>',
    import: 'stripes-cyclegan import --reference_dir <dir> [options]',
    export: 'stripes-cyclegan export --name <name> [options]',
  };
  const rows = namesFor(command).map((n) => {
    const spec = specOf(n);
    const help = spec.commandHelp?.[command] ?? spec.help;
    const value = defaultOf(specOf(n), command);
    // An option with no default says what happens without it in its own help.
    return [`--${n}${metavarOf(n)}`, value === null ? help : `${help} [${formatDefault(value)}]`];
  });
  const width = Math.min(40, Math.max(...rows.map(([l]) => l.length)));
  const lines = rows.map(([l, r]) => (l.length > width ? `  ${l}\n  ${' '.repeat(width)}  ${r}` : `  ${l.padEnd(width)}  ${r}`));
  const options = lines.length
    ? ['', 'Options:', ...lines]
    : [];
  const spelling = lines.length
    ? ['', 'Option names may also be written in kebab-case (--lambda-A) or camelCase (--lambdaA);', 'values go after a space or an = sign; flags take an optional =true or =false.']
    : [];
  return [`Usage: ${usage[command]}`, ...options, ...(NOTES[command] ? ['', ...NOTES[command]] : []), ...spelling].join('\n');
}
