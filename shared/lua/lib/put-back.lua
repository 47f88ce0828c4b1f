--[[
  Fragment, not a script: `--#include lib/put-back.lua` in a script file is replaced by this
  text when the scripts are loaded (shared/src/commands.ts). It expects the including script
  to have defined the locals `rcall`, `input` (list), `queue` (zset), `signal` (list) and
  `fromQueue` (true for an unordered pipeline).
]]
-- Puts a raw envelope back at the head: of the input list (strict pipelines), or of its
-- priority class in the queue (unordered), keeping `signal` non-empty while the queue is.
local function putBack(raw)
  if not fromQueue then
    rcall('LPUSH', input, raw)
    return
  end
  local ok, obj = pcall(cjson.decode, raw)
  local priority = 0
  if ok and type(obj) == 'table' and type(obj.priority) == 'number' then priority = obj.priority end
  rcall('ZADD', queue, priority * 1099511627776, raw)
  if rcall('LLEN', signal) == 0 then rcall('RPUSH', signal, '1') end
end
