--[[
  Fragment, not a script: `--#include lib/put-back.lua` is replaced by this text when the
  scripts are loaded. Expects the locals `rcall`, `input` (list), `queue` (zset) and
  `ordering` ("strict" or "none").
]]
--#include lib/priority.lua

-- Puts a raw envelope back at the head: of the input list (strict pipelines), or of its
-- priority class in the queue (unordered pipelines).
local function putBack(raw)
  if ordering == 'strict' then
    rcall('LPUSH', input, raw)
    return
  end
  local ok, obj = pcall(cjson.decode, raw)
  local priority = 0
  if ok and type(obj) == 'table' and type(obj.priority) == 'number' then priority = obj.priority end
  rcall('ZADD', queue, priority * PRIORITY_SHIFT, raw)
end
