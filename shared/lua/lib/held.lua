--[[
  Fragment, not a script: `--#include lib/held.lua` is replaced by this text when the scripts
  are loaded. Needs lib/put-back.lua included before it and lib/wake.lua, and the locals
  `rcall`, `held` (hash), `dead` (list), `meta` (hash), `input`, `queue`, `ordering`.

  A copy of a seq that meets another message's claim of it is held (claim.lua), not judged at
  once: the claimed entry may yet prove not to be that seq's message (the processor finds it is
  not JSON, or reads another seq), and then the held copy is the real one. When the claim
  settles, the held copy is judged: a conflict when the claimed message owned the seq, given
  back to the head of the input when it did not.
]]
-- `settled` is a list of { seq, owned }; returns how many held copies went back to the input.
local function judgeHeld(settled, now)
  if #settled == 0 or rcall('EXISTS', held) == 0 then return 0 end
  local seqs = {}
  for i = 1, #settled do seqs[i] = settled[i][1] end
  local copies = rcall('HMGET', held, unpack(seqs))
  local conflicts, back = 0, 0
  for i = 1, #settled do
    local raw = copies[i]
    if raw then
      rcall('HDEL', held, seqs[i])
      if settled[i][2] then
        local record = cjson.encode({ reason = 'conflict', raw = raw, deadAt = now,
          lastError = 'seq ' .. seqs[i] .. ' belongs to another message (payload or id differ): this copy was not processed' })
        rcall('RPUSH', dead, string.sub(record, 1, -2) .. ',"readSeq":' .. seqs[i] .. '}')
        conflicts = conflicts + 1
      else
        putBack(raw)
        back = back + 1
      end
    end
  end
  if conflicts > 0 then rcall('HINCRBY', meta, 'dead', conflicts) end
  return back
end
