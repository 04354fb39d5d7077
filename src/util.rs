//! Small helpers shared across modules.

use std::time::{SystemTime, UNIX_EPOCH};

use rand::TryRngCore;
use sha2::{Digest, Sha256};

/// SHA-256 of some bytes, lower-case hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Text made safe inside HTML or XML elements and quoted attribute values.
pub fn markup_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// `localhost`, or a loopback address (`[::1]` as URLs write it).
pub fn is_loopback_host(host: &str) -> bool {
    host == "localhost"
        || host
            .trim_matches(['[', ']'])
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Compare secrets without an early exit that leaks how much matched.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// `bytes` random bytes from the OS, hex-encoded, or an error: for secrets,
/// where a predictable fallback would be worse than failing.
pub fn secret_hex(bytes: usize) -> Result<String, String> {
    let mut buf = vec![0u8; bytes];
    rand::rngs::OsRng
        .try_fill_bytes(&mut buf)
        .map_err(|e| format!("the operating system gave no randomness: {e}"))?;
    Ok(hex::encode(buf))
}

/// `bytes` random bytes from the OS, hex-encoded.
pub fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    if rand::rngs::OsRng.try_fill_bytes(&mut buf).is_err() {
        // No OS randomness: ids stay unique (time, pid, counter) though
        // not unpredictable. Never used for long-lived secrets.
        static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let t = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let digest = Sha256::digest(format!("{t}/{}/{n}", std::process::id()));
        buf.iter_mut()
            .zip(digest.iter().cycle())
            .for_each(|(b, d)| *b = *d);
    }
    hex::encode(buf)
}

/// The request time as policies see it (UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UtcTime {
    pub epoch: i64,
    pub hour: i64,
    /// 0 = Sunday.
    pub weekday: i64,
    pub year: i64,
    pub month: i64,
    pub day: i64,
}

impl UtcTime {
    pub fn now() -> UtcTime {
        let epoch = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        UtcTime::from_epoch(epoch)
    }

    pub fn from_epoch(epoch: i64) -> UtcTime {
        let days = epoch.div_euclid(86_400);
        let secs = epoch.rem_euclid(86_400);
        // Civil-from-days (Howard Hinnant's algorithm).
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = doy - (153 * mp + 2) / 5 + 1;
        let month = if mp < 10 { mp + 3 } else { mp - 9 };
        let year = yoe + era * 400 + i64::from(month <= 2);
        UtcTime {
            epoch,
            hour: secs / 3600,
            weekday: (days + 4).rem_euclid(7),
            year,
            month,
            day,
        }
    }

    pub fn date(&self) -> String {
        format!("{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }

    /// `20261124T101010Z`, as request signatures stamp time.
    pub fn compact(&self) -> String {
        let secs = self.epoch.rem_euclid(86_400);
        format!(
            "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
            self.year,
            self.month,
            self.day,
            secs / 3600,
            secs % 3600 / 60,
            secs % 60
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates_and_weekdays() {
        let t = UtcTime::from_epoch(0);
        assert_eq!((t.date().as_str(), t.weekday, t.hour), ("1970-01-01", 4, 0));
        // 2026-11-24 13:05:00 UTC is a Tuesday.
        let t = UtcTime::from_epoch(1_795_525_500);
        assert_eq!(
            (t.date().as_str(), t.weekday, t.hour),
            ("2026-11-24", 2, 13)
        );
        let t = UtcTime::from_epoch(951_782_400); // 2000-02-29
        assert_eq!(t.date(), "2000-02-29");
        assert_eq!(
            UtcTime::from_epoch(1_795_525_509).compact(),
            "20261124T130509Z"
        );
    }

    #[test]
    fn secret_comparison() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }
}
