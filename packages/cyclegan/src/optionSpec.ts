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
