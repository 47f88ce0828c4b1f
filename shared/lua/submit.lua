--[[
  Submit a batch of messages to a partition in one atomic step: assign seqs (or take the ones
  given), drop resubmissions of a known message id, and enqueue the rest. Nothing is written
  unless the whole batch is accepted, so an assigned seq is never skipped and a batch is never
  half enqueued. Every producer goes through here: the HTTP ingest, and enqueue() of the library
  (seqs given, ids ignored).

  Seqs come from one source per partition, recorded in meta "seqSource" by the first submit:
  "assigned" (this script counts them in meta "assigned", the last seq handed out; the first
  one is meta "next", the partition's first seq) or "given" (the producer numbers them). A
  batch from the other source is refused: the two would hand out the same seqs.

  A given seq far ahead of the order (a producer's bug, two producers numbering different
  ranges) would hold the order, and the processors' window, until a gap timeout skipped every
  seq in between: an ordered pipeline refuses a batch that gives a seq >= next + maxAhead,
  next being meta "next" (the next seq to emit), or the start seq while it is missing.

  Meta "accepted" is the high-water mark: the highest seq this script ever enqueued into the
  partition, assigned or given. A seq at or below it that no step of the pipeline knows was
  accepted and then lost (a Redis rollback), which the sequencer can tell from a seq that was
  never produced.

  Redis can roll back: restored from an older snapshot, failed over to a lagging replica,
  restarted after losing the last second of `appendfsync everysec`. Meta "assigned" may then
  be below seqs already acknowledged to producers. The caller passes `floor`, the highest seq it
  has itself assigned in this partition; when "assigned" is below it, this script raises
  "assigned" (and "accepted") to it before assigning, so an acknowledged seq is never handed to
  another message, and reports the stored value it found.

  The partition count is fixed per pipeline, because an ordering key picks its partition by it.
  `npm run partitions` changes it: it sets meta "resizing" (the target count) on every
  partition, which refuses every submit until the partitions have drained and the new count is
  in place, then records the count in meta "partitions" of each partition. A caller that
  routed by another count (its registry read is older than the change) is refused, so no key's
  messages are split between two partitions.

  Message ids are remembered for ttl ms (Redis clock) in a hash and a zset, never in a key with
  a TTL; each call prunes at most 2 * batch + 16 expired ids, so the work stays sized to the
  batch. An expired id is forgotten: a later submit with it is enqueued as a new message.
  A call with ttl 0 neither reads nor prunes ids (others may share the partition with a TTL).

  KEYS[1] meta      hash   reads "resizing" and "partitions" (set by `npm run partitions`);
                           reads/sets "layout", "next" (set when missing, as init.lua does),
                           "seqSource"; "assigned" (the last assigned seq: incremented, or
                           raised to the floor), "accepted" (the highest seq ever enqueued),
                           "arrival" (unordered pipelines: incremented)
  KEYS[2] input     list   ordered pipelines: raw envelopes appended in seq order
  KEYS[3] queue     zset   unordered pipelines: raw envelope -> priority * 2^40 + arrival
  KEYS[4] dedupe    hash   message id -> seq it got when first submitted
  KEYS[5] dedupeAt  zset   message id -> epoch ms (Redis clock) it was first submitted
  ARGV[1] ordering  "strict" (push to input) | "none" (add to queue)
  ARGV[2] layout    data-layout version this code writes (integer)
  ARGV[3] start     first seq of the partition, used when meta "next" is missing
  ARGV[4] deadline  epoch ms (Redis clock) after which the caller has given up: the script then
                    writes nothing (0 = no deadline)
  ARGV[5] ttl       ms a message id is remembered (0 = ids are ignored)
  ARGV[6] maxAhead  ordered pipelines: refuse a batch giving a seq >= next + maxAhead
                    (0 = no limit)
  ARGV[7] floor     the caller's highest assigned seq of this partition (0 = none): meta
                    "assigned" below it is raised to it before assigning
  ARGV[8] count     the pipeline's partition count the caller routed by (0 = not checked)
  ARGV[9] channel   processors' wake channel ("" = none): published to when the input was empty
  ARGV[10] tag      the partition's tag, the wake message
  ARGV[11 ..]       pairs, one per message, in order:
                    header "seq|priority|id": seq empty to assign one, priority an integer
                    (unordered only, else 0), id empty for none (may contain "|")
                    body   the envelope's JSON object without seq, starting with "{"

  Returns { code, a, b, c }
    code 1  = submitted: a = seqs (strings, one per message, in order), b = 1 per message that
              was a duplicate (its id was known: nothing enqueued for it), else 0, c = the
              stored "assigned" when it was below the floor and raised to it (a rollback),
              else -1
    code -1 = layout differs: a = the stored layout; nothing written
    code -2 = seq source differs: a = the partition's source ("assigned" | "given"); nothing written
    code -3 = past the deadline; nothing written
    code -4 = a given seq is too far ahead: a = the first such seq (string), b = the partition's
              next seq, c = maxAhead; nothing written
    code -5 = the pipeline's partition count is being changed: a = the target count; nothing written
    code -6 = the caller routed by a count the pipeline no longer has: a = its count; nothing written
  Raises an error (nothing written) when some messages of the batch give a seq and others do not.
]]
local rcall = redis.call
local meta, input, queue, dedupe, dedupeAt = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local ordered = ARGV[1] == 'strict'
local layout = ARGV[2]
local start = ARGV[3]
local deadline = tonumber(ARGV[4])
local ttl = tonumber(ARGV[5])
local maxAhead = tonumber(ARGV[6])
local floor = tonumber(ARGV[7])
local routedBy = ARGV[8]

--#include lib/time.lua
--#include lib/priority.lua
--#include lib/wake.lua

local now = nowMs()
if deadline > 0 and now > deadline then return { -3 } end

local state = rcall('HMGET', meta, 'layout', 'resizing', 'partitions', 'seqSource')
local stored, resizing, partitions, recorded = state[1], state[2], state[3], state[4]
if stored and stored ~= layout then return { -1, stored } end
if resizing then return { -5, resizing } end
if partitions and routedBy ~= '0' and partitions ~= routedBy then return { -6, partitions } end

local count = (#ARGV - 10) / 2
local headers, bodies = {}, {}
for i = 1, count do
  local seq, priority, id = string.match(ARGV[9 + 2 * i], '^(%d*)|(-?%d+)|(.*)$')
  headers[i] = { seq = seq, priority = tonumber(priority), id = id }
  bodies[i] = ARGV[10 + 2 * i]
end
local source = 'assigned'
if count > 0 and headers[1].seq ~= '' then source = 'given' end
for i = 2, count do
  if (headers[i].seq ~= '') ~= (source == 'given') then
    return redis.error_reply('ERR submit: a batch gives a seq on every message or on none')
  end
end
if recorded and recorded ~= source then return { -2, recorded } end

if source == 'given' and ordered and maxAhead > 0 then
  local nextSeq = tonumber(rcall('HGET', meta, 'next') or start)
  for i = 1, count do
    if tonumber(headers[i].seq) >= nextSeq + maxAhead then
      return { -4, headers[i].seq, string.format('%.0f', nextSeq), maxAhead }
    end
  end
end

-- Nothing can refuse the batch from here on.
rcall('HSETNX', meta, 'layout', layout)
rcall('HSETNX', meta, 'next', start)
rcall('HSETNX', meta, 'seqSource', source)

local cutoff = now - ttl
if ttl > 0 then
  local expired = rcall('ZRANGE', dedupeAt, '-inf', '(' .. cutoff, 'BYSCORE', 'LIMIT', 0, 2 * count + 16)
  if #expired > 0 then
    rcall('HDEL', dedupe, unpack(expired))
    rcall('ZREM', dedupeAt, unpack(expired))
  end
end

-- Duplicates: ids known from earlier batches, or repeated inside this one (first one wins).
local seqs, dups, firstOf, fresh = {}, {}, {}, 0
for i = 1, count do
  local id = headers[i].id
  dups[i] = 0
  if ttl > 0 and id ~= '' then
    if firstOf[id] then
      dups[i] = firstOf[id]
    else
      local known = rcall('HGET', dedupe, id)
      if known and tonumber(rcall('ZSCORE', dedupeAt, id) or '0') >= cutoff then
        seqs[i] = known
        dups[i] = -1
      end
      firstOf[id] = i
    end
  end
  if dups[i] == 0 then fresh = fresh + 1 end
end

local storedAccepted = tonumber(rcall('HGET', meta, 'accepted') or '0')
local accepted = storedAccepted
local raisedFrom = -1
local nextSeq = 0
if source == 'assigned' then
  local assigned = tonumber(rcall('HGET', meta, 'assigned') or (tonumber(rcall('HGET', meta, 'next')) - 1))
  if assigned < floor then
    raisedFrom = assigned
    assigned = floor
    rcall('HSET', meta, 'assigned', string.format('%.0f', assigned))
    if accepted < floor then accepted = floor end
  elseif fresh > 0 and rcall('HEXISTS', meta, 'assigned') == 0 then
    rcall('HSET', meta, 'assigned', string.format('%.0f', assigned))
  end
  if fresh > 0 then nextSeq = rcall('HINCRBY', meta, 'assigned', fresh) - fresh + 1 end
end
local arrival = 0
if not ordered and fresh > 0 then arrival = rcall('HINCRBY', meta, 'arrival', fresh) - fresh + 1 end

local raws, scored, flags = {}, {}, {}
for i = 1, count do
  local h = headers[i]
  if dups[i] == 0 then
    local seq = h.seq
    if seq == '' then
      seq = string.format('%.0f', nextSeq)
      nextSeq = nextSeq + 1
    end
    seqs[i] = seq
    if tonumber(seq) > accepted then accepted = tonumber(seq) end
    local raw = '{"seq":' .. seq .. ',' .. string.sub(bodies[i], 2)
    if ordered then
      raws[#raws + 1] = raw
    else
      scored[#scored + 1] = string.format('%.0f', h.priority * PRIORITY_SHIFT + arrival)
      scored[#scored + 1] = raw
      arrival = arrival + 1
    end
    if ttl > 0 and h.id ~= '' then
      rcall('HSET', dedupe, h.id, seq)
      rcall('ZADD', dedupeAt, now, h.id)
    end
    flags[i] = 0
  else
    if dups[i] > 0 then seqs[i] = seqs[dups[i]] end
    flags[i] = 1
  end
end
if accepted > storedAccepted then rcall('HSET', meta, 'accepted', string.format('%.0f', accepted)) end

-- Idle processors learn of input only when it was empty: busy ones are claiming anyway.
if #raws > 0 then
  if rcall('LLEN', input) == 0 then wake(ARGV[9], ARGV[10]) end
  rcall('RPUSH', input, unpack(raws))
end
if #scored > 0 then
  if rcall('ZCARD', queue) == 0 then wake(ARGV[9], ARGV[10]) end
  rcall('ZADD', queue, unpack(scored))
end
return { 1, seqs, flags, raisedFrom }
