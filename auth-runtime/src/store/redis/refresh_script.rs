//! [`Store::rotate_refresh`](crate::store::Store::rotate_refresh) on Redis: one Lua script, so
//! a refresh is two round trips (the `MGET` of the token's records, then this), and the claim,
//! the new record, the marker and the deletion happen together or not at all.

use crate::store::contract::StoreError;
use crate::store::refresh_rotation::{RefreshRotation, RotationOutcome};

use super::{RedisStore, milliseconds};

/// `KEYS`: fresh, claim, marker, retire, revoked, then the subject's record if `ARGV[1]` is 1,
/// then the counters. `ARGV`: subject records (0 or 1), the family's start, the fresh, claim
/// and marker values and times to live (ms), then each counter's time to live (ms) and max.
///
/// Answers 0 rotated, 1 revoked, 2 taken, 3 + n counter n limited, -1 - n counter n holds
/// something else. Numbers compare as Lua's doubles: exact for Unix seconds and counts below
/// 2^53; a longer subject record reads as a huge second, so it revokes (as in Rust).
const ROTATE: &str = r"
local subjects = tonumber(ARGV[1])
local first = 6 + subjects
local counts = {}
for i = first, #KEYS do
  local n = i - first
  local value = redis.call('GET', KEYS[i])
  if value and not string.match(value, '^%d+$') then return -1 - n end
  local count = redis.call('INCR', KEYS[i])
  if count == 1 then redis.call('PEXPIRE', KEYS[i], ARGV[9 + 2 * n]) end
  counts[n + 1] = count
end
if redis.call('EXISTS', KEYS[5]) == 1 then return 1 end
if subjects == 1 then
  local at = redis.call('GET', KEYS[6])
  if at and (not string.match(at, '^%d+$') or tonumber(ARGV[2]) <= tonumber(at)) then return 1 end
end
for n, count in ipairs(counts) do
  if count > tonumber(ARGV[10 + 2 * (n - 1)]) then return 3 + n - 1 end
end
if not redis.call('SET', KEYS[2], ARGV[5], 'NX', 'PX', ARGV[6]) then return 2 end
redis.call('SET', KEYS[1], ARGV[3], 'PX', ARGV[4])
redis.call('SET', KEYS[3], ARGV[7], 'PX', ARGV[8])
redis.call('DEL', KEYS[4])
return 0
";

impl RedisStore {
    /// Runs `rotation` as the one script.
    pub(super) async fn rotate_in_script(&self, rotation: RefreshRotation<'_>) -> Result<RotationOutcome, StoreError> {
        let mut command = redis::cmd("EVAL");
        let subject = rotation.subject_revoked;
        command
            .arg(ROTATE)
            .arg(5 + usize::from(subject.is_some()) + rotation.counters.len());
        for key in [
            rotation.fresh.key,
            rotation.claim.key,
            rotation.marker.key,
            rotation.retire,
            rotation.revoked,
        ] {
            command.arg(self.redis_key(key));
        }
        if let Some((key, _)) = subject {
            command.arg(self.redis_key(key));
        }
        for counter in &rotation.counters {
            command.arg(self.redis_key(counter.key));
        }
        command
            .arg(usize::from(subject.is_some()))
            .arg(subject.map_or(0, |(_, started_at)| started_at));
        for record in [&rotation.fresh, &rotation.claim, &rotation.marker] {
            command.arg(record.value.as_slice()).arg(milliseconds(record.ttl));
        }
        for counter in &rotation.counters {
            command.arg(milliseconds(counter.ttl)).arg(counter.max);
        }
        // EVAL, not EVALSHA: Redis caches the compiled script either way, and no `NOSCRIPT`
        // answer after a restart can cost a second round trip.
        let answer: i64 = self.query(&command).await?;
        // The index of a counter the script names, when it is one of ours.
        let counter_at = |index: i64| {
            usize::try_from(index)
                .ok()
                .filter(|&index| index < rotation.counters.len())
        };
        let unexpected = || StoreError::Unavailable(format!("the refresh rotation script answered {answer}").into());
        match answer {
            0 => Ok(RotationOutcome::Rotated),
            1 => Ok(RotationOutcome::Revoked),
            2 => Ok(RotationOutcome::Taken),
            limited @ 3.. => counter_at(limited - 3)
                .map(RotationOutcome::Limited)
                .ok_or_else(unexpected),
            refused => match counter_at(-1 - refused).and_then(|index| rotation.counters.get(index)) {
                Some(counter) => Err(StoreError::NotACounter {
                    key: counter.key.to_owned(),
                }),
                None => Err(unexpected()),
            },
        }
    }
}
