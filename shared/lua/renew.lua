--[[
  Renew the leases of claims that are still held. A lease that is gone was reaped by another
  processor: the caller must give up every seq of that claim.

  KEYS[1] leases   zset   claim token -> lease deadline (epoch ms)
  ARGV[1] deadline new lease deadline (epoch ms)
  ARGV[2 ..]       claim tokens

  Returns an array with one entry per token: 1 = renewed, 0 = lease gone.
]]
local rcall = redis.call
local leases = KEYS[1]
local deadline = ARGV[1]
local out = {}
for i = 2, #ARGV do
  if rcall('ZSCORE', leases, ARGV[i]) then
    rcall('ZADD', leases, deadline, ARGV[i])
    out[#out + 1] = 1
  else
    out[#out + 1] = 0
  end
end
return out
