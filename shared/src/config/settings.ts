import { z } from 'zod';
import { ConfigError } from '../errors.js';
import { readSecretFiles } from './secrets.js';

export type Env = Record<string, string | undefined>;

/** One setting: the environment variable that holds it and the schema that reads it. */
export interface Setting<S extends z.ZodType = z.ZodType> {
  readonly env: string;
  readonly schema: S;
}

/** A service's settings, each written once: config key -> setting. */
export type SettingsTable = Record<string, Setting>;

/** What a table reads: config key -> the value its schema produces. */
export type SettingsOf<T extends SettingsTable> = { -readonly [K in keyof T]: z.output<T[K]['schema']> };

/**
 * A rule across settings: it runs when every setting it reads is valid itself (a bad variable
 * reports its own problem, not one derived from it), and names the settings it blames.
 */
export interface Rule<T> {
  reads: ReadonlyArray<keyof T & string>;
  check(settings: T): Array<[keyof T & string, string]>;
}

export const setting = <S extends z.ZodType>(env: string, schema: S): Setting<S> => ({ env, schema });

/** The table as one zod object keyed by variable (for checks that read an environment as a whole). */
export function envSchemaOf(table: SettingsTable): z.ZodObject<Record<string, z.ZodType>> {
  return z.object(Object.fromEntries(Object.values(table).map((s) => [s.env, s.schema])));
}

export interface LoadOptions<T> {
  rules?: ReadonlyArray<Rule<T>>;
  /** variables that may come from the file named by VAR_FILE */
  secrets?: readonly string[];
}

/**
 * Reads a table's settings from the environment: an empty value counts as unset, each setting is
 * read on its own, then the rules run; throws one ConfigError naming every bad variable (never
 * its value: it may be a secret).
 */
export function loadSettings<T extends SettingsTable>(table: T, env: Env, options: LoadOptions<SettingsOf<T>> = {}): SettingsOf<T> {
  const { resolved, problems, fromFile } = readSecretFiles(env, options.secrets ?? []);
  const values: Record<string, unknown> = {};
  for (const [key, { env: variable, schema }] of Object.entries(table)) {
    const raw = resolved[variable];
    const result = schema.safeParse(raw === '' ? undefined : raw);
    if (result.success) {
      values[key] = result.data;
      continue;
    }
    for (const issue of result.error.issues) {
      problems.push({ variable, message: fromFile.has(variable) ? `${issue.message} (value read from ${variable}_FILE)` : issue.message });
    }
  }
  const settings = values as SettingsOf<T>;
  for (const rule of options.rules ?? []) {
    if (!rule.reads.every((key) => key in values)) continue;
    for (const [key, message] of rule.check(settings)) problems.push({ variable: table[key]!.env, message });
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return settings;
}
