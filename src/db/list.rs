//! The one list builder: `order`, `direction`, `limit`, `offset` (and its
//! legacy alias `skip`), `search`, and exact-match filters, turned into SQL
//! with bound parameters. Columns come only from the resource's declaration,
//! never from the request, so a bad `order` is a 400 and never an SQL error.

use crate::error::{ApiError, ApiResult};
use rusqlite::types::Value as SqlValue;
use rusqlite::{Connection, Row};
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

/// What a resource declares to be listed.
#[derive(Clone, Copy)]
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
    /// Indexes holding every column a page reads, each in one order: a
    /// page in that order is read from a few pages of the index instead of
    /// one table row per object (see `fetch_indexed`).
    pub covering: &'static [Covering],
}

/// An index in an order of a list (`ORDER BY <order>, <id>`) that holds
/// every column of the list's SELECT, whose first column is the id.
pub struct Covering {
    /// the order expression, as in `ListSpec::columns`
    pub order: &'static str,
    /// the list's FROM clause with the index named (`INDEXED BY`)
    pub from: &'static str,
    /// the order's value of one object (?1 is its id)
    pub key: &'static str,
}

impl ListSpec {
    /// A list made from the resource's fields (see
    /// `Resource::list_spec`): only its default order is written.
    pub const fn derived(default_order: &'static str) -> ListSpec {
        ListSpec {
            from: "",
            select: "",
            columns: &[],
            default_order,
            search_text: None,
            id: "",
            covering: &[],
        }
    }

