//! The one list builder: `order`, `direction`, `limit`, `offset` (and its
//! legacy alias `skip`), `search`, and exact-match filters, turned into SQL
//! with bound parameters. Columns come only from the resource's declaration,
//! never from the request, so a bad `order` is a 400 and never an SQL error.

use crate::error::{ApiError, ApiResult};
use rusqlite::types::Value as SqlValue;
use rusqlite::{Connection, Row};

/// What a resource declares to be listed.
pub struct ListSpec {
    /// FROM clause: a table, or a table with its joins.
    pub from: &'static str,
    /// SELECT list, read by the resource's row mapper.
    pub select: &'static str,
    /// Names accepted by `order` (and as `name=value` exact filters), with
    /// the SQL expression each stands for.
    pub columns: &'static [(&'static str, &'static str)],
    pub default_order: &'static str,
    /// Expression holding the lowercased searchable text, if searchable.
    pub search_text: Option<&'static str>,
    /// Unique expression that breaks ties, so pages never overlap.
    pub id: &'static str,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Asc,
    Desc,
}

#[derive(Debug, Clone)]
pub struct ListQuery {
    pub order: &'static str,
    pub direction: Direction,
    pub limit: Option<u64>,
    pub offset: u64,
    /// lowercased search term
    pub search: Option<String>,
    /// exact filters: (SQL expression, value)
    pub filters: Vec<(&'static str, String)>,
}

impl ListQuery {
    /// Reads the list parameters; any other parameter is left to the caller.
    pub fn parse(params: &[(String, String)], spec: &ListSpec) -> ApiResult<ListQuery> {
        let value = |name: &str| {
            params
                .iter()
                .find(|(key, _)| key == name)
                .map(|(_, value)| value.as_str())
        };
        let limit = value("limit")
            .map(|v| parse_count("limit", v))
            .transpose()?;
        let mut offset = value("offset")
            .map(|v| parse_count("offset", v))
            .transpose()?
            .unwrap_or(0);
        if let Some(skip) = value("skip") {
            offset = parse_count("skip", skip)?;
        }
        let direction = match value("direction") {
            None | Some("asc") => Direction::Asc,
            Some("desc") => Direction::Desc,
            Some(_) => return Err(ApiError::input("direction: must be 'asc' or 'desc'")),
        };
        let order_name = match value("order") {
            None | Some("") => spec.default_order,
            Some(name) => name,
        };
        let order = column(spec, order_name).ok_or_else(|| {
            ApiError::input(format!("order: column '{order_name}' was not found"))
        })?;
        let search = value("search")
            .filter(|term| !term.is_empty())
            .map(str::to_lowercase);
        let filters = params
            .iter()
            .filter_map(|(key, value)| column(spec, key).map(|expr| (expr, value.clone())))
            .collect();
        Ok(ListQuery {
            order,
            direction,
            limit,
            offset,
            search,
            filters,
        })
    }
}

fn column(spec: &ListSpec, name: &str) -> Option<&'static str> {
    spec.columns
        .iter()
        .find(|(column, _)| *column == name)
        .map(|(_, expr)| *expr)
}

fn parse_count(name: &str, value: &str) -> ApiResult<u64> {
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ApiError::input(format!(
            "field '{name}': wrong type. Should be a positive number"
        )));
    }
    // digits only: the one failure left is overflow, a number no list reaches
    value.parse().or(Ok(u64::MAX))
}

