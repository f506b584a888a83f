import Crypto

/// A Lua script run with `EVALSHA`, falling back to `EVAL` when the server answers `NOSCRIPT`.
struct RedisScript: Sendable {
    /// The Lua source.
    let source: String
    /// The SHA-1 digest of the source, in lowercase hex, as `EVALSHA` names it.
    let sha1: String

    /// A script of `body` after the shared prelude. A `fastPath`, when given, runs first, on its
    /// own: it handles the common case with a few commands and no parsing, and falls through to
    /// the prelude and `body` for everything else (defining the prelude's functions alone costs
    /// about a microsecond of server time per call).
    init(_ body: String, fastPath: String = "") {
        source = fastPath + RedisScript.prelude + body
        sha1 = Insecure.SHA1.hash(data: Array(source.utf8)).map { byte in
            String(UInt16(byte) | 0x100, radix: 16).dropFirst()
        }.joined()
    }
}

/// The storage format, judged on the server.
///
/// A lock is two keys. `<prefix>:lock:<name>` is a hash with the fields `format` (`1`),
/// `type` (`mutex` or `shared`), `max` (the holder limit), `tags` (comma-separated), `leases`
/// (one line per lease: `holder acquiredMs expiresMs token`, `-1` for no expiry), `version`
/// (raised on every write; forced takeovers and conditional breaks compare it) and `fence` (the
/// last token granted; absent in hashes written before it existed). Its TTL is the latest lease
/// expiry plus the idle retention, so the keys of abandoned locks vanish by themselves; a lease
/// without expiry makes it persistent. `<prefix>:fence:<name>` is the fencing counter, kept
/// without TTL (every grant's `SET` clears one an operator may have set).
///
/// A grant's token is the largest of: the counter key + 1, the hash's `fence` + 1, every lease's
/// token + 1, and the server's clock in microseconds. So a lost or rolled-back counter (a restart
/// without persistence, an eviction, an AOF that missed its last second) restarts above every
/// token issued before, as long as the server's clock has not stepped back by more than the time
/// since the last grant: one grant takes far more than a microsecond, so the counter never runs
/// ahead of the clock.
///
/// Every other time is the server's (`TIME` inside the script), in milliseconds since 1970.
extension RedisScript {
    static let prelude = #"""
        local function clock()
          local t = redis.call('TIME')
          local s, us = tonumber(t[1]), tonumber(t[2])
          return s * 1000 + math.floor(us / 1000), s * 1000000 + us
        end
        local function now_ms()
          local ms = clock()
          return ms
        end
        local function int(n) return string.format('%d', n) end
        local function load(key)
          local h = redis.pcall('HMGET', key, 'format', 'type', 'max', 'tags', 'leases', 'version', 'fence')
          if h.err then
            local kind = redis.call('TYPE', key)['ok']
            return nil, 'LOCKHEED_MALFORMED the key holds a ' .. kind .. ', not a lock hash'
          end
          if not h[1] and not h[2] and not h[3] and not h[4] and not h[5] and not h[6] and not h[7] then
            if redis.call('EXISTS', key) == 0 then return nil end
          end
          if h[1] ~= '1' then
            local f = tonumber(h[1])
            if f and f > 1 then return nil, 'LOCKHEED_INCOMPATIBLE lock format ' .. h[1] .. ' is newer than 1' end
            return nil, 'LOCKHEED_MALFORMED missing or unknown format field'
          end
          local st = {kind = h[2], max = tonumber(h[3]), tags = h[4] or '', leases = {}, version = tonumber(h[6]),
            fence = tonumber(h[7] or '0')}
          if (st.kind ~= 'mutex' and st.kind ~= 'shared') or not st.max or st.max < 1 or not st.version
            or not st.fence then
            return nil, 'LOCKHEED_MALFORMED bad type, max, version or fence field'
          end
          for line in string.gmatch(h[5] or '', '[^\n]+') do
            local holder, a, e, t = string.match(line, '^(%S+) (%d+) (%-?%d+) (%d+)$')
            if not holder then return nil, 'LOCKHEED_MALFORMED bad lease line' end
            table.insert(st.leases, {holder = holder, a = tonumber(a), e = tonumber(e), t = t})
            if tonumber(t) > st.fence then st.fence = tonumber(t) end
          end
          return st
        end
        local function counter(fkey, st)
          local c = redis.call('GET', fkey)
          local top = 0
          if c then
            top = tonumber(c)
            if not top or top < 0 or top ~= math.floor(top) then
              return nil, 'LOCKHEED_MALFORMED the fencing counter holds no integer'
            end
          end
          if st and st.fence > top then top = st.fence end
          if top >= 9007199254740991 then return nil, 'LOCKHEED_MALFORMED the fencing counter is beyond 2^53' end
          return top
        end
        local function active(st, now)
          local out = {}
          for _, l in ipairs(st.leases) do
            if l.e < 0 or l.e > now then table.insert(out, l) end
          end
          return out
        end
        local function lease_text(leases)
          local lines = {}
          for _, l in ipairs(leases) do
            table.insert(lines, l.holder .. ' ' .. int(l.a) .. ' ' .. int(l.e) .. ' ' .. l.t)
          end
          return table.concat(lines, '\n')
        end
        local function save(key, st, now, retention)
          local maxe, forever = 0, false
          for _, l in ipairs(st.leases) do
            if l.e < 0 then forever = true elseif l.e > maxe then maxe = l.e end
          end
          st.version = st.version + 1
          redis.call('HSET', key, 'format', '1', 'type', st.kind, 'max', int(st.max), 'tags', st.tags,
            'leases', lease_text(st.leases), 'version', int(st.version), 'fence', int(st.fence))
          if forever then
            redis.call('PERSIST', key)
          else
            local ttl = retention
            if maxe > now then ttl = ttl + (maxe - now) end
            redis.call('PEXPIRE', key, int(ttl))
          end
        end
        local function dump(status, st, now, top)
          return {status, int(now), st.kind, int(st.max), st.tags, lease_text(active(st, now)), int(st.version),
            int(top)}
        end

