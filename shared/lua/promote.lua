--[[
  Move retries that are due from the delayed set back to the head of the input list, so they
  are claimed before newer messages.

  KEYS[1] delayed  zset   seq -> due time (epoch ms)
  KEYS[2] state    hash   seq -> "R|attempts|body" becomes "Q|attempts"
  KEYS[3] input    list   raw envelopes; promoted ones are pushed at the head
  KEYS[4] queue    zset   unordered pipelines' input: promoted entries go to the head of their
                          priority class (score priority * 2^40)
  KEYS[5] signal   list   one entry while `queue` is non-empty
  ARGV[1] now      epoch ms
  ARGV[2] limit    most retries to promote in one call
  ARGV[3] mode     "list" | "queue": where promoted entries go (KEYS[3] or KEYS[4])

  Returns { promoted, nextDue }: how many moved, and the due time of the earliest retry still
  waiting (-1 when none).
]]
local rcall = redis.call
local delayed, state, input, queue, signal = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local fromQueue = ARGV[3] == 'queue'

--#include lib/put-back.lua

local due = rcall('ZRANGE', delayed, '-inf', ARGV[1], 'BYSCORE', 'LIMIT', 0, tonumber(ARGV[2]))
local promoted = 0
for i = #due, 1, -1 do
  local seq = due[i]
  local st = rcall('HGET', state, seq)
  if st and string.sub(st, 1, 2) == 'R|' then
    local attempts, body = string.match(st, '^R|(%d+)|(.*)$')
    putBack(body)
    rcall('HSET', state, seq, 'Q|' .. attempts)
    promoted = promoted + 1
  end
  rcall('ZREM', delayed, seq)
end
local first = rcall('ZRANGE', delayed, 0, 0, 'WITHSCORES')
local nextDue = -1
if first[2] then nextDue = tonumber(first[2]) end
return { promoted, nextDue }
