//! The marketplace's time formats, all read into `DateTime<Utc>`.
//!
//! | Where | Format | Zone |
//! |---|---|---|
//! | scheme-A bodies, order query | `yyyyMMddHHmmss` or `yyyyMMddHHmmssSSS` (tables and examples disagree, so both are read everywhere) | UTC |
//! | usage push, APIG `X-Sdk-Date` | `yyyyMMdd'T'HHmmss'Z'` | UTC |
//! | getLicenseAsync `effectiveTime` | `2023-10-27 10:30:15 z` as printed (read leniently) | UTC |
//! | kit `timeStamp`, `currentSyncTime` | `yyyyMMddHHmmssSSS` | UTC+8 |
//! | signature `timestamp` | epoch milliseconds | — |
//!
//! Nothing here reads the clock: callers pass `now`, so tests control time.

mod newtypes;

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, Offset, TimeZone, Utc};

pub use newtypes::{KitTime, MarketTime, MarketTimeMillis, UsageTime};

/// Text that is not a time in the expected format.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{input}` is not a time in the format {expected}")]
pub struct TimeError {
    /// The rejected text.
    pub input: String,
    /// The format that was expected.
    pub expected: &'static str,
}

const COMPACT: &str = "yyyyMMddHHmmss[SSS]";
const BASIC: &str = "yyyyMMdd'T'HHmmss'Z'";
const LICENSE: &str = "yyyy-MM-dd HH:mm:ss [zone]";
const EPOCH_MS: &str = "epoch milliseconds";

fn number(digits: &str) -> Option<u32> {
    digits.parse().ok()
}

/// Builds a naive time from `yyyyMMddHHmmss` digits plus milliseconds, validating every part.
fn naive_from_digits(d: &str, millis: u32) -> Option<NaiveDateTime> {
    if d.len() != 14 || !d.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let date =
        NaiveDate::from_ymd_opt(d[0..4].parse().ok()?, number(&d[4..6])?, number(&d[6..8])?)?;
    let (h, m, s) = (number(&d[8..10])?, number(&d[10..12])?, number(&d[12..14])?);
    // chrono accepts second 60 with millis ≥ 1000 for leap seconds; the marketplace never sends them.
    if s > 59 {
        return None;
    }
    date.and_hms_milli_opt(h, m, s, millis)
}

fn compact_naive(text: &str) -> Option<NaiveDateTime> {
    match text.len() {
        14 => naive_from_digits(text, 0),
        17 if text[14..].bytes().all(|b| b.is_ascii_digit()) => {
            naive_from_digits(&text[..14], number(&text[14..])?)
        }
        _ => None,
    }
}

/// Parses `yyyyMMddHHmmss` or `yyyyMMddHHmmssSSS` as UTC.
pub fn parse_compact(text: &str) -> Result<DateTime<Utc>, TimeError> {
    let text = text.trim();
    compact_naive(text)
        .map(|n| n.and_utc())
        .ok_or_else(|| TimeError {
            input: text.to_owned(),
            expected: COMPACT,
        })
}

/// `yyyyMMddHHmmss` in UTC (sub-second part dropped).
pub fn format_compact(at: DateTime<Utc>) -> String {
    at.format("%Y%m%d%H%M%S").to_string()
}

/// `yyyyMMddHHmmssSSS` in UTC.
pub fn format_compact_millis(at: DateTime<Utc>) -> String {
    at.format("%Y%m%d%H%M%S%3f").to_string()
}

/// Parses `yyyyMMdd'T'HHmmss'Z'` (usage push times, APIG `X-Sdk-Date`).
pub fn parse_basic(text: &str) -> Result<DateTime<Utc>, TimeError> {
    let text = text.trim();
    let err = || TimeError {
        input: text.to_owned(),
        expected: BASIC,
    };
    let inner = text.strip_suffix('Z').ok_or_else(err)?;
    let (date, time) = inner.split_once('T').ok_or_else(err)?;
    if date.len() != 8 || time.len() != 6 {
        return Err(err());
    }
    naive_from_digits(&format!("{date}{time}"), 0)
        .map(|n| n.and_utc())
        .ok_or_else(err)
}

/// `yyyyMMdd'T'HHmmss'Z'` in UTC.
pub fn format_basic(at: DateTime<Utc>) -> String {
    at.format("%Y%m%dT%H%M%SZ").to_string()
}

/// Parses an APIG `X-Sdk-Date` header (same shape as usage times).
pub fn parse_sdk_date(text: &str) -> Result<DateTime<Utc>, TimeError> {
    parse_basic(text)
}

/// Formats an APIG `X-Sdk-Date` header.
pub fn format_sdk_date(at: DateTime<Utc>) -> String {
    format_basic(at)
}

