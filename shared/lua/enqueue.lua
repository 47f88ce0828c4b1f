--[[
  Append envelopes to a partition's input in one atomic step.
  Strict pipelines: RPUSH to the input list, in the order given.
  Unordered pipelines: ZADD to the queue with score priority * 2^40 + arrival number (the
  meta hash's "arrival" counter), so lower priority numbers come first and equal priorities
  keep their arrival order; `signal` gets one entry if it has none.
  The envelopes carry the producer's own seqs, so the partition's seq source becomes "given";
  a partition whose seqs the ingest assigns ("assigned") refuses them: the two would hand out
  the same seqs, and the later copy of a seq would be dropped as a duplicate.

  KEYS[1] input    list   strict pipelines' input
  KEYS[2] queue    zset   unordered pipelines' input
  KEYS[3] signal   list   one entry while `queue` is non-empty
  KEYS[4] meta     hash   reads and sets "seqSource"; increments "arrival" (unordered only)
  ARGV[1] mode     "list" | "queue"
  ARGV[2 ..]       pairs: priority (integer -1000..1000; ignored in list mode), raw envelope

  Returns the number of entries appended, or -1 when the partition's seqs are assigned by the
  ingest (nothing written).
]]
local rcall = redis.call
local input, queue, signal, meta = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
if #ARGV < 2 then return 0 end
if rcall('HGET', meta, 'seqSource') == 'assigned' then return -1 end
rcall('HSETNX', meta, 'seqSource', 'given')
local n = 0
if ARGV[1] == 'queue' then
  for i = 2, #ARGV, 2 do
    local arrival = rcall('HINCRBY', meta, 'arrival', 1)
    rcall('ZADD', queue, tonumber(ARGV[i]) * 1099511627776 + arrival, ARGV[i + 1])
    n = n + 1
  end
  if n > 0 and rcall('LLEN', signal) == 0 then rcall('RPUSH', signal, '1') end
else
  local raws = {}
  for i = 2, #ARGV, 2 do raws[#raws + 1] = ARGV[i + 1] end
  if #raws > 0 then rcall('RPUSH', input, unpack(raws)) end
  n = #raws
end
return n
