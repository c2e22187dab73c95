//! Job history: which of a user's jobs a page shows (the filter), and where the next page
//! starts (an opaque keyset cursor that stays put while new jobs arrive). Pure, so every rule
//! is unit-tested; the store runs the query.

use super::model::{JobStatus, JobType};
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// Most jobs in one page, and the default.
pub const MAX_PAGE: u32 = 200;
pub const DEFAULT_PAGE: u32 = 50;
/// Longest search text.
pub const MAX_QUERY_CHARS: usize = 200;

/// Whose jobs a history shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owner {
    One(Uuid),
    /// Every user's (admins): jobs without an owner are in nobody's history.
    Everyone,
}

/// What a history page holds, newest first (`created_at`, then `id`, descending).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryFilter {
    pub owner: Owner,
    /// Any of these (all when empty).
    pub statuses: Vec<JobStatus>,
    pub types: Vec<JobType>,
    /// Created at or after.
    pub created_from: Option<DateTime<Utc>>,
    /// Created before.
    pub created_to: Option<DateTime<Utc>>,
    /// Matches a job id prefix, the file name (`metadata.filename`) or the error text, ignoring
    /// case.
    pub search: Option<String>,
    /// Only jobs after this one in the order (the previous page's last).
    pub after: Option<Position>,
}

/// A job's place in history order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    pub created_at: DateTime<Utc>,
    pub id: Uuid,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HistoryError {
    #[error("{0}")]
    Invalid(String),
    #[error("the cursor is not one this service gave out for these filters")]
    BadCursor,
}

/// Parses a comma-separated list of names (`status=failed,cancelled`); an unknown name is an
/// error listing the allowed ones.
pub fn parse_list<T: std::str::FromStr + PartialEq>(text: Option<&str>) -> Result<Vec<T>, HistoryError>
where
    T::Err: std::fmt::Display,
{
    let Some(text) = text.map(str::trim).filter(|t| !t.is_empty()) else { return Ok(Vec::new()) };
    let mut items: Vec<T> = Vec::new();
    for part in text.split(',') {
        let item = part.trim().parse().map_err(|e: T::Err| HistoryError::Invalid(e.to_string()))?;
        // Each value once: `failed,failed` is `failed`, never one page per repetition.
        if !items.contains(&item) {
            items.push(item);
        }
    }
    Ok(items)
}

/// The search text, trimmed; too long is an error, empty is none.
pub fn parse_search(text: Option<&str>) -> Result<Option<String>, HistoryError> {
    let Some(text) = text.map(str::trim).filter(|t| !t.is_empty()) else { return Ok(None) };
    if text.chars().count() > MAX_QUERY_CHARS {
        return Err(HistoryError::Invalid(format!("q must be at most {MAX_QUERY_CHARS} characters")));
    }
    // No stored text holds one (PostgreSQL's text cannot), and PostgreSQL refuses it as a parameter.
    if text.contains('\0') {
        return Err(HistoryError::Invalid("q may not contain the NUL character (%00)".into()));
    }
    Ok(Some(text.to_owned()))
}

impl HistoryFilter {
    /// What a cursor is bound to: a cursor from one filter means nothing under another.
    fn fingerprint(&self) -> String {
        format!(
            "{:?}|{:?}|{:?}|{:?}|{:?}|{:?}",
            self.owner, self.statuses, self.types, self.created_from, self.created_to, self.search
        )
    }

    /// The cursor for the page after `last`: its position and a check over position and
    /// filter, so an edited or foreign cursor is refused rather than silently misread.
    pub fn cursor_after(&self, last: Position) -> String {
        let mut bytes = position_bytes(last);
        bytes.extend_from_slice(&self.check(&bytes));
        hex::encode(bytes)
    }

    /// Reads a cursor made by [`HistoryFilter::cursor_after`] for this same filter.
    pub fn read_cursor(&self, cursor: &str) -> Result<Position, HistoryError> {
        let bytes = hex::decode(cursor).map_err(|_| HistoryError::BadCursor)?;
        if bytes.len() != 32 || bytes[24..] != self.check(&bytes[..24]) {
            return Err(HistoryError::BadCursor);
        }
        let micros = i64::from_be_bytes(bytes[..8].try_into().expect("8 bytes"));
        let created_at = DateTime::from_timestamp_micros(micros).ok_or(HistoryError::BadCursor)?;
        let id = Uuid::from_slice(&bytes[8..24]).map_err(|_| HistoryError::BadCursor)?;
        Ok(Position { created_at, id })
    }

