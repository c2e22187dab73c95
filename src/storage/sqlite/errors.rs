//! Which unique index a SQLite error names. sqlx gives no constraint name for SQLite, only the
//! message: `UNIQUE constraint failed: index 'users_email_key'` for an index on expressions,
//! `UNIQUE constraint failed: suppliers.created_by, suppliers.name_key` for one on plain
//! columns (or a primary key), which is translated to the index the migrations create on them.

use crate::storage::unique;

/// The migrations' unique indexes on plain columns, by the columns SQLite's message lists.
const BY_COLUMNS: &[(&str, &str)] = &[
    ("job_schedules.name", unique::SCHEDULE_NAME),
    ("suppliers.created_by, suppliers.name_key", unique::SUPPLIER_NAME),
    ("datasets.supplier_id, datasets.sha256", unique::DATASET_SHA256),
    ("background_jobs.schedule_id, background_jobs.run_at", "background_jobs_schedule_tick_key"),
];

/// The index a unique violation's `message` names: an index name when it has one, else what
/// the message says (the columns, `users.id`), which matches no index a caller expects.
pub fn unique_index(message: &str) -> String {
    let Some(failed) = message.strip_prefix("UNIQUE constraint failed: ") else { return message.to_owned() };
    if let Some(name) = failed.strip_prefix("index '").and_then(|rest| rest.strip_suffix('\'')) {
        return name.to_owned();
    }
    match BY_COLUMNS.iter().find(|(columns, _)| *columns == failed) {
        Some((_, index)) => (*index).to_owned(),
        None => failed.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_index_or_its_columns() {
        assert_eq!(unique_index("UNIQUE constraint failed: index 'users_email_key'"), unique::USER_EMAIL);
        assert_eq!(unique_index("UNIQUE constraint failed: job_schedules.name"), unique::SCHEDULE_NAME);
        assert_eq!(
            unique_index("UNIQUE constraint failed: suppliers.created_by, suppliers.name_key"),
            unique::SUPPLIER_NAME
        );
        assert_eq!(
            unique_index("UNIQUE constraint failed: datasets.supplier_id, datasets.sha256"),
            unique::DATASET_SHA256
        );
        // What no index a caller expects is named keeps its text, for the log.
        assert_eq!(unique_index("UNIQUE constraint failed: users.id"), "users.id");
        assert_eq!(unique_index("UNIQUE constraint failed: suppliers.name_key"), "suppliers.name_key");
        assert_eq!(unique_index("UNIQUE constraint failed: index 'odd"), "index 'odd");
        assert_eq!(unique_index("something else"), "something else");
    }

    /// Every unique index the SQLite migrations create is named by SQLite (on expressions) or
    /// listed here by its columns, so a new one cannot go unrecognised.
    #[test]
    fn every_unique_index_of_the_migrations_is_known() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/sqlite");
        let mut found = 0;
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if !path.to_string_lossy().ends_with(".up.sql") {
                continue;
            }
            let sql = std::fs::read_to_string(&path).unwrap().to_lowercase();
            for statement in sql.split("create unique index ").skip(1) {
                let (name, rest) = statement.split_once(char::is_whitespace).unwrap();
                let (table, rest) = rest.trim_start().strip_prefix("on ").unwrap().split_once('(').unwrap();
                let columns = rest.split_once(')').unwrap().0;
                found += 1;
                if columns.contains('(') {
                    continue; // on expressions: SQLite names the index itself
                }
                let listed: Vec<String> =
                    columns.split(',').map(|c| format!("{}.{}", table.trim(), c.trim())).collect();
                let message = format!("UNIQUE constraint failed: {}", listed.join(", "));
                assert_eq!(unique_index(&message), name, "{} in {}", name, path.display());
            }
        }
        assert!(found >= 5, "found {found} unique indexes");
    }
}
