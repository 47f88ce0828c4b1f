--[[
  Settle failed attempts of claimed seqs, if the claim is still ours: schedule a retry, or
  dead-letter the envelope and leave a tombstone so the sequencer moves past its seq.
  Replaying it changes nothing (the claim no longer matches).

  KEYS[1] state    hash   seq -> state (see claim.lua): retry -> "R|attempts|body";
                          dead letter -> "D" (ordered) or removed (unordered)
  KEYS[2] delayed  zset   seq -> due time (epoch ms) of its retry
  KEYS[3] results  stream tombstones: one entry per call, fields seq -> "t"; ordered mode only
  KEYS[4] dead     list   dead-letter records (JSON), appended
  KEYS[5] leases   zset   claim token -> lease deadline; finished tokens are removed
  KEYS[6] batches  hash   claim token -> seqs; finished tokens are removed
  KEYS[7] meta     hash   increments "dead"
  ARGV[1] mode     "ordered" | "unordered"
  ARGV[2] n        number of finished claim tokens that follow
  ARGV[3 .. 2+n]   finished claim tokens
  ARGV[3+n ..]     5-tuples: seq, claim token, action ("retry" | "dead"), due (epoch ms, retry
                   only), body (retry: the envelope for the next attempt; dead: the dead-letter
                   record), all JSON

  Returns an array with one entry per tuple: 1 = settled, 0 = stale (claim no longer ours).
]]
local rcall = redis.call
local state, delayed, results, dead, leases, batches, meta =
  KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7]
local ordered = ARGV[1] == 'ordered'
local n = tonumber(ARGV[2])
for i = 3, 2 + n do
  rcall('ZREM', leases, ARGV[i])
  rcall('HDEL', batches, ARGV[i])
end

local out, tombstones = {}, {}
for i = 3 + n, #ARGV, 5 do
  local seq, token, action, due, body = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], ARGV[i + 4]
  local prefix = 'C|' .. token .. '|'
  local st = rcall('HGET', state, seq)
  if st and string.sub(st, 1, #prefix) == prefix then
    if action == 'retry' then
      local attempts = string.match(string.sub(st, #prefix + 1), '^(%d+)|')
      rcall('HSET', state, seq, 'R|' .. attempts .. '|' .. body)
      rcall('ZADD', delayed, tonumber(due), seq)
    else
      rcall('RPUSH', dead, body)
      rcall('HINCRBY', meta, 'dead', 1)
      if ordered then
        tombstones[#tombstones + 1] = seq
        tombstones[#tombstones + 1] = 't'
        rcall('HSET', state, seq, 'D')
      else
        rcall('HDEL', state, seq)
      end
    end
    out[#out + 1] = 1
  else
    out[#out + 1] = 0
  end
end
if #tombstones > 0 then rcall('XADD', results, '*', unpack(tombstones)) end
return out
