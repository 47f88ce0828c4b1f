--[[
  What holds a strict partition's order back: the state of its next seq, and what waits
  anywhere else, for the sequencer's gap and stall decisions. Read only, but for one repair: a
  next seq claimed under a token that holds no claim (a Redis rollback can leave one) is put
  back at the head of the input, so it is claimed again instead of waiting forever.

  KEYS[1] state    hash   seq -> state (lib/state.lua)
  KEYS[2] claims   hash   claim token -> "remaining|seqs"
  KEYS[3] owners   zset   owner -> liveness deadline (epoch ms, Redis clock)
  KEYS[4] delayed  zset   seq -> retry due time (epoch ms, Redis clock)
  KEYS[5] input    list   raw envelopes waiting to be claimed; an orphaned next goes to the head
  KEYS[6] parked   zset   raw envelope -> seq, held back by the window
  KEYS[7] meta     hash   reads "accepted" and "next"
  ARGV[1] next     the seq the order waits for
  ARGV[2] channel  processors' wake channel ("" = none), when an orphan went back
  ARGV[3] tag      the partition's tag, the wake message

  Returns { kind, owner, ms, inputLength, parkedCount, parkedMin, delayedCount, accepted,
            stateSize, now, next }
    kind   "unknown" (no state) | "claimed" | "retry" | "queued" (returned to the input) |
           "settled" (done or dead-lettered, waiting to be emitted) | "returned" (an orphaned
           claim, put back now)
    owner  claimed: the owner of the claim; else ""
    ms     claimed: ms until the owner's liveness lapses (negative: lapsed; "" when it has none);
           retry: ms until it is due; else ""
    parkedMin  the lowest parked seq, or ""
    accepted   meta "accepted" (the highest seq accepted into the partition), or "0"
    now    Redis's clock, epoch ms
    next   meta "next": when it is not the seq the caller waits for, Redis moved under it
]]
local rcall = redis.call
local state, claims, owners, delayed, input, parked, meta = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7]
local seq = ARGV[1]

--#include lib/time.lua
--#include lib/state.lua
--#include lib/wake.lua

local now = nowMs()
local kind, owner, ms = 'unknown', '', ''
local st = rcall('HGET', state, seq)
if st then
  local k = string.sub(st, 1, 1)
  if k == 'C' then
    local token, attempts, raw = parseClaimed(st)
    if rcall('HEXISTS', claims, token) == 0 then
      rcall('LPUSH', input, raw)
      rcall('HSET', state, seq, 'Q|' .. (attempts - 1))
      wake(ARGV[2], ARGV[3])
      kind = 'returned'
    else
      kind = 'claimed'
      owner = ownerOf(token)
      local deadline = rcall('ZSCORE', owners, owner)
      if deadline then ms = tonumber(deadline) - now end
    end
  elseif k == 'R' then
    kind = 'retry'
    local due = rcall('ZSCORE', delayed, seq)
    if due then ms = tonumber(due) - now end
  elseif k == 'Q' then
    kind = 'queued'
  else
    kind = 'settled'
  end
end
local lowest = rcall('ZRANGE', parked, 0, 0, 'WITHSCORES')
return {
  kind, owner, ms, rcall('LLEN', input), rcall('ZCARD', parked), lowest[2] or '',
  rcall('ZCARD', delayed), rcall('HGET', meta, 'accepted') or '0', rcall('HLEN', state), now,
  rcall('HGET', meta, 'next') or '',
}
