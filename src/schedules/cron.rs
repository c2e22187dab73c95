//! Cron patterns in a time zone: parsing and the next tick. Pure.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use croner::Cron;
use croner::parser::CronParser;

#[derive(Debug, Clone)]
pub struct CronSpec {
    cron: Cron,
    tz: Tz,
}

impl CronSpec {
    /// `pattern`: 5 fields (minute granularity) or 6 with seconds first; `@hourly` etc.
    /// `timezone`: an IANA name such as `Europe/Paris`.
    pub fn parse(pattern: &str, timezone: &str) -> Result<Self, String> {
        let cron = CronParser::new().parse(pattern).map_err(|e| format!("cron '{pattern}': {e}"))?;
        let tz = timezone
            .parse::<Tz>()
            .map_err(|_| format!("unknown time zone '{timezone}' (expected an IANA name like Europe/Paris)"))?;
        Ok(Self { cron, tz })
    }

    /// The first tick strictly after `after`.
    pub fn next_after(&self, after: DateTime<Utc>) -> Result<DateTime<Utc>, String> {
        self.cron
            .find_next_occurrence(&after.with_timezone(&self.tz), false)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|e| format!("no next tick: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn five_fields_tick_by_the_minute() {
        let spec = CronSpec::parse("*/15 * * * *", "UTC").unwrap();
        assert_eq!(spec.next_after(at("2026-11-30T10:07:30Z")).unwrap(), at("2026-11-30T10:15:00Z"));
        assert_eq!(spec.next_after(at("2026-11-30T10:15:00Z")).unwrap(), at("2026-11-30T10:30:00Z"), "strictly after");
    }

    #[test]
    fn six_fields_have_seconds() {
        let spec = CronSpec::parse("*/10 * * * * *", "UTC").unwrap();
        assert_eq!(spec.next_after(at("2026-11-30T10:00:01Z")).unwrap(), at("2026-11-30T10:00:10Z"));
    }

    #[test]
    fn patterns_are_read_in_their_time_zone() {
        // 09:00 in Paris is 08:00 UTC in winter.
        let spec = CronSpec::parse("0 9 * * *", "Europe/Paris").unwrap();
        assert_eq!(spec.next_after(at("2026-11-30T00:00:00Z")).unwrap(), at("2026-11-30T08:00:00Z"));
    }

    #[test]
    fn bad_patterns_and_zones_are_refused_with_a_reason() {
        assert!(CronSpec::parse("61 * * * *", "UTC").unwrap_err().contains("cron '61 * * * *'"));
        assert!(CronSpec::parse("every minute", "UTC").is_err());
        assert!(CronSpec::parse("* * * * *", "Mars/Olympus").unwrap_err().contains("unknown time zone"));
    }
}
