import { readFileSync } from 'node:fs';
import { ConfigError } from '../errors.js';

type Env = Record<string, string | undefined>;
type Problem = { variable: string; message: string };

/**
 * Secrets from files, as container platforms mount them: for each listed VAR, `VAR_FILE` names a
 * file whose contents (trailing newlines trimmed) become VAR. Returns the environment with VAR
 * set and VAR_FILE removed; throws a ConfigError when both are set or a file cannot be read.
 */
export function resolveSecretFiles(env: Env, variables: readonly string[]): Env {
  const { resolved, problems } = readSecretFiles(env, variables);
  if (problems.length > 0) throw new ConfigError(problems);
  return resolved;
}

/** resolveSecretFiles, answering its problems and which variables came from a file. */
export function readSecretFiles(env: Env, variables: readonly string[]): { resolved: Env; problems: Problem[]; fromFile: Set<string> } {
  const resolved: Env = { ...env };
  const problems: Problem[] = [];
  const fromFile = new Set<string>();
  for (const variable of variables) {
    const fileVariable = `${variable}_FILE`;
    const path = env[fileVariable];
    delete resolved[fileVariable];
    if (path === undefined || path === '') continue;
    if (env[variable] !== undefined && env[variable] !== '') {
      problems.push({ variable: fileVariable, message: `set only one of ${variable} and ${fileVariable}` });
      continue;
    }
    try {
      resolved[variable] = readFileSync(path, 'utf8').replace(/(\r?\n)+$/, '');
      fromFile.add(variable);
    } catch (error) {
      problems.push({
        variable: fileVariable,
        message: `cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`,
      });
    }
  }
  return { resolved, problems, fromFile };
}
