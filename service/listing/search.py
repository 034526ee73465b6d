"""The listing's search, one Lua script on the Redis server (service.listing.pages calls it).

It walks one sorted set newest first (by creation time, then id, as ZREVRANGEBYSCORE orders them)
from the cursor down, keeps the ids that are in every other filter's set, and stops after
``limit + 1`` hits or ``budget`` ids looked at. Its cost is the ids it touches and the strings that
cross between Redis and Lua (measured on Redis 6.2 on a 2-vCPU VM: about 0.6 us an id, 2 us a score,
against about 0.3 us an id and set for ZINTERSTORE, in C), so:

- The walk goes by rank (ZCOUNT finds the cursor's and the lower bound's ranks once, and a
  bisection the cursor's place among ids of its creation time; ZREVRANGE reads from there), not by
  ZREVRANGEBYSCORE with a growing LIMIT offset, which re-skips every id already read on each
  batch, and it reads scores only where it must (the hits). Starting past the cursor matters when
  many ids share one creation time: a walk that started at the first of them and skipped those
  already listed spent its whole budget on them once there were more than the budget, and
  returned the same cursor again, for ever.
- It asks each other set about a whole batch at once (ZMSCORE, smallest sets first, only the
  survivors of the previous one), not one ZSCORE per id and set. A batch is as large as the
  filters' estimated density says a page needs (at least the ids still missing, at most
  ``MAX_BATCH``), so a plain or one-filter page is one ZREVRANGE of ``limit + 1`` ids.
- Where the walk would look at more than ``INTERSECT_FRACTION`` of a smallest set of at most
  ``inter_max`` ids, intersecting the sets in Redis first is cheaper (ZINTERSTORE into a scratch
  key, deleted again): it reads the whole smallest set, but in C, and the walk of the result finds
  every match within the budget.

The page's listing lines (service.listing.summaries) come back in the same call: with a key prefix in
ARGV[8], the script MGETs prefix + id for the page's ids. Those keys are not declared in KEYS (their
names depend on what the search finds), which a single Redis allows and a Redis Cluster would not;
fastscale runs on one Redis, and one round trip instead of two is most of an API request's wait.

KEYS: the scratch key, the set of every id, then one set per filter.
ARGV: limit, budget, highest score ('+inf' or ms), lowest score ('-inf' or ms), cursor score ('' for
none), cursor id, inter_max, line key prefix ('' for no lines). Returns {hits, last, lines}: hits
alternate id and score (``limit + 1`` of them when there is more); last is the (id, score) the
budget stopped at, or empty when the walk ended on its own; lines, one per hit up to ``limit``
(nil where none is stored), only with a prefix and hits.
"""

from __future__ import annotations

MAX_BATCH = 1000  # ids per ZREVRANGE (and per ZMSCORE: Lua's unpack handles a few thousand)
INTERSECT_FRACTION = 0.25

