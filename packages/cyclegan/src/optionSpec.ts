/**
 * How the code declares the options it takes: each module that uses options
 * exports a table of them (model/cyclegan.ts, data/dataset.ts, train.ts,
 * inference.ts, interop.ts), and cli/options.ts composes the tables into the
 * command line, as the reference's modify_commandline_options does. Keys are
 * the reference's spellings; parsed values use the camelCase key.
 */

export const COMMANDS = ['train', 'test', 'translate', 'convert', 'import', 'export'] as const;
export type Command = (typeof COMMANDS)[number];

export type OptionValue = string | number | boolean;

export interface OptionSpec {
  type: 'string' | 'int' | 'float' | 'flag' | 'choice';
  commands: readonly Command[];
  help: string;
  /** Absent for required options. */
  default?: OptionValue;
  /**
   * Command-specific defaults, as the reference's TestOptions overrides; null:
   * none, the option is absent unless given (the command's help says why).
   */
  commandDefault?: Partial<Record<Command, OptionValue | null>>;
  /** Command-specific help lines. */
  commandHelp?: Partial<Record<Command, string>>;
  required?: boolean;
  choices?: readonly string[];
  /** The only values an int may take. */
  oneOf?: readonly number[];
  /** Inclusive bounds; `above` is an exclusive lower bound. */
  min?: number;
  max?: number;
  above?: number;
  /** Accepts "Infinity" / "inf" (the reference's float('inf') defaults). */
  infinite?: boolean;
  metavar?: string;
}

// The commands that share options.
export const TRAIN_TEST = ['train', 'test'] as const;
export const TRAIN = ['train'] as const;
/** `import` writes a checkpoint for a training run: it takes the training options train stores in one. */
export const TRAIN_IMPORT = ['train', 'import'] as const;
export const IMAGES = ['train', 'test', 'translate'] as const;

/** `lambda_A` -> `lambdaA`, `n_layers_D` -> `nLayersD`: how parsed values name an option. */
export type Camel<S extends string> = S extends `${infer H}_${infer T}` ? `${H}${Capitalize<Camel<T>>}` : S;
export function camel(name: string): string {
  return name.replace(/_(.)/g, (_, c: string) => c.toUpperCase());
}

type ValueOf<S> = S extends { type: 'choice'; choices: readonly (infer C)[] } ? C : S extends { oneOf: readonly (infer N)[] } ? N : S extends { type: 'int' | 'float' } ? number : S extends { type: 'flag' } ? boolean : string;
type Table = Record<string, OptionSpec>;
type NamesFor<T extends Table, C extends Command> = { [K in keyof T & string]: C extends T[K]['commands'][number] ? K : never }[keyof T & string];
/** Options with no default for the command (commandDefault null): absent unless given. */
type Unset<T extends Table, C extends Command> = { [K in NamesFor<T, C>]: T[K] extends { commandDefault: infer D } ? (C extends keyof D ? (D[C] extends null ? K : never) : never) : never }[NamesFor<T, C>];
/** Options the command cannot go without. */
type Required<T extends Table, C extends Command> = { [K in NamesFor<T, C>]: T[K] extends { required: true } ? K : never }[NamesFor<T, C>];

/**
 * The parsed values of table `T`'s options for command `C`, camelCase-keyed:
 * every option with a default is present; those with none for `C` are optional.
 */
export type OptionValues<T extends Table, C extends Command> = { [K in Exclude<NamesFor<T, C>, Unset<T, C>> as Camel<K>]: ValueOf<T[K]> } & {
  [K in Unset<T, C> as Camel<K>]?: ValueOf<T[K]>;
};

/** `OptionValues` as code gives them: only required options must be there; the others take their defaults (`optionDefaults`). */
export type OptionInput<T extends Table, C extends Command> = { [K in Required<T, C> as Camel<K>]: ValueOf<T[K]> } & {
  [K in Exclude<NamesFor<T, C>, Required<T, C>> as Camel<K>]?: ValueOf<T[K]>;
};

/** An option's default for `command`: undefined when required, null when absent unless given. */
export function defaultOf(spec: OptionSpec, command: Command): OptionValue | null | undefined {
  const own = spec.commandDefault?.[command];
  return own === undefined ? spec.default : own;
}

/** The defaults of `table`'s options for `command`, camelCase-keyed (what the command line fills in). */
export function optionDefaults(table: Table, command: Command): Record<string, OptionValue> {
  const out: Record<string, OptionValue> = {};
  for (const [name, spec] of Object.entries(table)) {
    const v = spec.commands.includes(command) ? defaultOf(spec, command) : undefined;
    if (v !== undefined && v !== null) out[camel(name)] = v;
  }
  return out;
}

/**
 * `input` with the defaults of `table` for `command` filled in: the values
 * the command line would give. Keys set to undefined count as left out.
 */
export function withDefaults<T extends Table, C extends Command>(table: T, command: C, input: OptionInput<T, C>): OptionValues<T, C> {
  const given = Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined));
  return { ...optionDefaults(table, command), ...given } as OptionValues<T, C>;
}

/** One problem, or `n problems:` and one line each (how the command line and the code report option problems). */
export function describeProblems(problems: readonly string[]): string {
  return problems.length === 1 ? problems[0] : `${problems.length} problems:\n  ${problems.join('\n  ')}`;
}
