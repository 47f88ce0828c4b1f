import { createLogger, runService } from '@inorder/shared';
import { loadIngestConfig } from './config.js';
import { startIngest } from './server.js';

const logger = createLogger('ingest');

await runService(logger, async (signal) => {
  const config = loadIngestConfig(process.env);
  logger.level = config.logLevel;
  return startIngest(config, logger, signal);
});