        """#

    /// KEYS: lock, fence. ARGV: holder, kind, max, durationMs (-1: none), tags (comma-separated),
    /// resetTags (0/1), retentionMs, expectedVersion (-1: plain acquire; else a forced takeover
    /// valid only if the version is unchanged), channel, name.
    /// Replies `{ok, now, acquiredMs, expiresMs, token}`, `{held|mismatch, state…}` or `{stale}`.
    ///
    /// Fast path: a plain acquire of a well-formed lock with no lease at all (released before)
    /// and no tags to merge, with a well-formed counter: the same grant as the general path.
    static let acquire = RedisScript(
        #"""
        local st, err = load(KEYS[1])
        if err then return redis.error_reply(err) end
        local top, cerr = counter(KEYS[2], st)
        if cerr then return redis.error_reply(cerr) end
        local now, us = clock()
        local holder, kind, max = ARGV[1], ARGV[2], tonumber(ARGV[3])
        local dur, expected = tonumber(ARGV[4]), tonumber(ARGV[8])
        if not st then st = {kind = kind, max = max, tags = '', leases = {}, version = 0, fence = 0} end
        st.leases = active(st, now)
        local exp = -1
        if dur >= 0 then exp = now + dur end
        if expected >= 0 then
          if st.version ~= expected then return {'stale'} end
          st.leases = {}
          redis.call('PUBLISH', ARGV[9], ARGV[10])
        end
        local mine = nil
        for _, l in ipairs(st.leases) do if l.holder == holder then mine = l end end
        if mine then
          mine.e = exp
          if #st.leases == 1 then st.kind, st.max = kind, max end
        else
          if #st.leases > 0 then
            local conflict = 'held'
            if st.kind == 'shared' and kind == 'shared' then
              if st.max ~= max then conflict = 'mismatch' elseif #st.leases < st.max then conflict = nil end
            end
            if conflict then return dump(conflict, st, now, top) end
          end
          if #st.leases == 0 then st.kind, st.max = kind, max end
          local token = top + 1
          if us > token then token = us end
          redis.call('SET', KEYS[2], int(token))
          st.fence = token
          mine = {holder = holder, a = now, e = exp, t = int(token)}
          table.insert(st.leases, mine)
        end
        if ARGV[6] == '1' then
          st.tags = ARGV[5]
        elseif ARGV[5] ~= '' then
          local tags = {}
          if st.tags ~= '' then tags = {st.tags} end
          for tag in string.gmatch(ARGV[5], '[^,]+') do
            if not string.find(',' .. st.tags .. ',', ',' .. tag .. ',', 1, true) then table.insert(tags, tag) end
          end
          st.tags = table.concat(tags, ',')
        end
        save(KEYS[1], st, now, tonumber(ARGV[7]))
        return {'ok', int(now), int(mine.a), int(mine.e), mine.t}
        """#,
        fastPath: #"""
            if ARGV[8] == '-1' and (ARGV[5] == '' or ARGV[6] == '1') then
              local h = redis.pcall('HMGET', KEYS[1], 'format', 'type', 'max', 'leases', 'version', 'fence')
              local max, version, fence, c
              if not h.err and h[1] == '1' and h[4] == '' and (h[2] == 'mutex' or h[2] == 'shared') then
                max, version, fence = tonumber(h[3]), tonumber(h[5]), tonumber(h[6])
              end
              if max and max >= 1 and version and fence then c = redis.call('GET', KEYS[2]) or '0' end
              local top = c and tonumber(c)
              if top and top >= 0 and top == math.floor(top) then
                if fence > top then top = fence end
                if top < 9007199254740991 then
                  local t = redis.call('TIME')
                  local sec, usec = tonumber(t[1]), tonumber(t[2])
                  local now, token = sec * 1000 + math.floor(usec / 1000), sec * 1000000 + usec
                  if top + 1 > token then token = top + 1 end
                  local dur, exp = tonumber(ARGV[4]), -1
                  if dur >= 0 then exp = now + dur end
                  local tk, nowText, expText = string.format('%d', token), string.format('%d', now), string.format('%d', exp)
                  redis.call('SET', KEYS[2], tk)
                  local lease = ARGV[1] .. ' ' .. nowText .. ' ' .. expText .. ' ' .. tk
                  local v = string.format('%d', version + 1)
                  if ARGV[6] == '1' then
                    redis.call('HSET', KEYS[1], 'type', ARGV[2], 'max', ARGV[3], 'tags', ARGV[5], 'leases', lease,
                      'version', v, 'fence', tk)
                  else
                    redis.call('HSET', KEYS[1], 'type', ARGV[2], 'max', ARGV[3], 'leases', lease, 'version', v, 'fence', tk)
                  end
                  if exp < 0 then
                    redis.call('PERSIST', KEYS[1])
                  else
                    redis.call('PEXPIRE', KEYS[1], string.format('%d', tonumber(ARGV[7]) + dur))
                  end
                  return {'ok', nowText, nowText, expText, tk}
                end
              end
            end

