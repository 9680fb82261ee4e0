//! Upgrades from every earlier schema version, generated from the steps
//! of `schema.sql`: a step added later is covered without a word here.
//!
//! For each version N before the last, a database is built with steps
//! 1..=N as an older program left it, every table of it is filled with
//! rows (values made from the columns' types, their `IN (...)` and
//! `BETWEEN` checks and their foreign keys, tried until the constraints
//! and triggers take them), and `open` must bring it to
//! the last version with every row kept, `integrity_check` ok and no
//! foreign key broken; a second open applies nothing.

use super::*;
use std::collections::BTreeMap;

/// A database at version `version`, as a program of that version made it.
fn at_version(path: &Path, version: usize) -> Connection {
    for suffix in ["", "-wal", "-shm"] {
        std::fs::remove_file(format!("{}{suffix}", path.display())).ok();
    }
    let conn = Connection::open(path).expect("raw open");
    configure(&conn).expect("configured");
    for (index, step) in steps().iter().enumerate().take(version) {
        let tx = conn.unchecked_transaction().expect("tx");
        tx.execute_batch(step)
            .unwrap_or_else(|e| panic!("step {}: {e}", index + 1));
        tx.pragma_update(None, "user_version", (index + 1) as i64)
            .expect("version");
        tx.execute(
            "INSERT INTO infos (key, value) VALUES ('schema_steps', ?1) \
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            [(index + 1).to_string()],
        )
        .expect("recorded");
        tx.commit().expect("commit");
    }
    conn
}

/// The ordinary tables: not SQLite's, not virtual ones nor their shadows.
fn tables(conn: &Connection) -> Vec<String> {
    let all: Vec<(String, String)> = conn
        .prepare("SELECT name, sql FROM sqlite_schema WHERE type = 'table' ORDER BY name")
        .and_then(|mut s| s.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?.collect())
        .expect("tables");
    let virtuals: Vec<&str> = all
        .iter()
        .filter(|(_, sql)| sql.to_uppercase().starts_with("CREATE VIRTUAL"))
        .map(|(name, _)| name.as_str())
        .collect();
    all.iter()
        .filter(|(name, sql)| {
            !name.starts_with("sqlite_")
                && !sql.to_uppercase().starts_with("CREATE VIRTUAL")
                && !virtuals.iter().any(|v| name.starts_with(&format!("{v}_")))
        })
        .map(|(name, _)| name.clone())
        .collect()
}

struct Column {
    name: String,
    kind: String,
    not_null: bool,
    default: bool,
    primary_key: bool,
}

fn columns(conn: &Connection, table: &str) -> Vec<Column> {
    conn.prepare(
        "SELECT name, type, \"notnull\", dflt_value IS NOT NULL, pk FROM pragma_table_info(?1)",
    )
    .and_then(|mut s| {
        s.query_map([table], |r| {
            Ok(Column {
                name: r.get(0)?,
                kind: r.get::<_, String>(1)?.to_uppercase(),
                not_null: r.get(2)?,
                default: r.get(3)?,
                primary_key: r.get::<_, i64>(4)? > 0,
            })
        })?
        .collect()
    })
    .expect("columns")
}

/// column -> (parent table, parent column; None: its primary key)
fn foreign_keys(conn: &Connection, table: &str) -> BTreeMap<String, (String, Option<String>)> {
    conn.prepare("SELECT \"from\", \"table\", \"to\" FROM pragma_foreign_key_list(?1)")
        .and_then(|mut s| {
            s.query_map([table], |r| Ok((r.get(0)?, (r.get(1)?, r.get(2)?))))?
                .collect()
        })
        .expect("foreign keys")
}

