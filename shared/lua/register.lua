--[[
  Register a pipeline unless it exists, within a limit on how many pipelines the registry holds.
  The check and the creation are one step, so ingests running side by side cannot pass the
  limit together. Used where pipelines are created on demand (the event API); services that
  register the pipeline they are configured for use HSETNX without a limit.

  KEYS[1] registry  hash   pipeline name -> JSON settings
  ARGV[1] name      the pipeline's name
  ARGV[2] settings  its JSON settings, stored when it is created
  ARGV[3] max       the most pipelines the registry may hold (0 = no limit)

  Returns { code, value }
    code 1  = created: value = the settings stored
    code 0  = exists: value = its stored settings (unchanged, whatever the limit)
    code -1 = the registry holds max or more pipelines: value = how many; nothing written
]]
local rcall = redis.call
local registry = KEYS[1]
local existing = rcall('HGET', registry, ARGV[1])
if existing then return { 0, existing } end
local max = tonumber(ARGV[3])
if max > 0 then
  local count = rcall('HLEN', registry)
  if count >= max then return { -1, count } end
end
rcall('HSET', registry, ARGV[1], ARGV[2])
return { 1, ARGV[2] }