    fn check(&self, position: &[u8]) -> [u8; 8] {
        let digest = Sha256::new().chain_update(position).chain_update(self.fingerprint()).finalize();
        digest[..8].try_into().expect("8 of 32 bytes")
    }
}

fn position_bytes(p: Position) -> Vec<u8> {
    let mut bytes = p.created_at.timestamp_micros().to_be_bytes().to_vec();
    bytes.extend_from_slice(p.id.as_bytes());
    bytes
}

/// `q` as a job id prefix, when it can be one: hex digits and hyphens, lowercased.
pub fn id_prefix(search: &str) -> Option<String> {
    let lower = search.to_ascii_lowercase();
    (lower.len() <= 36 && lower.chars().all(|c| c.is_ascii_hexdigit() || c == '-')).then_some(lower)
}

/// `text` for a LIKE pattern, its wildcards taken literally (escape character `\`).
pub fn like_escaped(text: &str) -> String {
    text.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filter() -> HistoryFilter {
        HistoryFilter {
            owner: Owner::One(Uuid::nil()),
            statuses: vec![JobStatus::Failed],
            types: Vec::new(),
            created_from: None,
            created_to: None,
            search: None,
            after: None,
        }
    }

    fn position() -> Position {
        Position { created_at: DateTime::from_timestamp_micros(1_764_000_000_123_456).unwrap(), id: Uuid::now_v7() }
    }

    #[test]
    fn a_cursor_reads_back_to_its_position() {
        let (f, p) = (filter(), position());
        assert_eq!(f.read_cursor(&f.cursor_after(p)), Ok(p));
    }

    #[test]
    fn an_edited_or_foreign_cursor_is_refused() {
        let (f, p) = (filter(), position());
        let cursor = f.cursor_after(p);
        let mut edited = cursor.clone().into_bytes();
        edited[5] = if edited[5] == b'0' { b'1' } else { b'0' };
        assert_eq!(f.read_cursor(std::str::from_utf8(&edited).unwrap()), Err(HistoryError::BadCursor));
        assert_eq!(f.read_cursor("not hex"), Err(HistoryError::BadCursor));
        assert_eq!(f.read_cursor(&cursor[..40]), Err(HistoryError::BadCursor));
        let other = HistoryFilter { statuses: vec![JobStatus::Completed], ..filter() };
        assert_eq!(other.read_cursor(&cursor), Err(HistoryError::BadCursor), "a cursor belongs to its filter");
    }

    #[test]
    fn lists_parse_and_name_the_allowed_values() {
        assert_eq!(
            parse_list::<JobStatus>(Some("failed, cancelled")),
            Ok(vec![JobStatus::Failed, JobStatus::Cancelled])
        );
        assert_eq!(parse_list::<JobStatus>(None), Ok(vec![]));
        assert_eq!(parse_list::<JobStatus>(Some(" ")), Ok(vec![]));
        let err = parse_list::<JobType>(Some("import,upload")).unwrap_err().to_string();
        assert!(err.contains("'upload'") && err.contains("expected one of"), "{err}");
    }

    #[test]
    fn search_text_is_bounded_and_may_be_an_id_prefix() {
        assert_eq!(parse_search(Some("  prices.csv ")), Ok(Some("prices.csv".into())));
        assert_eq!(parse_search(Some("")), Ok(None));
        assert!(parse_search(Some(&"x".repeat(201))).is_err());
        assert_eq!(id_prefix("01A2-"), Some("01a2-".into()));
        assert_eq!(id_prefix("prices"), None);
        assert_eq!(like_escaped("50%_a\\b"), "50\\%\\_a\\\\b");
    }
}

/// The unfinished jobs of one type and status: how many, and since when the oldest waits.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct QueueDepth {
    pub job_type: JobType,
    /// `pending` or `running`.
    pub status: JobStatus,
    pub count: i64,
    pub oldest_created_at: DateTime<Utc>,
}