/// Values a column's checks allow, read from the table's SQL: the first
/// of `col IN ('a', ...)`, the low end of `col BETWEEN a AND b`.
fn allowed_values(table_sql: &str, column: &str) -> Vec<rusqlite::types::Value> {
    use rusqlite::types::Value;
    let mut found = Vec::new();
    for (at, _) in table_sql.match_indices(column) {
        let before = table_sql[..at].chars().last();
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue;
        }
        let rest = table_sql[at + column.len()..].trim_start();
        let upper = rest.to_uppercase();
        if let Some(list) = upper.strip_prefix("IN").map(|_| rest[2..].trim_start()) {
            if let Some(inner) = list.strip_prefix('(') {
                let first = inner.split([',', ')']).next().unwrap_or("").trim();
                if let Some(text) = first.strip_prefix('\'').and_then(|t| t.strip_suffix('\'')) {
                    found.push(Value::Text(text.to_string()));
                } else if let Ok(number) = first.parse::<i64>() {
                    found.push(Value::Integer(number));
                }
            }
        } else if upper.starts_with("BETWEEN") {
            let low = rest[7..].split_whitespace().next().unwrap_or("");
            if let Ok(number) = low.parse::<i64>() {
                found.push(Value::Integer(number));
            }
        }
    }
    found
}