SEARCH = """
local limit, budget, inter_max = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[7])
local maxs, cs, cm = ARGV[3], tonumber(ARGV[5]), ARGV[6]
local lo = -math.huge
if ARGV[4] ~= '-inf' then lo = tonumber(ARGV[4]) end
local total = math.max(1, redis.call('ZCARD', KEYS[2]))
local order = {}
for i = 3, #KEYS do order[#order + 1] = {KEYS[i], redis.call('ZCARD', KEYS[i])} end
table.sort(order, function(a, b) return a[2] < b[2] end)
local primary, others, density = KEYS[2], {}, 1
if #order > 0 then primary = order[1][1] end
for i = 2, #order do density = density * order[i][2] / total end
-- How many ids the walk would look at for a page, if the filters were independent.
local expected = (limit + 1) / math.max(density, 1e-9)
if #order > 1 and order[1][2] <= inter_max and expected > order[1][2] * %(fraction)s then
  local args = {'ZINTERSTORE', KEYS[1], #order}
  for i = 1, #order do args[#args + 1] = order[i][1] end
  args[#args + 1] = 'AGGREGATE'
  args[#args + 1] = 'MAX'
  redis.call(unpack(args))
  primary, density = KEYS[1], 1
else
  for i = 2, #order do others[#others + 1] = order[i][1] end
end

-- Which of ids are in every other set: position -> score (the last ZMSCORE's answer; every set
-- scores an id by its creation time).
local function members_of_all(ids)
  local idx, scores = {}, {}
  for i = 1, #ids do idx[i] = i end
  for k = 1, #others do
    local asked = {}
    for j = 1, #idx do asked[j] = ids[idx[j]] end
    local got = redis.call('ZMSCORE', others[k], unpack(asked))
    local kept = {}
    scores = {}
    for j = 1, #idx do
      if got[j] then
        kept[#kept + 1] = idx[j]
        scores[idx[j]] = got[j]
      end
    end
    idx = kept
    if #idx == 0 then break end
  end
  return scores
end

-- The next n ids of the walk from rank, and position -> score of those that match.
local function batch_at(rank, n)
  if #others > 0 then
    local ids = redis.call('ZREVRANGE', primary, rank, rank + n - 1)
    return ids, members_of_all(ids)
  end
  local flat = redis.call('ZREVRANGE', primary, rank, rank + n - 1, 'WITHSCORES')
  local ids, scores = {}, {}
  for i = 1, #flat, 2 do
    ids[#ids + 1] = flat[i]
    scores[#ids] = flat[i + 1]
  end
  return ids, scores
end

-- The first rank in [rank, tie_end) whose id is below the cursor's: the ids there share the
-- cursor's score and come in descending id order, so those from the cursor's id up were on the
-- previous page. A bisection by rank (the cursor's id may have left the set since).
local function past_cursor(rank, tie_end)
  while rank < tie_end do
    local mid = math.floor((rank + tie_end) / 2)
    if redis.call('ZREVRANGE', primary, mid, mid)[1] >= cm then rank = mid + 1 else tie_end = mid end
  end
  return rank
end

local function walk()
  -- Ranks [rank, stop) hold the ids within the bounds, after the cursor's.
  local rank, stop = 0, redis.call('ZCARD', primary)
  if maxs ~= '+inf' then rank = redis.call('ZCOUNT', primary, '(' .. maxs, '+inf') end
  if ARGV[4] ~= '-inf' then stop = redis.call('ZCOUNT', primary, ARGV[4], '+inf') end
  if cs and tonumber(maxs) == cs then rank = past_cursor(rank, rank + redis.call('ZCOUNT', primary, cs, cs)) end
  local out, scanned, last = {}, 0, nil
  while scanned < budget and rank < stop do
    local n = limit + 1 - #out / 2  -- every id is a hit when there is no other set to ask
    if #others > 0 then n = math.max(n, math.min(%(max_batch)d, math.ceil(n / density * 1.25))) end
    n = math.min(n, budget - scanned, stop - rank)
    local ids, scores = batch_at(rank, n)
    for i = 1, #ids do
      local m = ids[i]
      scanned = scanned + 1
      if scores[i] then
        out[#out + 1] = m
        out[#out + 1] = scores[i]
        if #out / 2 > limit then return {out, {}} end
      end
      last = m
    end
    if #ids < n then return {out, {}} end
    rank = rank + n
  end
  if rank >= stop or last == nil then return {out, {}} end
  return {out, {last, redis.call('ZSCORE', primary, last)}}
end
local result = walk()
redis.call('DEL', KEYS[1])
if ARGV[8] ~= '' and #result[1] > 0 then
  local lines = {}
  for i = 1, math.min(#result[1], 2 * limit), 2 do lines[#lines + 1] = ARGV[8] .. result[1][i] end
  result[3] = redis.call('MGET', unpack(lines))
end
return result
""" % {"fraction": repr(INTERSECT_FRACTION), "max_batch": MAX_BATCH}
