/**
 * npm run dlq -- list | show <seq> | redrive <seq> [--new-seq N] | purge [<seq>] --yes
 * Looks at and acts on a pipeline's dead-letter list.
 */
import { connectForScript } from './lib/connection.js';
import {
  defineCommands,
  findDeadLetters,
  getPipeline,
  keysFor,
  listDeadLetters,
  purgeDeadLetters,
  redactRedisUrl,
  redrive,
  type StoredDeadLetter,
} from '@inorder/shared';
import {
  Output,
  UsageError,
  intFlag,
  parseFlags,
  partitionOptions,
  partitionTarget,
  partitionUsage,
  runCli,
  stringFlag,
  partitionUsages,
} from './lib/cli.js';

const spec = {
  name: 'dlq',
  usage: `
npm run dlq -- <command> [seq] --pipeline NAME [flags]

  list                 the dead letters, oldest first (--start, --count to page)
  show <seq>           the whole record(s) of one seq: reason, attempts, last error, envelope or raw text
  redrive <seq>        put it back as a NEW message at the end of the order (its old place has
                       been passed), with originalSeq = <seq>, and remove the dead letter. The new
                       seq comes from the partition's counter when the ingest assigns its seqs;
                       when producers number their own, give one they will never use: --new-seq N
  purge [<seq>] --yes  delete one seq's dead letters, or all of them

  ${partitionUsage('pipeline')}
  ${partitionUsages('partition', 'prefix', 'redis-url')}
  --start N, --count N   list paging (default 0, 50)
  --new-seq N        redrive: the seq to give it
  --yes              purge: really delete
  --json             last stdout line: one JSON object
`,
  options: {
    ...partitionOptions('pipeline', 'partition', 'prefix', 'redis-url'),
    start: { type: 'string' },
    count: { type: 'string' },
    'new-seq': { type: 'string' },
    yes: { type: 'boolean', default: false },
  },
} as const;

function describe(d: StoredDeadLetter): string {
  const r = d.record;
  const when = r.deadAt ? new Date(r.deadAt).toISOString() : '?';
  const what = r.seq !== undefined ? `seq ${r.seq}` : 'no seq';
  const error = r.lastError ? `  ${r.lastError}` : '';
  const raw =
    r.raw !== undefined && r.envelope === undefined
      ? `  raw: ${JSON.stringify(r.raw.length > 80 ? `${r.raw.slice(0, 77)}...` : r.raw)}`
      : '';
  return `#${d.index}  ${what.padEnd(12)} ${r.reason.padEnd(12)} attempts ${String(r.attempts ?? '-').padEnd(3)} ${when}${error}${raw}`;
}

await runCli(spec, async (cleanup) => {
  const args = process.argv.slice(2);
  const firstFlag = args.findIndex((a) => a.startsWith('-'));
  const positional = firstFlag === -1 ? args : args.slice(0, firstFlag);
  const flags = parseFlags(spec, firstFlag === -1 ? [] : args.slice(firstFlag));
  const out = new Output(flags.json === true);
  const [command, seqText, ...extra] = positional;
  if (!command || !['list', 'show', 'redrive', 'purge'].includes(command))
    throw new UsageError(`unknown command ${JSON.stringify(command ?? '')}`);
  if (extra.length > 0) throw new UsageError(`unexpected arguments: ${extra.join(' ')}`);
  const { pipeline, partition, prefix, url } = partitionTarget(flags);
  const seq = seqText === undefined ? undefined : Number(seqText);
  if (seq !== undefined && (!Number.isSafeInteger(seq) || seq < 1))
    throw new UsageError(`seq must be a positive whole number, got ${seqText}`);
  if ((command === 'show' || command === 'redrive') && seq === undefined) throw new UsageError(`${command} needs a seq`);

  const redis = await connectForScript(url, cleanup);
  defineCommands(redis);
  const keys = keysFor(pipeline, partition, prefix);

  if (command === 'list') {
    const start = intFlag(flags, 'start', 0);
    const list = await listDeadLetters(redis, keys, start, intFlag(flags, 'count', 50, 1));
    const total = await redis.llen(keys.dead);
    out.line(
      `${total} dead letter(s) in ${pipeline} on ${redactRedisUrl(url)}${list.length < total ? `, showing ${start}..${start + list.length - 1}` : ''}`,
    );
    for (const d of list) out.line(describe(d));
    out.result({ total, deadLetters: list.map((d) => ({ index: d.index, ...d.record })) });
  } else if (command === 'show') {
    const found = await findDeadLetters(redis, keys, seq!);
    if (found.length === 0) throw new Error(`no dead letter for seq ${seq} in ${pipeline}`);
    for (const d of found) out.line(JSON.stringify(d.record, null, 2));
    out.result({ deadLetters: found.map((d) => ({ index: d.index, ...d.record })) });
  } else if (command === 'redrive') {
    const ordering = (await getPipeline(redis, pipeline, prefix))?.ordering ?? 'strict';
    const newSeqFlag = stringFlag(flags, 'new-seq');
    const newSeq = newSeqFlag === undefined ? undefined : intFlag(flags, 'new-seq', 0, 1);
    const result = await redrive(redis, keys, seq!, { ordering, ...(newSeq !== undefined ? { newSeq } : {}) });
    out.line(
      `seq ${seq} redriven as seq ${result.seq}${result.duplicate ? ' (it had been redriven already: nothing enqueued twice)' : ''}`,
    );
    out.result({ originalSeq: seq, seq: result.seq, duplicate: result.duplicate });
  } else {
    if (flags.yes !== true) throw new UsageError('purge deletes dead letters for good: add --yes');
    const removed = await purgeDeadLetters(redis, keys, seq);
    out.line(`removed ${removed} dead letter(s)${seq !== undefined ? ` of seq ${seq}` : ''} from ${pipeline}`);
    out.result({ removed });
  }
});
