import { createLogger, runService } from '@inorder/shared';
import { loadIngestConfig } from './config.js';
import { startIngest } from './server.js';

const logger = createLogger('ingest');

await runService(logger, async () => {
  const config = loadIngestConfig();
  logger.level = config.logLevel;
  return startIngest(config, logger);
});
