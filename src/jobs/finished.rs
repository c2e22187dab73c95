//! Where the admins' overview reads the last day's finished jobs from, pure. A maintenance pass
//! folds finished jobs into per-minute counts (`finished_minutes`) a few minutes after they
//! finish ([`ROLLUP_LAG`]); the overview takes whole minutes from there, and reads the
//! completion index only for what the minutes cannot answer exactly: the part-minute at the
//! day's start, the minute the hour's window starts in, and the minutes not folded yet. So its
//! cost is about a day of minutes, not a day of jobs.

use super::model::{JobStatus, JobType};
use super::stats::FinishedCount;
use chrono::{DateTime, Duration, DurationRound, Utc};
use std::collections::BTreeMap;

/// How long after a minute ends it is folded: a job's `completed_at` is written by its worker's
/// clock, and its transaction may commit a little later (batched completions, clock skew
/// between nodes). A job committed later than this after its `completed_at` is not counted.
pub const ROLLUP_LAG: Duration = Duration::minutes(5);
/// Minutes older than this before the fold's end are of no window's use: never folded (a first
/// pass folds the last day at most), and deleted.
pub const ROLLUP_KEEP: Duration = Duration::days(1);

/// A fold reaching less far than this before now is caught up by the overview's own read (a
/// node with no workers runs no pass); usually the pass keeps it within a minute of the lag.
pub const ROLLUP_STALE: Duration = Duration::minutes(10);

const MINUTE: Duration = Duration::minutes(1);

/// What a fold at `now` covers: up to `until` (the lag ago), from no earlier than `oldest`.
pub fn fold_bounds(now: DateTime<Utc>) -> (DateTime<Utc>, DateTime<Utc>) {
    let until = floor_minute(now - ROLLUP_LAG);
    (until, until - ROLLUP_KEEP)
}

/// Finished jobs of one type and status in one minute (`minute` to `minute + 1 min`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MinuteCount {
    pub minute: DateTime<Utc>,
    pub job_type: JobType,
    pub status: JobStatus,
    pub count: i64,
}

/// A range of completion times, `[start, end)`; no end: up to now.
pub type TimeRange = (DateTime<Utc>, Option<DateTime<Utc>>);

/// What to read for the windows `[day, now)` and `[hour, now)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reads {
    /// Folded minutes to use, `[from, to)`.
    pub minutes: Option<(DateTime<Utc>, DateTime<Utc>)>,
    /// A minute in that range the hour's window starts inside: read from the index instead.
    pub split_minute: Option<DateTime<Utc>>,
    /// The completion index's ranges to read, sorted and disjoint.
    pub index: Vec<TimeRange>,
}

pub fn floor_minute(t: DateTime<Utc>) -> DateTime<Utc> {
    t.duration_trunc(MINUTE).unwrap_or(t)
}

fn ceil_minute(t: DateTime<Utc>) -> DateTime<Utc> {
    let floor = floor_minute(t);
    if floor == t { t } else { floor + MINUTE }
}

/// What to read, with the minutes folded up to `done` (exclusive; `None`: none yet).
pub fn plan(day: DateTime<Utc>, hour: DateTime<Utc>, done: Option<DateTime<Utc>>) -> Reads {
    let from = ceil_minute(day);
    let Some(to) = done.filter(|done| *done > from) else {
        return Reads { minutes: None, split_minute: None, index: vec![(day, None)] };
    };
    let mut index = Vec::new();
    if day < from {
        index.push((day, Some(from)));
    }
    let split = floor_minute(hour);
    let split_minute = (split != hour && split >= from && split < to).then_some(split);
    if let Some(minute) = split_minute {
        index.push((minute, Some(minute + MINUTE)));
    }
    index.push((to, None));
    Reads { minutes: Some((from, to)), split_minute, index }
}

/// The windows' counts from the folded minutes read for `reads` and the index's counts over
/// `reads.index` (each already split at `hour`), by type then status.
pub fn combine(
    reads: &Reads,
    hour: DateTime<Utc>,
    minutes: &[MinuteCount],
    index: &[FinishedCount],
) -> Vec<FinishedCount> {
    let mut totals: BTreeMap<(&'static str, &'static str), FinishedCount> = BTreeMap::new();
    let mut add = |job_type: JobType, status: JobStatus, day: i64, last_hour: i64| {
        let entry = totals.entry((job_type.as_str(), status.as_str())).or_insert(FinishedCount {
            job_type,
            status,
            last_day: 0,
            last_hour: 0,
        });
        entry.last_day += day;
        entry.last_hour += last_hour;
    };
    let Some((from, to)) = reads.minutes else {
        return index.to_vec();
    };
    for m in minutes.iter().filter(|m| m.minute >= from && m.minute < to && Some(m.minute) != reads.split_minute) {
        add(m.job_type, m.status, m.count, if m.minute >= hour { m.count } else { 0 });
    }
    for c in index {
        add(c.job_type, c.status, c.last_day, c.last_hour);
    }
    totals.into_values().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(h: u32, m: u32, s: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 3, h, m, s).unwrap()
    }

    #[test]
    fn without_folded_minutes_the_index_answers_all() {
        let reads = plan(at(0, 0, 30), at(23, 0, 30), None);
        assert_eq!(reads, Reads { minutes: None, split_minute: None, index: vec![(at(0, 0, 30), None)] });
        // Folded, but only before the day's window: no use.
        assert_eq!(plan(at(10, 0, 30), at(23, 0, 30), Some(at(10, 1, 0))).minutes, None);
    }

    #[test]
    fn the_index_reads_only_the_edges_and_the_tail() {
        let reads = plan(at(0, 0, 30), at(23, 0, 30), Some(at(23, 55, 0)));
        assert_eq!(reads.minutes, Some((at(0, 1, 0), at(23, 55, 0))));
        assert_eq!(reads.split_minute, Some(at(23, 0, 0)));
        assert_eq!(
            reads.index,
            vec![(at(0, 0, 30), Some(at(0, 1, 0))), (at(23, 0, 0), Some(at(23, 1, 0))), (at(23, 55, 0), None)]
        );
        // Windows on whole minutes need no edges.
        let reads = plan(at(0, 0, 0), at(23, 0, 0), Some(at(23, 55, 0)));
        assert_eq!((reads.split_minute, reads.index), (None, vec![(at(23, 55, 0), None)]));
    }

    #[test]
    fn minutes_and_index_add_up_without_counting_twice() {
        let (day, hour) = (at(0, 0, 30), at(23, 0, 30));
        let reads = plan(day, hour, Some(at(23, 55, 0)));
        let minute =
            |minute, count| MinuteCount { minute, job_type: JobType::Import, status: JobStatus::Completed, count };
        // Before the window, the split minute (the index has it), in the day only, in both.
        let minutes =
            [minute(at(0, 0, 0), 100), minute(at(23, 0, 0), 100), minute(at(12, 0, 0), 3), minute(at(23, 30, 0), 4)];
        let index =
            [FinishedCount { job_type: JobType::Import, status: JobStatus::Completed, last_day: 5, last_hour: 2 }];
        let counts = combine(&reads, hour, &minutes, &index);
        assert_eq!(
            counts,
            [FinishedCount { job_type: JobType::Import, status: JobStatus::Completed, last_day: 12, last_hour: 6 }]
        );
    }
}
