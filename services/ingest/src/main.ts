import { ConfigError, createLogger, loadRedisTlsEnv, resolveSecretFiles, runService } from '@inorder/shared';
import { loadIngestConfig } from './config.js';
import { startIngest, type IngestStartConfig } from './server.js';

const logger = createLogger('ingest');

/** REDIS_URL and API_KEYS may come from files (REDIS_URL_FILE, API_KEYS_FILE). */
const SECRETS = ['REDIS_URL', 'API_KEYS'];

/** The ingest's settings and the TLS files, with every bad variable of both in one ConfigError. */
function loadConfig(env: Record<string, string | undefined>): IngestStartConfig {
  const problems: ConfigError['problems'][number][] = [];
  const attempt = <T>(load: () => T): T | undefined => {
    try {
      return load();
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      problems.push(...error.problems);
      return undefined;
    }
  };
  const resolved = attempt(() => resolveSecretFiles(env, SECRETS)) ?? env;
  const config = attempt(() => loadIngestConfig(resolved));
  const redisTls = attempt(() => loadRedisTlsEnv(resolved));
  if (!config || problems.length > 0) {
    throw new ConfigError(problems.filter((p, i) => problems.findIndex((q) => q.variable === p.variable && q.message === p.message) === i));
  }
  return { ...config, redisTls };
}

await runService(logger, async (signal) => {
  const config = loadConfig(process.env);
  logger.level = config.logLevel;
  return startIngest(config, logger, signal);
});