            """#)

    /// KEYS: lock. ARGV: holder, durationMs (-1: none), retentionMs.
    /// Replies `{ok, now, acquiredMs, expiresMs, token}` or `{lost}`.
    static let renew = RedisScript(
        #"""
        local st, err = load(KEYS[1])
        if err then return redis.error_reply(err) end
        if not st then return {'lost'} end
        local now = now_ms()
        local dur = tonumber(ARGV[2])
        for _, l in ipairs(st.leases) do
          if l.holder == ARGV[1] and (l.e < 0 or l.e > now) then
            if dur >= 0 then l.e = now + dur else l.e = -1 end
            save(KEYS[1], st, now, tonumber(ARGV[3]))
            return {'ok', int(now), int(l.a), int(l.e), l.t}
          end
        end
        return {'lost'}
        """#)

    /// KEYS: lock. ARGV: holder, retentionMs, channel, name. Replies 1 when a lease was removed.
    ///
    /// Fast path: a well-formed lock whose one lease is the holder's: the same write as the
    /// general path (no lease left, so the key keeps the idle retention).
    static let release = RedisScript(
        #"""
        local st, err = load(KEYS[1])
        if err then return redis.error_reply(err) end
        if not st then return 0 end
        for i, l in ipairs(st.leases) do
          if l.holder == ARGV[1] then
            table.remove(st.leases, i)
            save(KEYS[1], st, now_ms(), tonumber(ARGV[2]))
            redis.call('PUBLISH', ARGV[3], ARGV[4])
            return 1
          end
        end
        return 0
        """#,
        fastPath: #"""
            do
              local h = redis.pcall('HMGET', KEYS[1], 'format', 'type', 'max', 'leases', 'version', 'fence')
              local max, version, fence, holder, token
              if not h.err and h[1] == '1' and h[4] and (h[2] == 'mutex' or h[2] == 'shared') then
                max, version, fence = tonumber(h[3]), tonumber(h[5]), tonumber(h[6])
                holder, token = string.match(h[4], '^(%S+) %d+ %-?%d+ (%d+)$')
              end
              if holder == ARGV[1] and max and max >= 1 and version and fence then
                local v = string.format('%d', version + 1)
                if tonumber(token) > fence then
                  redis.call('HSET', KEYS[1], 'leases', '', 'version', v, 'fence', token)
                else
                  redis.call('HSET', KEYS[1], 'leases', '', 'version', v)
                end
                redis.call('PEXPIRE', KEYS[1], ARGV[2])
                redis.call('PUBLISH', ARGV[3], ARGV[4])
                return 1
              end
            end

