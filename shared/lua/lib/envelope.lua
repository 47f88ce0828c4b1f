--[[
  Fragment, not a script: `--#include lib/envelope.lua` is replaced by this text when the
  scripts are loaded. Reads raw input entries the way the processor does, so both agree.
]]
local MAX_SEQ = 9007199254740991 -- 2^53 - 1, Number.MAX_SAFE_INTEGER

-- The seq of a raw input entry and its decimal text, or nil and why not. Entries written seq
-- first (`{"seq":7,...}`, braces balanced, no second "seq") are read without decoding; others are decoded,
-- and refused when their leading seq and their decoded one differ (a repeated seq key): the
-- claim and the processor (JSON.parse) must read the same seq. What only the processor can tell
-- (text that is not JSON after all, an escaped seq key) it dead-letters without taking the seq.
local function seqOf(raw)
  local digits = string.match(raw, '^{"seq":([1-9]%d*)[,}]')
  if digits and #digits <= 15 and not string.find(raw, '"seq"', 8, true) and string.find(raw, '^%b{}$') then
    return tonumber(digits), digits
  end
  local ok, obj = pcall(cjson.decode, raw)
  if not ok then return nil, 'not JSON' end
  if type(obj) ~= 'table' then return nil, 'not a JSON object' end
  local seq = obj.seq
  if seq == nil then return nil, 'no seq field' end
  if type(seq) ~= 'number' or seq < 1 or seq ~= math.floor(seq) or seq > MAX_SEQ then
    return nil, 'seq is not an integer from 1 to 2^53 - 1'
  end
  local text = string.format('%.0f', seq)
  if digits and digits ~= text then
    return nil, 'the seq key appears more than once (' .. digits .. ', then ' .. text .. ')'
  end
  -- cjson also reads what JSON forbids (leading zeros, hex): the seq must be a plain decimal.
  if not string.find(raw, '"seq"%s*:%s*' .. text .. '[%s,}]') then
    return nil, 'seq is not written as a plain decimal integer'
  end
  return seq, text
end

local function deepEqual(a, b)
  if a == b then return true end
  if type(a) ~= 'table' or type(b) ~= 'table' then return false end
  for k, v in pairs(a) do
    if not deepEqual(v, b[k]) then return false end
  end
  for k in pairs(b) do
    if a[k] == nil then return false end
  end
  return true
end

-- True when two envelopes (JSON) carry the same message: the same payload and id. Their
-- timestamps and attempt counts may differ (a producer's resend is stamped anew).
local function sameMessage(a, b)
  if a == b then return true end
  local okA, x = pcall(cjson.decode, a)
  local okB, y = pcall(cjson.decode, b)
  if not (okA and okB and type(x) == 'table' and type(y) == 'table') then return false end
  return x.id == y.id and deepEqual(x.payload, y.payload)
end