/// Runs the count and the page; `scope` adds a resource's own condition.
pub fn fetch<T>(
    conn: &Connection,
    spec: &ListSpec,
    query: &ListQuery,
    scope: Option<(&str, Vec<SqlValue>)>,
    mut map_row: impl FnMut(&Row) -> rusqlite::Result<T>,
) -> ApiResult<(i64, Vec<T>)> {
    let mut conditions: Vec<String> = Vec::new();
    let mut args: Vec<SqlValue> = Vec::new();
    if let Some((condition, values)) = scope {
        conditions.push(format!("({condition})"));
        args.extend(values);
    }
    if let (Some(term), Some(text)) = (&query.search, spec.search_text) {
        conditions.push(format!("instr({text}, ?) > 0"));
        args.push(SqlValue::Text(term.clone()));
    }
    for (expr, value) in &query.filters {
        conditions.push(format!("{expr} = ?"));
        args.push(SqlValue::Text(value.clone()));
    }
    let filter = if conditions.is_empty() {
        String::new()
    } else {
        format!(" WHERE {}", conditions.join(" AND "))
    };

    let count_sql = format!("SELECT count(*) FROM {}{filter}", spec.from);
    let total: i64 = conn
        .prepare_cached(&count_sql)?
        .query_row(rusqlite::params_from_iter(args.iter()), |row| row.get(0))?;

    // NULLs last going up and first going down, as the reference's database did
    let direction = match query.direction {
        Direction::Asc => "ASC NULLS LAST",
        Direction::Desc => "DESC NULLS FIRST",
    };
    let tie = match query.direction {
        Direction::Asc => "ASC",
        Direction::Desc => "DESC",
    };
    let page_sql = format!(
        "SELECT {} FROM {}{filter} ORDER BY {} {direction}, {} {tie} LIMIT ? OFFSET ?",
        spec.select, spec.from, query.order, spec.id
    );
    let limit = query
        .limit
        .map(|l| l.min(i64::MAX as u64) as i64)
        .unwrap_or(-1);
    args.push(SqlValue::Integer(limit));
    args.push(SqlValue::Integer(query.offset.min(i64::MAX as u64) as i64));
    let mut statement = conn.prepare_cached(&page_sql)?;
    let rows = statement.query_map(rusqlite::params_from_iter(args.iter()), |row| map_row(row))?;
    let items = rows.collect::<rusqlite::Result<Vec<T>>>()?;
    Ok((total, items))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPEC: ListSpec = ListSpec {
        from: "people",
        select: "id, name",
        columns: &[("name", "name"), ("id", "id")],
        default_order: "name",
        search_text: Some("lower(name)"),
        id: "id",
    };

    fn params(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn people() -> Connection {
        let conn = Connection::open_in_memory().expect("memory db");
        conn.execute_batch(
            "CREATE TABLE people (id INTEGER PRIMARY KEY, name TEXT);
             INSERT INTO people (name) VALUES ('bob'), ('alice'), (NULL), ('Bobby'), ('carol'), ('bob');",
        )
        .expect("fixture");
        conn
    }

    fn names(conn: &Connection, pairs: &[(&str, &str)]) -> (i64, Vec<Option<String>>) {
        let query = ListQuery::parse(&params(pairs), &SPEC).expect("valid query");
        fetch(conn, &SPEC, &query, None, |row| row.get(1)).expect("fetch")
    }

    #[test]
    fn orders_with_ties_by_id_and_nulls_last() {
        let conn = people();
        let (total, items) = names(&conn, &[]);
        assert_eq!(total, 6);
        let expected: Vec<Option<String>> = vec![
            Some("Bobby".into()),
            Some("alice".into()),
            Some("bob".into()),
            Some("bob".into()),
            Some("carol".into()),
            None,
        ];
        assert_eq!(items, expected);
        let (_, desc) = names(&conn, &[("direction", "desc")]);
        assert_eq!(desc.first(), Some(&None));
    }

    #[test]
    fn pages_and_total_counts_before_paging() {
        let conn = people();
        let (total, items) = names(&conn, &[("limit", "2"), ("offset", "1")]);
        assert_eq!(total, 6);
        assert_eq!(items, vec![Some("alice".into()), Some("bob".into())]);
        let (_, skipped) = names(&conn, &[("limit", "1"), ("skip", "4")]);
        assert_eq!(skipped, vec![Some("carol".into())]);
    }

    #[test]
    fn search_is_case_insensitive_substring_and_total_is_filtered() {
        let conn = people();
        let (total, items) = names(&conn, &[("search", "BOB"), ("limit", "1")]);
        assert_eq!(total, 3);
        assert_eq!(items.len(), 1);
        let (exact, _) = names(&conn, &[("name", "bob")]);
        assert_eq!(exact, 2);
    }

    #[test]
    fn bad_parameters_are_input_errors() {
        let bad = |pairs: &[(&str, &str)]| {
            ListQuery::parse(&params(pairs), &SPEC)
                .expect_err("refused")
                .message()
        };
        assert_eq!(
            bad(&[("order", "name; DROP TABLE people")]),
            "Input Error - order: column 'name; DROP TABLE people' was not found"
        );
        assert_eq!(
            bad(&[("direction", "up")]),
            "Input Error - direction: must be 'asc' or 'desc'"
        );
        assert_eq!(
            bad(&[("limit", "-1")]),
            "Input Error - field 'limit': wrong type. Should be a positive number"
        );
        assert_eq!(
            bad(&[("offset", "x")]),
            "Input Error - field 'offset': wrong type. Should be a positive number"
        );
    }
}