    pub fn is_derived(&self) -> bool {
        self.from.is_empty()
    }
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
/// This is the plain SQL answer; `fetch_indexed` gives the same answer
/// faster where it can, and the tests hold one to the other.
pub fn fetch<T>(
    conn: &Connection,
    spec: &ListSpec,
    query: &ListQuery,
    scope: Option<(&str, Vec<SqlValue>)>,
    map_row: impl FnMut(&Row) -> rusqlite::Result<T>,
) -> ApiResult<(i64, Vec<T>)> {
    fetch_sql(conn, None, spec, query, scope, map_row)
}

/// `fetch`, with the total taken from `totals` when the same count was
/// already made on the same data.
fn fetch_sql<T>(
    conn: &Connection,
    totals: Option<&ListCache>,
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
    let count = || -> rusqlite::Result<i64> {
        conn.prepare_cached(&count_sql)?
            .query_row(rusqlite::params_from_iter(args.iter()), |row| row.get(0))
    };
    let total = match totals {
        Some(cache) => cache.total(&count_sql, &args, count)?,
        None => count()?,
    };

    let page_sql = format!(
        "SELECT {} FROM {}{filter} ORDER BY {} {}, {} {} LIMIT ? OFFSET ?",
        spec.select,
        spec.from,
        query.order,
        query.direction.with_nulls(),
        spec.id,
        query.direction.keyword()
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

impl Direction {
    fn keyword(self) -> &'static str {
        match self {
            Direction::Asc => "ASC",
            Direction::Desc => "DESC",
        }
    }

    /// NULLs last going up and first going down, as the reference's database did.
    fn with_nulls(self) -> &'static str {
        match self {
            Direction::Asc => "ASC NULLS LAST",
            Direction::Desc => "DESC NULLS FIRST",
        }
    }
}

/// FTS5 tables (schema step 6, see `db::search`) that hold exactly the
/// text a spec's `search_text` computes, one row per listed object (rowid =
/// its id), so that a search reads an index instead of every row.
pub struct SearchIndex {
    /// trigram index of the text: a term of 3+ characters is a phrase of
    /// trigrams, which matches exactly where the term occurs
    pub trigrams: &'static str,
    /// trigram index of the text with \x01 around each character: its
    /// tokens are the text's single characters and adjacent pairs, so a term
    /// of 1-2 characters is one exact token
    pub pairs: &'static str,
    /// ids whose text the indexes cannot hold (it has NUL or \x01)
    pub unindexed: &'static str,
    /// view of (id, text, indexable): the searched text, to scan those few
    pub source: &'static str,
    /// ids whose entries are not rewritten yet (their text may have
    /// changed): read through `source` too, their entries ignored
    pub dirty: &'static str,
    /// SQL run for each dirty id (?1) before its entries are rewritten
    pub refresh: Option<&'static str>,
}

/// Ids whose text contains `term`: from the indexes, plus a scan of the
/// texts they could not hold.
fn search_ids(conn: &Connection, index: &SearchIndex, term: &str) -> ApiResult<Vec<i64>> {
    let mut ids = Vec::new();
    // indexed texts have neither, so such a term can only be in the others
    if !term.contains(['\0', '\u{1}']) {
        let mut chars = term.chars();
        let (table, phrase) = match (chars.next(), chars.next(), chars.next()) {
            (None, _, _) => return Ok(ids),
            (Some(one), None, _) => (index.pairs, format!("\u{1}{one}\u{1}")),
            (Some(one), Some(two), None) => (index.pairs, format!("{one}\u{1}{two}")),
            _ => (index.trigrams, term.to_string()),
        };
        // one FTS5 string: the whole term, quotes doubled, nothing else special
        let pattern = format!("\"{}\"", phrase.replace('"', "\"\""));
        let sql = format!("SELECT rowid FROM {table} WHERE {table} MATCH ?1");
        let mut statement = conn.prepare_cached(&sql)?;
        for id in statement.query_map([pattern], |row| row.get::<_, i64>(0))? {
            ids.push(id?);
        }
    }
    // written since the index was (by another program, say): their entries
    // may be stale, their texts are read like the unindexed ones
    let dirty: Vec<i64> = conn
        .prepare_cached(&format!("SELECT id FROM {}", index.dirty))?
        .query_map([], |row| row.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    if !dirty.is_empty() {
        let stale: std::collections::HashSet<i64> = dirty.iter().copied().collect();
        ids.retain(|id| !stale.contains(id));
        let sql = format!(
            "SELECT id FROM {} WHERE id = ?1 AND instr(text, ?2) > 0",
            index.source
        );
        let mut statement = conn.prepare_cached(&sql)?;
        for id in dirty {
            if statement.exists(rusqlite::params![id, term])? {
                ids.push(id);
            }
        }
    }
    // CROSS JOIN: the few unindexed ids first, each text read by its id;
    // with a plain JOIN SQLite may scan the whole source view instead
    let sql = format!(
        "SELECT source.id FROM {unindexed} AS unindexed CROSS JOIN {source} AS source \
         ON source.id = unindexed.id WHERE instr(source.text, ?1) > 0",
        unindexed = index.unindexed,
        source = index.source
    );
    let mut statement = conn.prepare_cached(&sql)?;
    for id in statement.query_map([term], |row| row.get::<_, i64>(0))? {
        ids.push(id?);
    }
    ids.sort_unstable();
    ids.dedup();
    Ok(ids)
}

/// Pages longer than this are read by the plain query: fetching rows one by
/// one by id stops paying off for (nearly) whole tables.
const LONGEST_PAGE_BY_ID: usize = 5_000;

/// `fetch`, answered from `cache` and `index` where they apply: the same
/// total and the same rows in the same order, whatever the offset.
///
/// - No filter, no scope, no search: the page is a slice of the order index
///   (every id in ORDER BY order), so an offset costs nothing.
/// - A search the index can answer (and nothing else): the matching ids come
///   from the index, are ranked by the order index, and only the page's rows
///   are read.
/// - Anything else: the plain query, with the total remembered.
pub fn fetch_indexed<T>(
    conn: &Connection,
    cache: &ListCache,
    spec: &ListSpec,
    query: &ListQuery,
    scope: Option<(&str, Vec<SqlValue>)>,
    index: Option<&SearchIndex>,
    mut map_row: impl FnMut(&Row) -> rusqlite::Result<T>,
) -> ApiResult<(i64, Vec<T>)> {
    cache.check(conn)?;
    if scope.is_none() && query.filters.is_empty() {
        let page = match (&query.search, index) {
            (None, _) => {
                let order = cache.order_index(conn, spec, query.order)?;
                let page = order.page(query.direction, query.offset, query.limit);
                Some((order.len() as i64, page))
            }
            (Some(term), Some(index)) if spec.search_text.is_some() => {
                let order = cache.order_index(conn, spec, query.order)?;
                let matches = cache.matches(conn, spec, query.order, index, term, &order)?;
                let page = order.page_of(&matches, query.direction, query.offset, query.limit);
                Some((matches.len() as i64, page))
            }
            _ => None,
        };
        if let Some((total, ids)) = page
            && ids.len() <= LONGEST_PAGE_BY_ID
        {
            let mut items = Vec::with_capacity(ids.len());
            // a whole page in an order some index covers: read from it
            if query.search.is_none()
                && ids.len() > 1
                && let Some(covering) = spec.covering.iter().find(|c| c.order == query.order)
            {
                read_covered(
                    conn,
                    spec,
                    covering,
                    query.direction,
                    &ids,
                    &mut items,
                    &mut map_row,
                )?;
            }
            // the rest (all of it, mostly) one row by id
            let sql = format!(
                "SELECT {} FROM {} WHERE {} = ?1",
                spec.select, spec.from, spec.id
            );
            let mut statement = conn.prepare_cached(&sql)?;
            for &id in &ids[items.len()..] {
                items.push(statement.query_row([id], |row| map_row(row))?);
            }
            return Ok((total, items));
        }
    }
    fetch_sql(conn, Some(cache), spec, query, scope, map_row)
}

/// Reads the rows of `ids` (a page in `covering`'s order, going
/// `direction`) from the covering index, as long as they come in the
/// page's order: the rows of the first id's order value from that id on,
/// then those after that value. Each row is checked against the id
/// expected at its place, and the reading stops at the first that differs
/// (a NULL order value, which the index keeps apart, or the end), so what
/// is pushed to `items` is always the page's first rows; the caller reads
/// the rest by id.
fn read_covered<T>(
    conn: &Connection,
    spec: &ListSpec,
    covering: &Covering,
    direction: Direction,
    ids: &[i64],
    items: &mut Vec<T>,
    map_row: &mut impl FnMut(&Row) -> rusqlite::Result<T>,
) -> ApiResult<()> {
    let key: SqlValue = conn
        .prepare_cached(covering.key)?
        .query_row([ids[0]], |row| row.get(0))?;
    if key == SqlValue::Null {
        return Ok(());
    }
    let (same, beyond, way) = match direction {
        Direction::Asc => (">=", ">", "ASC"),
        Direction::Desc => ("<=", "<", "DESC"),
    };
    let (select, from, order, id) = (spec.select, covering.from, covering.order, spec.id);
    let statements = [
        format!(
            "SELECT {select} FROM {from} WHERE {order} = ?2 AND {id} {same} ?1 \
             ORDER BY {id} {way} LIMIT ?3"
        ),
        format!(
            "SELECT {select} FROM {from} WHERE {order} {beyond} ?2 \
             ORDER BY {order} {way}, {id} {way} LIMIT ?3"
        ),
    ];
    for sql in statements {
        let wanted = ids.len() - items.len();
        let mut statement = conn.prepare_cached(&sql)?;
        let mut rows = statement.query(rusqlite::params![ids[0], key, wanted as i64])?;
        while let Some(row) = rows.next()? {
            if row.get::<_, i64>(0)? != ids[items.len()] {
                return Ok(());
            }
            items.push(map_row(row)?);
        }
        if items.len() == ids.len() {
            break;
        }
    }
    Ok(())
}

/// Every id of a list, in the order `ORDER BY <order> ASC NULLS LAST, <id>
/// ASC` gives (read from SQLite itself, so collations and NULLs are SQL's),
/// with each id's position. Going down is the exact reverse.
struct OrderIndex {
    ids: Vec<i64>,
    positions: Positions,
}

/// Position of each id: an array indexed by id while ids are dense enough,
/// else a map.
enum Positions {
    Dense(Vec<u32>),
    Sparse(HashMap<i64, u32>),
}

const NO_POSITION: u32 = u32::MAX;

impl OrderIndex {
    fn build(conn: &Connection, spec: &ListSpec, order: &str) -> ApiResult<OrderIndex> {
        // NULLs first, as the index stores them, so SQLite can walk an index
        // on the expression instead of sorting; they are moved to the end here
        let sql = format!(
            "SELECT {id}, ({order}) IS NULL FROM {from} ORDER BY {order} ASC, {id} ASC",
            id = spec.id,
            from = spec.from
        );
        let mut statement = conn.prepare_cached(&sql)?;
        let mut nulls = Vec::new();
        let mut ids = Vec::new();
        let mut rows = statement.query([])?;
        while let Some(row) = rows.next()? {
            let id: i64 = row.get(0)?;
            if row.get::<_, bool>(1)? {
                nulls.push(id);
            } else {
                ids.push(id);
            }
        }
        ids.extend(nulls);
        let (min, max) = (ids.iter().min().copied(), ids.iter().max().copied());
        let dense = match (min, max) {
            (Some(min), Some(max)) => min >= 0 && (max as u64) < 4 * ids.len() as u64 + 1024,
            _ => true,
        };
        let positions = if dense {
            let size = max.map_or(0, |max| max as usize + 1);
            let mut slots = vec![NO_POSITION; size];
            for (position, id) in ids.iter().enumerate() {
                slots[*id as usize] = position as u32;
            }
            Positions::Dense(slots)
        } else {
            Positions::Sparse(
                ids.iter()
                    .enumerate()
                    .map(|(position, id)| (*id, position as u32))
                    .collect(),
            )
        };
        Ok(OrderIndex { ids, positions })
    }

    fn len(&self) -> usize {
        self.ids.len()
    }

    fn position(&self, id: i64) -> Option<u32> {
        match &self.positions {
            Positions::Dense(slots) => usize::try_from(id)
                .ok()
                .and_then(|index| slots.get(index))
                .copied()
                .filter(|p| *p != NO_POSITION),
            Positions::Sparse(map) => map.get(&id).copied(),
        }
    }

    /// The ids of one page of the whole list.
    fn page(&self, direction: Direction, offset: u64, limit: Option<u64>) -> Vec<i64> {
        let (start, end) = bounds(self.ids.len(), offset, limit);
        match direction {
            Direction::Asc => self.ids[start..end].to_vec(),
            Direction::Desc => {
                let last = self.ids.len();
                (start..end).map(|i| self.ids[last - 1 - i]).collect()
            }
        }
    }

    /// The positions of `ids` (a subset, unordered, without repeats) in
    /// list order, ascending; ids not listed are left out.
    fn positions_of(&self, ids: &[i64]) -> Vec<u32> {
        let mut positions: Vec<u32> = ids.iter().filter_map(|&id| self.position(id)).collect();
        let len = self.ids.len();
        if positions.len() > len / 32 {
            // many: one bit per listed row, read back in order (linear; a
            // sort of 200,000 positions costs ten times as much)
            let mut bits = vec![0u64; len.div_ceil(64)];
            for &position in &positions {
                bits[position as usize / 64] |= 1 << (position % 64);
            }
            positions.clear();
            for (word_index, &word) in bits.iter().enumerate() {
                let mut word = word;
                while word != 0 {
                    positions.push((word_index * 64) as u32 + word.trailing_zeros());
                    word &= word - 1;
                }
            }
        } else {
            positions.sort_unstable();
        }
        positions
    }

    /// The ids of one page of the rows at `positions` (ascending).
    fn page_of(
        &self,
        positions: &[u32],
        direction: Direction,
        offset: u64,
        limit: Option<u64>,
    ) -> Vec<i64> {
        let total = positions.len();
        let (start, end) = bounds(total, offset, limit);
        let id = |rank: usize| self.ids[positions[rank] as usize];
        match direction {
            Direction::Asc => (start..end).map(id).collect(),
            Direction::Desc => (start..end).map(|i| id(total - 1 - i)).collect(),
        }
    }
}

/// [start, end) of a page in a list of `len`.
fn bounds(len: usize, offset: u64, limit: Option<u64>) -> (usize, usize) {
    let start = usize::try_from(offset).unwrap_or(usize::MAX).min(len);
    let end = match limit {
        Some(limit) => start.saturating_add(usize::try_from(limit).unwrap_or(usize::MAX)),
        None => len,
    };
    (start, end.min(len))
}

/// Order indexes kept at once (each is ~12 bytes per row).
const ORDER_INDEXES: usize = 4;
/// Positions kept for remembered searches, all terms together (4 bytes
/// each): at most twice as many as the list searched has rows, and never
/// more than 2 Mi (8 MiB). A term matching more is not remembered. Tests
/// keep few, so that they go through forgetting too.
const SEARCH_POSITIONS: usize = if cfg!(test) { 2000 } else { 2 << 20 };
/// Totals kept at once; past it the map starts over.
const TOTALS: usize = 256;

/// What lists remember between requests on one connection: order indexes,
/// totals, and the matches of recent searches (so that the next page of
/// the same search, or the same search again, reads only its page's rows). Everything is dropped as soon as the data may have changed:
/// this connection's own writes (`total_changes`) or another connection's
/// commit (`PRAGMA data_version`), checked on every use.
#[derive(Default)]
pub struct ListCache {
    state: RefCell<CacheState>,
}

#[derive(Default)]
struct CacheState {
    /// (data_version, total_changes) the contents were read at
    stamp: Option<(i64, u64)>,
    /// most recently used last; keyed by (FROM, order expression)
    orders: Vec<((&'static str, &'static str), Rc<OrderIndex>)>,
    totals: HashMap<String, i64>,
    /// most recently used last: the positions, in an order index, of the
    /// rows a term matches
    searches: Vec<(SearchKey, Rc<Vec<u32>>)>,
    /// positions held in `searches`
    search_positions: usize,
}

/// (FROM, order expression, search index, term)
type SearchKey = (&'static str, &'static str, &'static str, String);

impl ListCache {
    pub fn new() -> ListCache {
        ListCache::default()
    }

    /// Forgets everything if the data changed since it was read.
    fn check(&self, conn: &Connection) -> ApiResult<()> {
        let stamp = (super::data_version(conn)?, conn.total_changes());
        let mut state = self.state.borrow_mut();
        if state.stamp != Some(stamp) {
            state.orders.clear();
            state.totals.clear();
            state.searches.clear();
            state.search_positions = 0;
            state.stamp = Some(stamp);
        }
        Ok(())
    }

    fn order_index(
        &self,
        conn: &Connection,
        spec: &ListSpec,
        order: &'static str,
    ) -> ApiResult<Rc<OrderIndex>> {
        let key = (spec.from, order);
        {
            let mut state = self.state.borrow_mut();
            if let Some(at) = state.orders.iter().position(|(k, _)| *k == key) {
                let entry = state.orders.remove(at);
                let found = entry.1.clone();
                state.orders.push(entry);
                return Ok(found);
            }
        }
        let built = Rc::new(OrderIndex::build(conn, spec, order)?);
        let mut state = self.state.borrow_mut();
        if state.orders.len() >= ORDER_INDEXES {
            state.orders.remove(0);
        }
        state.orders.push((key, built.clone()));
        Ok(built)
    }

    /// The positions in `order` of the rows whose text holds `term`,
    /// ascending: remembered, or searched in `index` and remembered.
    fn matches(
        &self,
        conn: &Connection,
        spec: &ListSpec,
        order_expression: &'static str,
        index: &SearchIndex,
        term: &str,
        order: &OrderIndex,
    ) -> ApiResult<Rc<Vec<u32>>> {
        let key: SearchKey = (
            spec.from,
            order_expression,
            index.trigrams,
            term.to_string(),
        );
        {
            let mut state = self.state.borrow_mut();
            if let Some(at) = state.searches.iter().position(|(k, _)| *k == key) {
                let entry = state.searches.remove(at);
                let found = entry.1.clone();
                state.searches.push(entry);
                return Ok(found);
            }
        }
        let ids = search_ids(conn, index, term)?;
        let positions = Rc::new(order.positions_of(&ids));
        let bound = SEARCH_POSITIONS.min(2 * order.len().max(1024));
        if positions.len() <= bound {
            let mut state = self.state.borrow_mut();
            while state.search_positions + positions.len() > bound && !state.searches.is_empty() {
                let (_, oldest) = state.searches.remove(0);
                state.search_positions -= oldest.len();
            }
            state.search_positions += positions.len();
            state.searches.push((key, positions.clone()));
        }
        Ok(positions)
    }

    /// How many positions remembered searches hold (for tests).
    #[cfg(test)]
    pub(crate) fn remembered_search_positions(&self) -> (usize, usize) {
        let state = self.state.borrow();
        (state.searches.len(), state.search_positions)
    }

    fn total(
        &self,
        count_sql: &str,
        args: &[SqlValue],
        count: impl FnOnce() -> rusqlite::Result<i64>,
    ) -> rusqlite::Result<i64> {
        let key = format!("{count_sql}\u{1f}{args:?}");
        if let Some(total) = self.state.borrow().totals.get(&key) {
            return Ok(*total);
        }
        let total = count()?;
        let mut state = self.state.borrow_mut();
        if state.totals.len() >= TOTALS {
            state.totals.clear();
        }
        state.totals.insert(key, total);
        Ok(total)
    }
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
        covering: &[],
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

/// `fetch_indexed` against `fetch`, the plain SQL it must always agree with.
#[cfg(test)]
mod indexed_tests {
    use super::*;

    /// A list sorted by a case-insensitive name (many ties, NULLs, non-ASCII),
    /// by a number, or by an expression.
    const SPEC: ListSpec = ListSpec {
        from: "people",
        select: "id, name, age",
        columns: &[
            ("name", "name COLLATE NOCASE"),
            ("age", "age"),
            ("initial", "substr(name, 1, 1)"),
            ("id", "id"),
        ],
        default_order: "name",
        search_text: Some("lower(name)"),
        id: "id",
        covering: &[],
    };

    /// The same list, with indexes covering its SELECT in two of its orders
    /// (made by `table`).
    const COVERED: ListSpec = ListSpec {
        covering: &[
            Covering {
                order: "name COLLATE NOCASE",
                from: "people INDEXED BY people_by_name",
                key: "SELECT name FROM people WHERE id = ?1",
            },
            Covering {
                order: "age",
                from: "people INDEXED BY people_by_age",
                key: "SELECT age FROM people WHERE id = ?1",
            },
        ],
        ..SPEC
    };

    /// xorshift: reproducible data without a dependency
    struct Random(u64);

    impl Random {
        fn below(&mut self, bound: u64) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0 % bound
        }
    }

    const NAMES: &[&str] = &[
        "bob", "Bob", "BOB", "alice", "Ålice", "émile", "Émile", "zoë", "", "x",
    ];

    fn fill(conn: &Connection, random: &mut Random, count: usize) {
        let mut insert = conn
            .prepare("INSERT INTO people (name, age) VALUES (?1, ?2)")
            .expect("insert");
        for _ in 0..count {
            let name = match random.below(8) {
                0 => None,
                _ => Some(NAMES[random.below(NAMES.len() as u64) as usize].to_string()),
            };
            let age = match random.below(5) {
                0 => None,
                _ => Some(random.below(30) as i64),
            };
            insert.execute(rusqlite::params![name, age]).expect("row");
        }
    }

    fn table(path: Option<&std::path::Path>) -> Connection {
        let conn = match path {
            Some(path) => Connection::open(path).expect("file db"),
            None => Connection::open_in_memory().expect("memory db"),
        };
        conn.execute_batch(
            "PRAGMA journal_mode = WAL;
             CREATE TABLE IF NOT EXISTS people (id INTEGER PRIMARY KEY, name TEXT, age INTEGER);
             CREATE INDEX IF NOT EXISTS people_by_name ON people (name COLLATE NOCASE, id, age);
             CREATE INDEX IF NOT EXISTS people_by_age ON people (age, id, name);",
        )
        .expect("schema");
        conn
    }

    type Rows = (i64, Vec<(i64, Option<String>, Option<i64>)>);

    fn both(conn: &Connection, cache: &ListCache, pairs: &[(String, String)]) -> (Rows, Rows) {
        let query = ListQuery::parse(pairs, &SPEC).expect("valid query");
        let row = |row: &Row| Ok((row.get(0)?, row.get(1)?, row.get(2)?));
        let plain = fetch(conn, &SPEC, &query, None, row).expect("plain");
        let indexed = fetch_indexed(conn, cache, &SPEC, &query, None, None, row).expect("indexed");
        // read from the covering indexes where they apply: the same rows
        let covered =
            fetch_indexed(conn, cache, &COVERED, &query, None, None, row).expect("covered");
        assert_eq!(plain, covered, "through the covering indexes: {pairs:?}");
        (plain, indexed)
    }

    fn pairs(list: &[(&str, String)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    }

    /// A page in a covered order whose rows all have an order value is
    /// read whole from the index (nothing is left to read by id), and one
    /// that starts on NULLs is left to be read by id.
    #[test]
    fn a_page_in_a_covered_order_is_read_from_the_index() {
        let conn = table(None);
        fill(&conn, &mut Random(0xfeed), 400);
        let cache = ListCache::new();
        for (covering, column) in COVERED.covering.iter().zip(["name", "age"]) {
            let order = cache
                .order_index(&conn, &COVERED, covering.order)
                .expect("order index");
            let nulls: i64 = conn
                .query_row(
                    &format!("SELECT count(*) FROM people WHERE {column} IS NULL"),
                    [],
                    |r| r.get(0),
                )
                .expect("nulls");
            let nulls = nulls as usize;
            let valued = order.len() - nulls;
            for direction in [Direction::Asc, Direction::Desc] {
                // pages with values only: from the start going up, from
                // after the NULLs going down
                let first = match direction {
                    Direction::Asc => 0,
                    Direction::Desc => nulls,
                };
                // the page's ids, and what the covering read gives of them
                let covered = |offset: usize, limit: u64| {
                    let ids = order.page(direction, offset as u64, Some(limit));
                    let mut items: Vec<i64> = Vec::new();
                    read_covered(
                        &conn,
                        &COVERED,
                        covering,
                        direction,
                        &ids,
                        &mut items,
                        &mut |r| r.get(0),
                    )
                    .expect("read");
                    (ids, items)
                };
                for offset in [first, first + 1, first + 57, first + valued - 100] {
                    let (ids, items) = covered(offset, 100);
                    assert_eq!(items, ids, "{column} {direction:?} offset {offset}");
                }
                // a page starting on a NULL
                let offset = match direction {
                    Direction::Asc => valued,
                    Direction::Desc => 0,
                };
                let (_, items) = covered(offset, 10);
                assert!(
                    items.is_empty(),
                    "{column} {direction:?}: NULLs are read by id"
                );
            }
        }
    }

    #[test]
    fn pages_at_every_depth_are_what_sql_order_gives() {
        let conn = table(None);
        let mut random = Random(0x5eed);
        fill(&conn, &mut random, 700);
        // gaps in the ids, as deletes leave them
        conn.execute("DELETE FROM people WHERE id % 7 = 3", [])
            .expect("delete");
        let cache = ListCache::new();
        let total: i64 = conn
            .query_row("SELECT count(*) FROM people", [], |r| r.get(0))
            .expect("count");
        for order in ["name", "age", "initial", "id"] {
            for direction in ["asc", "desc"] {
                for offset in [0, 1, 99, total - 100, total - 1, total, total + 5] {
                    for limit in [None, Some(0), Some(1), Some(37), Some(100)] {
                        let mut list = vec![
                            ("order", order.to_string()),
                            ("direction", direction.to_string()),
                            ("offset", offset.max(0).to_string()),
                        ];
                        if let Some(limit) = limit {
                            list.push(("limit", limit.to_string()));
                        }
                        let (plain, indexed) = both(&conn, &cache, &pairs(&list));
                        assert_eq!(plain, indexed, "{list:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn filtered_and_searched_lists_keep_the_plain_answer() {
        let conn = table(None);
        fill(&conn, &mut Random(77), 300);
        let cache = ListCache::new();
        for list in [
            vec![("search", "bo".to_string())],
            vec![("search", "É".to_string()), ("limit", "3".to_string())],
            vec![("name", "bob".to_string()), ("offset", "2".to_string())],
        ] {
            // twice: the second answer comes with a remembered total
            for _ in 0..2 {
                let (plain, indexed) = both(&conn, &cache, &pairs(&list));
                assert_eq!(plain, indexed, "{list:?}");
            }
        }
    }

    #[test]
    fn what_is_remembered_follows_writes_from_here_and_from_elsewhere() {
        let dir = std::env::temp_dir().join(format!("xivo-list-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join("cache.db");
        for suffix in ["", "-wal", "-shm"] {
            std::fs::remove_file(format!("{}{suffix}", path.display())).ok();
        }
        let server = table(Some(&path));
        fill(&server, &mut Random(3), 50);
        let cache = ListCache::new();
        let everyone = pairs(&[("limit", "1000".to_string())]);
        let filtered = pairs(&[("name", "bob".to_string())]);
        let check = |what: &str| {
            for list in [&everyone, &filtered] {
                let (plain, indexed) = both(&server, &cache, list);
                assert_eq!(plain, indexed, "{what}: {list:?}");
            }
        };
        check("first read");
        // a write on this connection (with the caches warm)
        server
            .execute("INSERT INTO people (name, age) VALUES ('bob', 1)", [])
            .expect("own insert");
        check("after this connection's insert");
        server
            .execute("UPDATE people SET name = 'aaa' WHERE id = 1", [])
            .expect("own update");
        check("after this connection's update");
        // another connection (the CLI, another process) commits
        let other = table(Some(&path));
        other
            .execute("INSERT INTO people (name, age) VALUES ('bob', 2)", [])
            .expect("other insert");
        other
            .execute("DELETE FROM people WHERE id = 2", [])
            .expect("other delete");
        check("after another connection's commits");
        let (plain, _) = both(&server, &cache, &everyone);
        assert_eq!(plain.0, 51, "the other connection's rows are counted");
        drop((server, other));
        std::fs::remove_dir_all(&dir).ok();
    }
}