/// China Standard Time, the zone of kit timestamps and of Java's `CST` in the marketplace's JVMs.
pub fn china_offset() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).unwrap_or_else(|| Utc.fix())
}

fn zone_offset(zone: &str) -> Option<FixedOffset> {
    let hours_minutes = |sign: i32, digits: &str| -> Option<FixedOffset> {
        let digits: String = digits.chars().filter(|c| *c != ':').collect();
        let (h, m) = match digits.len() {
            2 => (number(&digits)?, 0),
            4 => (number(&digits[..2])?, number(&digits[2..])?),
            _ => return None,
        };
        FixedOffset::east_opt(sign * (h as i32 * 3600 + m as i32 * 60))
    };
    match zone {
        "" | "z" | "Z" | "UTC" | "GMT" | "UT" => Some(Utc.fix()),
        // Java's SimpleDateFormat prints `CST` for Asia/Shanghai.
        "CST" => Some(china_offset()),
        _ => {
            let zone = zone
                .strip_prefix("UTC")
                .or_else(|| zone.strip_prefix("GMT"))
                .unwrap_or(zone);
            match zone.as_bytes().first()? {
                b'+' => hours_minutes(1, &zone[1..]),
                b'-' => hours_minutes(-1, &zone[1..]),
                _ => None,
            }
        }
    }
}

/// Parses getLicenseAsync times. The only example is `2023-10-27 10:30:15 z`, so this accepts
/// `yyyy-MM-dd[ T]HH:mm:ss[.SSS]` followed by an optional zone (`z`, `Z`, `UTC`, `GMT`, `CST`,
/// `+08:00`, `+0800`; none means UTC), and also the compact 14/17-digit form.
pub fn parse_license_time(text: &str) -> Result<DateTime<Utc>, TimeError> {
    let text = text.trim();
    let err = || TimeError {
        input: text.to_owned(),
        expected: LICENSE,
    };
    if let Ok(at) = parse_compact(text) {
        return Ok(at);
    }
    let head = text.get(..19).ok_or_else(err)?.replacen('T', " ", 1);
    let naive = NaiveDateTime::parse_from_str(&head, "%Y-%m-%d %H:%M:%S").map_err(|_| err())?;
    let mut rest = &text[19..];
    let mut millis = 0;
    if let Some(frac) = rest.strip_prefix('.') {
        let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
        let padded = format!("{:0<3}", &frac[..digits.min(3)]);
        millis = number(&padded).ok_or_else(err)?;
        rest = &frac[digits..];
    }
    let offset = zone_offset(rest.trim()).ok_or_else(err)?;
    let naive = naive + chrono::Duration::milliseconds(i64::from(millis));
    offset
        .from_local_datetime(&naive)
        .single()
        .map(|t| t.with_timezone(&Utc))
        .ok_or_else(err)
}

/// Formats a getLicenseAsync time exactly as the doc example prints it: `2023-10-27 10:30:15 z`.
pub fn format_license_time(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M:%S z").to_string()
}

/// Parses a kit `timeStamp` / `currentSyncTime` (`yyyyMMddHHmmss[SSS]` in UTC+8).
pub fn parse_kit_timestamp(text: &str) -> Result<DateTime<Utc>, TimeError> {
    let text = text.trim();
    let naive = compact_naive(text).ok_or_else(|| TimeError {
        input: text.to_owned(),
        expected: "yyyyMMddHHmmss[SSS] (UTC+8)",
    })?;
    Ok((naive - chrono::Duration::hours(8)).and_utc())
}

/// Formats a kit `timeStamp`: `yyyyMMddHHmmssSSS` in UTC+8.
pub fn format_kit_timestamp(at: DateTime<Utc>) -> String {
    at.with_timezone(&china_offset())
        .format("%Y%m%d%H%M%S%3f")
        .to_string()
}

/// Epoch milliseconds → time; `None` when out of chrono's range.
pub fn from_epoch_millis(ms: i64) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp_millis(ms)
}

/// Time → epoch milliseconds.
pub fn to_epoch_millis(at: DateTime<Utc>) -> i64 {
    at.timestamp_millis()
}

/// Parses a decimal epoch-milliseconds string (signature `timestamp`, kit `x-timestamp`, usage `ts`).
pub fn parse_epoch_millis(text: &str) -> Result<DateTime<Utc>, TimeError> {
    let text = text.trim();
    text.parse::<i64>()
        .ok()
        .and_then(from_epoch_millis)
        .ok_or_else(|| TimeError {
            input: text.to_owned(),
            expected: EPOCH_MS,
        })
}

#[cfg(test)]
mod tests;