/// Fills every table with rows; returns the tables left empty and why.
fn fill(conn: &Connection) -> Vec<(String, String)> {
    use rusqlite::types::Value;
    let tables = tables(conn);
    let keys: BTreeMap<String, BTreeMap<String, (String, Option<String>)>> = tables
        .iter()
        .map(|t| (t.clone(), foreign_keys(conn, t)))
        .collect();
    // parents first; a parent has two rows for each table naming it
    let mut order: Vec<String> = Vec::new();
    while order.len() < tables.len() {
        let before = order.len();
        for table in &tables {
            if order.contains(table) {
                continue;
            }
            let ready = keys[table].values().all(|(parent, _)| {
                parent == table || order.contains(parent) || !tables.contains(parent)
            });
            if ready {
                order.push(table.clone());
            }
        }
        if order.len() == before {
            // a cycle (users and their private templates): the table
            // waiting for fewest parents goes first, those keys left null
            let waiting = |table: &String| {
                let columns = columns(conn, table);
                keys[table]
                    .iter()
                    .filter(|(column, (parent, _))| {
                        parent != table
                            && !order.contains(parent)
                            && columns.iter().any(|c| &c.name == *column && c.not_null)
                    })
                    .count()
            };
            let first = tables
                .iter()
                .filter(|t| !order.contains(t))
                .min_by_key(|t| waiting(t))
                .expect("a table left")
                .clone();
            order.push(first);
        }
    }
    let children = |parent: &str| {
        keys.values()
            .filter(|k| k.values().any(|(p, _)| p == parent))
            .count()
    };
    let mut next_parent_row: BTreeMap<String, usize> = BTreeMap::new();
    let mut empty = Vec::new();
    for table in &order {
        let sql: String = conn
            .query_row(
                "SELECT sql FROM sqlite_schema WHERE name = ?1",
                [table],
                |r| r.get(0),
            )
            .expect("sql");
        let columns = columns(conn, table);
        let rows = 2 * children(table).max(1);
        let key_columns = columns.iter().filter(|c| c.primary_key).count();
        let mut last_error = String::new();
        for row in 0..rows {
            // each column's candidates, the first tried first; an error
            // naming a column moves that column to its next candidate
            let mut candidates: Vec<(String, Vec<Value>)> = Vec::new();
            for column in &columns {
                // the rowid's alias: SQLite picks it
                let integer_key =
                    column.primary_key && key_columns == 1 && column.kind == "INTEGER";
                if integer_key {
                    continue;
                }
                if let Some((parent, parent_column)) = keys[table].get(&column.name) {
                    let parent_column = parent_column.clone().unwrap_or_else(|| "rowid".into());
                    let offset = next_parent_row.entry(parent.clone()).or_insert(0);
                    // the parent's rows from the next unused one on, then
                    // the others (a row may be taken already: an extension
                    // serves one thing)
                    let parents: Vec<Value> = conn
                        .prepare(&format!(
                            "SELECT \"{parent_column}\" FROM \"{parent}\" ORDER BY rowid"
                        ))
                        .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
                        .unwrap_or_default();
                    let start = if parents.is_empty() {
                        0
                    } else {
                        *offset % parents.len()
                    };
                    *offset += 1;
                    let mut values: Vec<Value> = parents[start..]
                        .iter()
                        .chain(&parents[..start])
                        .take(16)
                        .cloned()
                        .collect();
                    if !column.not_null {
                        values.push(Value::Null);
                    }
                    candidates.push((column.name.clone(), values));
                    continue;
                }
                let mut values = allowed_values(&sql, &column.name);
                let unique = format!("u{row}{}", table.len() + column.name.len());
                match column.kind.as_str() {
                    kind if kind.contains("INT") => {
                        values.extend([Value::Integer(row as i64 + 1), Value::Integer(0)])
                    }
                    kind if kind.contains("REAL") => values.push(Value::Real(row as f64 + 1.5)),
                    _ => values.extend([
                        Value::Text(format!("{unique}{row}")),
                        Value::Text(format!("{}", 1000 + row)),
                        Value::Text(format!("2015-11-20T10:{:02}:00", row % 60)),
                        Value::Text("[]".into()),
                        Value::Integer(row as i64 + 1),
                    ]),
                }
                if !column.not_null || column.default {
                    // leaving it out is the last resort
                    values.push(Value::Null);
                }
                candidates.push((column.name.clone(), values));
            }
            let mut chosen = vec![0usize; candidates.len()];
            let mut inserted = false;
            for _ in 0..512 {
                let present: Vec<usize> = (0..candidates.len())
                    .filter(|&i| {
                        candidates[i]
                            .1
                            .get(chosen[i])
                            .is_some_and(|v| *v != Value::Null)
                    })
                    .collect();
                let names: Vec<String> = present
                    .iter()
                    .map(|&i| format!("\"{}\"", candidates[i].0))
                    .collect();
                let values: Vec<&Value> = present
                    .iter()
                    .map(|&i| &candidates[i].1[chosen[i]])
                    .collect();
                let statement = if names.is_empty() {
                    format!("INSERT INTO \"{table}\" DEFAULT VALUES")
                } else {
                    format!(
                        "INSERT INTO \"{table}\" ({}) VALUES ({})",
                        names.join(", "),
                        vec!["?"; names.len()].join(", ")
                    )
                };
                match conn.execute(&statement, rusqlite::params_from_iter(values)) {
                    Ok(_) => {
                        inserted = true;
                        break;
                    }
                    Err(error) => {
                        last_error = error.to_string();
                        // the column the error names moves on; else every
                        // combination in turn (an odometer)
                        let named = candidates.iter().position(|(name, values)| {
                            (last_error.contains(&format!(".{name}"))
                                || last_error.contains(&format!("{name} ")))
                                && values.len() > 1
                        });
                        match named {
                            Some(index) if chosen[index] + 1 < candidates[index].1.len() => {
                                chosen[index] += 1
                            }
                            _ => {
                                let mut carry = true;
                                for i in 0..candidates.len() {
                                    if !carry {
                                        break;
                                    }
                                    chosen[i] += 1;
                                    carry = chosen[i] >= candidates[i].1.len();
                                    if carry {
                                        chosen[i] = 0;
                                    }
                                }
                                if carry {
                                    break; // every combination was tried
                                }
                            }
                        }
                    }
                }
            }
            if !inserted {
                break;
            }
        }
        let rows: i64 = conn
            .query_row(&format!("SELECT count(*) FROM \"{table}\""), [], |r| {
                r.get(0)
            })
            .expect("count");
        if rows == 0 {
            empty.push((table.clone(), last_error.clone()));
        }
    }
    empty
}

/// Every table's rows, as text, for comparison before and after.
fn snapshot(conn: &Connection) -> BTreeMap<String, Vec<String>> {
    tables(conn)
        .into_iter()
        .map(|table| {
            let rows: Vec<String> = conn
                .prepare(&format!("SELECT * FROM \"{table}\" ORDER BY rowid"))
                .or_else(|_| conn.prepare(&format!("SELECT * FROM \"{table}\" ORDER BY 1")))
                .and_then(|mut s| {
                    let count = s.column_count();
                    s.query_map([], |r| {
                        let values: Vec<String> = (0..count)
                            .map(|i| format!("{:?}", r.get::<_, rusqlite::types::Value>(i)))
                            .collect();
                        Ok(values.join("|"))
                    })?
                    .collect()
                })
                .expect("rows");
            (table, rows)
        })
        .collect()
}

