/**
 * The Lua scripts that make the shared state's changes atomic in Redis. Each
 * script reads and writes under Redis's single thread, so admission is exact
 * under any concurrency, and each change it makes is published on the state
 * channel inside the script, numbered by one counter: every node sees every
 * presence and room change in the same order, and can tell when it missed one.
 *
 * Keys (all under the prefix P, passed as ARGV[1]; Redis Cluster is not
 * supported, since the scripts name keys they compute):
 * - P.nodes       zset   node -> lease expiry (ms, Redis clock)
 * - P.total       string permits in use (connections)
 * - P.clients     hash   client id -> connections in the service
 * - P.multi       hash   client id -> '1' when its connections may be several
 * - P.ips         hash   address -> connections in the service
 * - P.n:NODE      hash   client id -> connections on NODE
 * - P.nip:NODE    hash   address -> connections on NODE
 * - P.rooms       hash   room -> owner
 * - P.rm:ROOM     set    members of ROOM
 * - P.rooms-loaded       set once the rooms were loaded from PostgreSQL
 * - P.v           string the number of the last state change
 * Channel P.state carries the changes as JSON: {v, c, n, x} (client c now has
 * n connections; x=1 when its node died) or {v, r} (a room change).
 */

/** Shared helpers, prepended to every script. */
const PRELUDE = `
local P = ARGV[1]
local function nowMs()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function publish(change)
  change.v = redis.call('INCR', P .. 'v')
  redis.call('PUBLISH', P .. 'state', cjson.encode(change))
  return change.v
end
local function presence(id, n, crashed)
  return publish({ c = id, n = n, x = crashed and 1 or 0 })
end
local function version()
  return tonumber(redis.call('GET', P .. 'v') or '0')
end
local function dropIp(node, ip, n)
  if redis.call('HINCRBY', P .. 'ips', ip, -n) <= 0 then redis.call('HDEL', P .. 'ips', ip) end
  if redis.call('HINCRBY', P .. 'nip:' .. node, ip, -n) <= 0 then redis.call('HDEL', P .. 'nip:' .. node, ip) end
end
-- Releases every connection NODE holds and forgets the node; announces the clients as crashed.
local function dropNode(node, crashed)
  local entries = redis.call('HGETALL', P .. 'n:' .. node)
  for i = 1, #entries, 2 do
    local id, n = entries[i], tonumber(entries[i + 1])
    redis.call('DECRBY', P .. 'total', n)
    local left = redis.call('HINCRBY', P .. 'clients', id, -n)
    if left <= 0 then
      redis.call('HDEL', P .. 'clients', id)
      redis.call('HDEL', P .. 'multi', id)
      left = 0
    end
    presence(id, left, crashed)
  end
  local ips = redis.call('HGETALL', P .. 'nip:' .. node)
  for i = 1, #ips, 2 do dropIp(node, ips[i], tonumber(ips[i + 1])) end
  redis.call('DEL', P .. 'n:' .. node, P .. 'nip:' .. node)
  redis.call('ZREM', P .. 'nodes', node)
  return #entries / 2
end
-- Nodes whose lease ran out (killed, or cut off from Redis) give everything back.
local function reap(now)
  local dead = redis.call('ZRANGEBYSCORE', P .. 'nodes', '-inf', now)
  for _, node in ipairs(dead) do dropNode(node, true) end
  return #dead
end
`;

function script(body: string): string {
  return PRELUDE + body;
}

/**
 * ARGV: P, node, leaseMs. Starts (or renews) NODE's lease. A node that is
 * registering starts afresh: whatever an earlier incarnation of the same name
 * held is released first. Returns the state version.
 */
export const REGISTER = script(`
local node, lease = ARGV[2], tonumber(ARGV[3])
local now = nowMs()
reap(now)
dropNode(node, false)
redis.call('ZADD', P .. 'nodes', now + lease, node)
return version()
`);

/**
 * ARGV: P, node, leaseMs. Renews NODE's lease and reaps expired nodes.
 * Returns 1, or 0 when NODE has no lease any more (it expired, or Redis lost
 * its data): then the node must start afresh.
 */
export const HEARTBEAT = script(`
local node, lease = ARGV[2], tonumber(ARGV[3])
local now = nowMs()
reap(now)
if not redis.call('ZSCORE', P .. 'nodes', node) then return 0 end
redis.call('ZADD', P .. 'nodes', now + lease, node)
return 1
`);

/**
 * ARGV: P, node, clientId, ip, multi ('1'/'0'), maxClients, maxPerIp.
 * Returns {outcome, version}: outcome 'admitted', 'taken', 'full', 'too-many',
 * or 'lost' (NODE has no lease: it must start afresh before admitting).
 */
export const ADMIT = script(`
local node, id, ip, multi = ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local maxClients, maxPerIp = tonumber(ARGV[6]), tonumber(ARGV[7])
reap(nowMs())
if not redis.call('ZSCORE', P .. 'nodes', node) then return { 'lost', version() } end
local count = tonumber(redis.call('HGET', P .. 'clients', id) or '0')
if count > 0 and not (multi == '1' and redis.call('HGET', P .. 'multi', id) == '1') then return { 'taken', version() } end
if tonumber(redis.call('GET', P .. 'total') or '0') >= maxClients then return { 'full', version() } end
if tonumber(redis.call('HGET', P .. 'ips', ip) or '0') >= maxPerIp then return { 'too-many', version() } end
redis.call('INCR', P .. 'total')
redis.call('HINCRBY', P .. 'ips', ip, 1)
redis.call('HINCRBY', P .. 'nip:' .. node, ip, 1)
redis.call('HINCRBY', P .. 'n:' .. node, id, 1)
local n = redis.call('HINCRBY', P .. 'clients', id, 1)
if n == 1 then redis.call('HSET', P .. 'multi', id, multi) end
return { 'admitted', presence(id, n, false) }
`);

