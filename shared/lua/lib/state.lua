--[[
  Fragment, not a script: `--#include lib/state.lua` is replaced by this text when the scripts
  are loaded. Expects the local `rcall`.

  The state of a seq between its claim and its emit, one field of the partition's `state` hash
  (the one table of these encodings is in the README, "Redis keys"):
    C|token|attempts|raw   claimed under `token`; `attempts` counts this one
    R|attempts|raw         failed `attempts` times, waiting in `delayed` for a retry
    Q|attempts             returned to the input (reaped or released), not yet claimed again
    {"seq":...             done: the output envelope waits to be emitted, without its closing
                           brace, so emit.lua appends the sequencer's timestamps with one copy
                           (strict pipelines; its kind is "{")
    T                      dead-lettered: a tombstone waits to be emitted (strict pipelines)
  Tokens are "owner:n": owners hold no ":", "|" or ",", and n holds none of them either.
]]
-- For C|token|attempts|raw: token, attempts, raw.
local function parseClaimed(st)
  local a = string.find(st, '|', 3, true)
  local b = string.find(st, '|', a + 1, true)
  return string.sub(st, 3, a - 1), tonumber(string.sub(st, a + 1, b - 1)), string.sub(st, b + 1)
end

-- attempts, raw when `st` is claimed under `token`; nil otherwise.
local function claimedBy(st, token)
  if not st or string.sub(st, 1, 1) ~= 'C' then return nil end
  local t, attempts, raw = parseClaimed(st)
  if t ~= token then return nil end
  return attempts, raw
end

-- The attempts of `st` when it is claimed under `token`, else nil; copies nothing of the raw
-- envelope (the settle steps check every seq they settle).
local function claimAttempts(st, token)
  if not st then return nil end
  local prefix = 'C|' .. token .. '|'
  if string.sub(st, 1, #prefix) ~= prefix then return nil end
  return tonumber(string.match(st, '^(%d+)|', #prefix + 1))
end

-- True when `st` is claimed under the claim whose state prefix is `prefix` ("C|token|").
local function isClaimedBy(st, prefix)
  return st ~= nil and st ~= false and string.sub(st, 1, #prefix) == prefix
end

-- For R|attempts|raw and Q|attempts: attempts, and raw for R.
local function parseWaiting(st)
  local bar = string.find(st, '|', 3, true)
  if not bar then return tonumber(string.sub(st, 3)), nil end
  return tonumber(string.sub(st, 3, bar - 1)), string.sub(st, bar + 1)
end

-- The owner of a claim token "owner:n".
local function ownerOf(token)
  return string.match(token, '^(.*):[^:]*$') or token
end
