--[[
  Return claims to the head of the input list, atomically, so another processor claims them
  next. Two uses:
  - reap: every claim whose lease expired before ARGV[2] (a dead or stalled owner), at most
    ARGV[3] claims; the failed attempt counts toward the seq's retry limit;
  - release: the claim tokens given after ARGV[3] (graceful shutdown); the attempt is not counted.
  Only seqs still claimed under the token move; settled ones are left alone.

  KEYS[1] input    list   raw envelopes; returned ones are pushed at the head
  KEYS[2] state    hash   seq -> state (see claim.lua); returned seqs become "Q|attempts"
  KEYS[3] leases   zset   claim token -> lease deadline; returned tokens are removed
  KEYS[4] batches  hash   claim token -> comma-separated seqs; returned tokens are removed
  KEYS[5] queue    zset   unordered pipelines' input: returned entries go to the head of their
                          priority class (score priority * 2^40)
  KEYS[6] signal   list   one entry while `queue` is non-empty
  ARGV[1] mode     "reap" | "release"
  ARGV[2] now      epoch ms (reap: leases with a deadline before it are expired)
  ARGV[3] limit    most claims to reap in one call (reap only)
  ARGV[4]          "list" | "queue": where returned entries go (KEYS[1] or KEYS[5])
  ARGV[5 ..]       claim tokens to release (release only)

  Returns { tokens, seqs }: the claim tokens returned and the number of seqs pushed back.
]]
local rcall = redis.call
local input, state, leases, batches, queue, signal = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local reap = ARGV[1] == 'reap'
local fromQueue = ARGV[4] == 'queue'

--#include lib/put-back.lua

local tokens
if reap then
  tokens = rcall('ZRANGE', leases, '-inf', '(' .. ARGV[2], 'BYSCORE', 'LIMIT', 0, tonumber(ARGV[3]))
else
  tokens = {}
  for i = 5, #ARGV do tokens[#tokens + 1] = ARGV[i] end
end

local returned = 0
for _, token in ipairs(tokens) do
  local list = rcall('HGET', batches, token)
  if list then
    local prefix = 'C|' .. token .. '|'
    for seq in string.gmatch(list, '[^,]+') do
      local st = rcall('HGET', state, seq)
      if st and string.sub(st, 1, #prefix) == prefix then
        local attempts, raw = string.match(string.sub(st, #prefix + 1), '^(%d+)|(.*)$')
        attempts = tonumber(attempts)
        if not reap then attempts = attempts - 1 end
        putBack(raw)
        rcall('HSET', state, seq, 'Q|' .. attempts)
        returned = returned + 1
      end
    end
  end
  rcall('ZREM', leases, token)
  rcall('HDEL', batches, token)
end
return { tokens, returned }