            """#)

    /// KEYS: lock. ARGV: expectedVersion (-1: unconditional), retentionMs, channel, name.
    /// Replies `{ok, now, removedLeases}` or `{stale}`.
    static let breakLock = RedisScript(
        #"""
        local st, err = load(KEYS[1])
        if err then return redis.error_reply(err) end
        local now = now_ms()
        if not st then return {'ok', int(now), ''} end
        local expected = tonumber(ARGV[1])
        if expected >= 0 and st.version ~= expected then return {'stale'} end
        local removed = active(st, now)
        st.leases = {}
        save(KEYS[1], st, now, tonumber(ARGV[2]))
        redis.call('PUBLISH', ARGV[3], ARGV[4])
        return {'ok', int(now), lease_text(removed)}
        """#)

    /// KEYS: lock and fence pairs. Replies `{now, entry…}`, one entry per pair: `{none}`,
    /// `{malformed|incompatible, detail}` or `{ok, now, kind, max, tags, leases, version, counter}`.
    static let read = RedisScript(
        #"""
        local now = now_ms()
        local out = {int(now)}
        for i = 1, #KEYS, 2 do
          local st, err = load(KEYS[i])
          if err then
            if string.sub(err, 1, 21) == 'LOCKHEED_INCOMPATIBLE' then
              table.insert(out, {'incompatible', err})
            else
              table.insert(out, {'malformed', err})
            end
          elseif not st then
            table.insert(out, {'none'})
          else
            local top, cerr = counter(KEYS[i + 1], st)
            if cerr then
              table.insert(out, {'malformed', cerr})
            else
              table.insert(out, dump('ok', st, now, top))
            end
          end
        end
        return out
        """#)

    /// KEYS: lock. Makes every lease expire now (a test hook). Replies 1 when the lock existed.
    static let expireLeases = RedisScript(
        #"""
        local st, err = load(KEYS[1])
        if err then return redis.error_reply(err) end
        if not st then return 0 end
        local now = now_ms()
        for _, l in ipairs(st.leases) do l.e = now - 1 end
        save(KEYS[1], st, now, tonumber(ARGV[1]))
        return 1
        """#)
}