#[test]
fn every_earlier_version_holding_data_upgrades_to_the_last() {
    let last = steps().len();
    assert!(last >= 2, "nothing to upgrade from");
    let dir = tests::temp_db("upgrades");
    let mut filled_somewhere = 0;
    for version in 1..last {
        let path = dir.with_file_name(format!("v{version}.db"));
        let conn = at_version(&path, version);
        let empty = fill(&conn);
        // a table this filler cannot fill fails here: teach it the new
        // table's constraint rather than leave the table out
        assert!(
            empty.is_empty(),
            "version {version}: tables the test could not fill: {empty:?}"
        );
        filled_somewhere += tables(&conn).len();
        let before = snapshot(&conn);
        drop(conn);

        let conn = open(&path).unwrap_or_else(|e| panic!("from version {version}: {e}"));
        let reached: i64 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .expect("version");
        assert_eq!(reached as usize, last, "from version {version}");
        let integrity: String = conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .expect("integrity");
        assert_eq!(integrity, "ok", "from version {version}");
        let broken: i64 = conn
            .query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| {
                r.get(0)
            })
            .expect("foreign keys");
        assert_eq!(broken, 0, "from version {version}: foreign keys broken");
        let after = snapshot(&conn);
        for (table, rows) in &before {
            let Some(kept) = after.get(table) else {
                continue; // a later step dropped the table (its data moved on)
            };
            assert!(
                kept.len() >= rows.len(),
                "from version {version}: {table} lost rows ({} -> {})",
                rows.len(),
                kept.len()
            );
        }
        drop(conn);
        // a second start applies nothing: the file is as it was left
        let conn = open(&path).expect("reopens");
        assert_eq!(snapshot(&conn), after, "from version {version}: reopened");
        drop(conn);
    }
    assert!(filled_somewhere > 0);
    std::fs::remove_dir_all(dir.parent().expect("dir")).ok();
}

/// A step that fails leaves the database at the version before it, with
/// nothing of the step: each step is one transaction. Tried on every step
/// that creates a table (a table of that name made beforehand fails it).
#[test]
fn a_failing_step_leaves_nothing_of_itself() {
    let dir = tests::temp_db("failing-step");
    let mut tried = 0;
    for (index, step) in steps().iter().enumerate().skip(1) {
        let Some(created) = step
            .lines()
            .find_map(|line| line.trim().strip_prefix("CREATE TABLE "))
            .filter(|rest| !rest.starts_with("IF "))
            .and_then(|rest| rest.split([' ', '(']).next())
        else {
            continue;
        };
        let version = index; // the steps before this one
        let path = dir.with_file_name(format!("fail{version}.db"));
        let conn = at_version(&path, version);
        conn.execute_batch(&format!("CREATE TABLE {created} (blocker INTEGER)"))
            .expect("blocker");
        let objects_before: i64 = conn
            .query_row("SELECT count(*) FROM sqlite_schema", [], |r| r.get(0))
            .expect("count");
        drop(conn);
        let error = open(&path).expect_err("the step fails");
        assert!(error.contains("migrate"), "{error}");
        let conn = Connection::open(&path).expect("raw open");
        let still: i64 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .expect("version");
        assert_eq!(still as usize, version, "step {} undone", index + 1);
        let objects_after: i64 = conn
            .query_row("SELECT count(*) FROM sqlite_schema", [], |r| r.get(0))
            .expect("count");
        assert_eq!(
            objects_after,
            objects_before,
            "step {}: nothing of it left",
            index + 1
        );
        tried += 1;
    }
    assert!(tried >= 3, "steps that create tables: {tried}");
    std::fs::remove_dir_all(dir.parent().expect("dir")).ok();
}