/**
 * ARGV: P, node, clientId, ip. Returns one connection of clientId on NODE.
 * Returns the state version (unchanged when NODE held none).
 */
export const RELEASE = script(`
local node, id, ip = ARGV[2], ARGV[3], ARGV[4]
local held = tonumber(redis.call('HGET', P .. 'n:' .. node, id) or '0')
if held <= 0 then return version() end
if held == 1 then redis.call('HDEL', P .. 'n:' .. node, id) else redis.call('HINCRBY', P .. 'n:' .. node, id, -1) end
redis.call('DECR', P .. 'total')
dropIp(node, ip, 1)
local left = redis.call('HINCRBY', P .. 'clients', id, -1)
if left <= 0 then
  redis.call('HDEL', P .. 'clients', id)
  redis.call('HDEL', P .. 'multi', id)
  left = 0
end
return presence(id, left, false)
`);

/**
 * ARGV: P, node. NODE leaves the service: its connections are released (not
 * as a crash). Returns the state version.
 */
export const LEAVE = script(`
dropNode(ARGV[2], false)
return version()
`);

/**
 * ARGV: P, rooms as JSON [{name, owner, members}]. Loads the rooms from the
 * record (PostgreSQL) once per Redis data set: the first node after Redis
 * started empty does it, the others find it done. Returns 1 if it loaded them.
 */
export const LOAD_ROOMS = script(`
if redis.call('SETNX', P .. 'rooms-loaded', '1') == 0 then return 0 end
for _, room in ipairs(cjson.decode(ARGV[2])) do
  redis.call('HSET', P .. 'rooms', room.name, room.owner)
  for _, member in ipairs(room.members) do redis.call('SADD', P .. 'rm:' .. room.name, member) end
end
return 1
`);

/**
 * ARGV: P. The whole state at one version: {version, [id, n, ...], [[room,
 * owner, {members}], ...], rooms loaded (1/0)}.
 */
export const SNAPSHOT = script(`
local rooms = {}
local owners = redis.call('HGETALL', P .. 'rooms')
for i = 1, #owners, 2 do
  rooms[#rooms + 1] = { owners[i], owners[i + 1], redis.call('SMEMBERS', P .. 'rm:' .. owners[i]) }
end
local loaded = redis.call('EXISTS', P .. 'rooms-loaded')
return { version(), redis.call('HGETALL', P .. 'clients'), rooms, loaded }
`);

/**
 * ARGV: P, op ('create' | 'join' | 'leave' | 'delete'), room, clientId.
 * Decides the change as RoomRegistry does, applies it and publishes it.
 * Returns {outcome, version, owner?, members?}: create: 'created' | 'exists';
 * join: 'joined' (was not a member), 'member' (already was) or 'not-found',
 * with the owner and the members; leave: 'left' | 'not-member' | 'not-found';
 * delete: 'deleted' (with the members it had) | 'not-owner' | 'not-found'.
 */
export const ROOM = script(`
local op, room, id = ARGV[2], ARGV[3], ARGV[4]
local members = P .. 'rm:' .. room
local owner = redis.call('HGET', P .. 'rooms', room)
if op == 'create' then
  if owner then return { 'exists', version() } end
  redis.call('HSET', P .. 'rooms', room, id)
  redis.call('SADD', members, id)
  publish({ r = { kind = 'created', room = room, owner = id } })
  return { 'created', publish({ r = { kind = 'joined', room = room, clientId = id } }) }
end
if not owner then return { 'not-found', version() } end
if op == 'join' then
  local outcome, v = 'member', version()
  if redis.call('SADD', members, id) == 1 then
    outcome, v = 'joined', publish({ r = { kind = 'joined', room = room, clientId = id } })
  end
  return { outcome, v, owner, redis.call('SMEMBERS', members) }
end
if op == 'leave' then
  if redis.call('SREM', members, id) == 0 then return { 'not-member', version() } end
  return { 'left', publish({ r = { kind = 'left', room = room, clientId = id } }) }
end
if op == 'delete' then
  if owner ~= id then return { 'not-owner', version(), owner } end
  local had = redis.call('SMEMBERS', members)
  redis.call('DEL', members)
  redis.call('HDEL', P .. 'rooms', room)
  -- cjson writes an empty table as {}: the reader takes a non-list as no members.
  return { 'deleted', publish({ r = { kind = 'deleted', room = room, by = id, members = had } }), owner, had }
end
return redis.error_reply('unknown room op ' .. op)
`);

/**
 * ARGV: P, node. NODE died (its primary saw the worker exit): its connections
 * are released now and announced as crashed, instead of when its lease runs
 * out. Returns how many clients it held.
 */
export const DROP_DEAD_NODE = script(`
return dropNode(ARGV[2], true)
`);
