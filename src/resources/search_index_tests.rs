//! The search indexes of lines, extensions and voicemails (schema step 5)
//! held to the plain scan of each list's `search_text`, on random non-ASCII
//! data, after every kind of change their triggers follow, and on a
//! database that had rows before the step (the migration fills them).

use super::extensions::EXTENSIONS;
use super::lines::{LINES, LINES_SIP};
use super::resource::Resource;
use super::test_data::{Database, Random};
use super::voicemails::VOICEMAILS;
use crate::db::list::{ListCache, ListQuery, fetch, fetch_indexed};
use rusqlite::{Connection, Row};

/// ASCII, accents, letters whose folding is special (İ folds to two
/// characters, Σ to σ or ς), wide ones, the separator, quotes and the
/// control characters the index keeps apart.
const ALPHABET: &[&str] = &[
    "a", "B", "e", "O", "n", " ", "É", "ø", "ß", "İ", "Σ", "ς", "東", "🎉", "\n", "\"", "'", "\\",
    "*", "-", "\t", "\0", "\u{1}", "\u{2}", "1", "0",
];

fn text(random: &mut Random, length: usize) -> String {
    super::test_data::text(random, ALPHABET, length)
}

fn temp_dir(name: &str) -> std::path::PathBuf {
    super::test_data::temp_dir("xivo-lists", name)
}

fn database(name: &str) -> Database {
    Database::new("xivo-lists", name)
}

const CONTEXTS: &[&str] = &["default", "to-extern", "Ünïcode-Σ"];

/// Random rows in the three tables (and SIP/SCCP endpoints for lines),
/// written directly: any text the columns accept, not only valid ones.
fn fill(conn: &Connection, random: &mut Random, first: usize, count: usize) {
    conn.execute(
        "INSERT OR IGNORE INTO contexts (name) VALUES (?1)",
        [CONTEXTS[2]],
    )
    .expect("context");
    for number in first..first + count {
        let context = CONTEXTS[random.below(CONTEXTS.len())];
        let length = random.below(12);
        conn.execute(
            "INSERT INTO voicemails (name, number, context, email) VALUES (?1, ?2, ?3, ?4)",
            rusqlite::params![
                text(random, length),
                format!("{}{}", text(random, 2), number),
                context,
                (random.below(3) > 0).then(|| text(random, 6)),
            ],
        )
        .expect("voicemail");
        conn.execute(
            "INSERT INTO extensions (exten, context) VALUES (?1, ?2)",
            rusqlite::params![format!("{}{number}", text(random, 3)), context],
        )
        .expect("extension");
        let (sip, sccp) = match random.below(3) {
            0 => {
                conn.execute(
                    "INSERT INTO endpoints_sip (username, secret) VALUES (?1, 's')",
                    [format!("{}{number}", text(random, 5))],
                )
                .expect("sip");
                (Some(conn.last_insert_rowid()), None)
            }
            1 => {
                conn.execute("INSERT INTO endpoints_sccp DEFAULT VALUES", [])
                    .expect("sccp");
                (None, Some(conn.last_insert_rowid()))
            }
            _ => (None, None),
        };
        let position = 1 + random.below(20) as i64;
        let code = format!("{}{number}", text(random, 2));
        let device = (random.below(2) > 0).then(|| text(random, 4));
        // from step 10 a line names an existing device (before, any text)
        let has_devices: bool = conn
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM sqlite_schema WHERE name = 'devices')",
                [],
                |r| r.get(0),
            )
            .expect("schema");
        if has_devices {
            conn.execute(
                "INSERT INTO devices (public_id) SELECT ?1 WHERE ?1 IS NOT NULL \
                 AND NOT EXISTS (SELECT 1 FROM devices WHERE public_id = ?1)",
                [&device],
            )
            .expect("device");
        }
        conn.execute(
            "INSERT INTO lines (context, position, provisioning_code, device_id, \
             endpoint_sip_id, endpoint_sccp_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            rusqlite::params![context, position, code, device, sip, sccp],
        )
        .expect("line");
    }
}

/// Terms: pieces of the stored texts, random strings and edge cases.
fn terms(conn: &Connection, resource: &Resource, random: &mut Random) -> Vec<String> {
    let search = resource.list_spec().search_text.expect("searchable");
    let texts: Vec<String> = conn
        .prepare(&format!(
            "SELECT {search} FROM {}",
            resource.list_spec().from
        ))
        .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
        .expect("texts");
    let seeds = [
        "\n", "\n\n", "\"", "\"\"", "e\"", "É", "ΣΑ", "İ", "\0", "a\u{1}", "1", "00", "sip", "sccp",
    ];
    super::test_data::terms(&texts, &seeds, random, ALPHABET, 120)
}

fn agree(conn: &Connection, resource: &Resource, terms: &[String], what: &str) {
    let index = resource.search_index.as_ref().expect("an index");
    let what = format!("{} {what}", resource.name);
    super::test_data::index_agrees(
        conn,
        &ListCache::new(),
        resource.list_spec(),
        index,
        terms,
        &what,
    );
}

const RESOURCES: [&Resource; 4] = [&VOICEMAILS, &LINES, &LINES_SIP, &EXTENSIONS];

fn agree_all(conn: &Connection, random: &mut Random, what: &str) {
    for resource in RESOURCES {
        let terms = terms(conn, resource, random);
        agree(conn, resource, &terms, what);
    }
}

#[test]
fn the_search_indexes_agree_with_a_plain_scan() {
    let conn = database("agree");
    let mut random = Random(0x0dd_ba11);
    fill(&conn, &mut random, 0, 300);
    agree_all(&conn, &mut random, "as made");

    // every kind of change the triggers follow
    conn.execute_batch(
        "UPDATE voicemails SET name = name || 'ßÉ' WHERE id % 5 = 0;
         UPDATE voicemails SET email = NULL WHERE id % 7 = 0;
         UPDATE voicemails SET number = number || 'Σ' WHERE id % 4 = 1;
         DELETE FROM voicemails WHERE id % 11 = 0;
         UPDATE extensions SET exten = exten || '9İ' WHERE id % 2 = 0;
         DELETE FROM extensions WHERE id % 13 = 0;
         INSERT INTO devices (public_id) SELECT 'Dev' || id FROM lines WHERE id % 3 = 0;
         UPDATE lines SET device_id = 'Dev' || id WHERE id % 3 = 0;
         UPDATE lines SET position = position + 7, provisioning_code = provisioning_code || 'x'
             WHERE id % 5 = 2;
         DELETE FROM lines WHERE id % 17 = 0;
         UPDATE endpoints_sip SET username = username || 'ÜSER' WHERE id % 2 = 1;
         DELETE FROM endpoints_sip WHERE id % 9 = 0;
         DELETE FROM endpoints_sccp WHERE id % 4 = 0;
         UPDATE contexts SET name = 'Renamed-Ø' WHERE name = 'to-extern';
         INSERT INTO contexts (name) VALUES ('to-extern');",
    )
    .expect("changes");
    // a line moved to a new SIP endpoint, and one to an SCCP endpoint
    conn.execute_batch(
        "INSERT INTO endpoints_sip (username, secret) VALUES ('NewÉndpoint', 's');
         UPDATE lines SET endpoint_sccp_id = NULL,
             endpoint_sip_id = (SELECT max(id) FROM endpoints_sip)
             WHERE id = (SELECT min(id) FROM lines);
         INSERT INTO endpoints_sccp DEFAULT VALUES;
         UPDATE lines SET endpoint_sip_id = NULL,
             endpoint_sccp_id = (SELECT max(id) FROM endpoints_sccp)
             WHERE id = (SELECT max(id) FROM lines);",
    )
    .expect("endpoints moved");
    fill(&conn, &mut random, 300, 50);
    // written on this connection without the server's catch-up: the noted
    // objects are read through the source views
    agree_all(&conn, &mut random, "after changes, not indexed yet");
    crate::db::search::catch_up(&conn).expect("caught up");
    assert!(!crate::db::search::pending(&conn).expect("pending"));
    agree_all(&conn, &mut random, "after changes, indexed");
}

/// Searches remembered by one cache (the worker's): the same terms again,
/// on other pages and going down, after writes on this connection (with
/// the server's catch-up) and another's (without), answer what the scan
/// answers; and the cache holds no more than its bound, forgetting the
/// oldest.
#[test]
fn remembered_searches_follow_writes_and_keep_the_plain_answer() {
    let conn = database("remembered");
    let mut random = Random(0x5ea7c4);
    fill(&conn, &mut random, 0, 200);
    let cache = ListCache::new();
    let spec = VOICEMAILS.list_spec();
    let index = VOICEMAILS.search_index.as_ref().expect("an index");
    let pages: [&[(&str, &str)]; 4] = [
        &[],
        &[("offset", "1"), ("limit", "2")],
        &[("direction", "desc"), ("limit", "3")],
        &[("order", "email"), ("offset", "4"), ("limit", "10")],
    ];
    let check = |terms: &[String], what: &str| {
        for term in terms {
            for page in pages {
                let mut params = vec![("search".to_string(), term.clone())];
                params.extend(page.iter().map(|(k, v)| (k.to_string(), v.to_string())));
                let query = ListQuery::parse(&params, spec).expect("query");
                let id = |row: &Row| row.get::<_, i64>(0);
                let plain = fetch(&conn, spec, &query, None, id).expect("plain");
                let indexed = fetch_indexed(&conn, &cache, spec, &query, None, Some(index), id)
                    .expect("indexed");
                assert_eq!(plain, indexed, "{what}: {term:?} {page:?}");
            }
        }
        let (searches, positions) = cache.remembered_search_positions();
        assert!(searches > 0, "{what}: searches are remembered");
        assert!(positions <= 2000, "{what}: {positions} positions kept");
    };
    // a few terms (some matching every row: the separator), remembered
    // whole, asked again after each write
    let mut few: Vec<String> = terms(&conn, &VOICEMAILS, &mut random)
        .into_iter()
        .take(6)
        .collect();
    few.extend(["\n", "zq", "a", "e"].map(String::from));
    check(&few, "as made");
    check(&few, "again");
    conn.execute_batch(
        "UPDATE voicemails SET name = name || 'zq' WHERE id % 3 = 0;
         DELETE FROM voicemails WHERE id % 7 = 0;",
    )
    .expect("own writes");
    crate::db::search::catch_up(&conn).expect("caught up");
    check(&few, "after this connection's writes");
    let other = Connection::open(conn.path()).expect("another connection");
    other
        .execute_batch(
            "UPDATE voicemails SET email = 'zq@other' WHERE id % 5 = 1;
             DELETE FROM voicemails WHERE id % 4 = 0;
             INSERT INTO voicemails (name, number, context) VALUES ('zq new', '999', 'default');",
        )
        .expect("another connection's writes");
    check(&few, "after another connection's writes");
    // many terms: more than the cache holds, the oldest forgotten
    let many = terms(&conn, &VOICEMAILS, &mut random);
    check(&many, "many terms");
    check(&few, "the first terms again");
}

#[test]
fn rows_made_before_the_step_are_indexed_by_it() {
    let dir = temp_dir("migrate");
    let path = dir.join("old.db");
    let schema = include_str!("../../schema.sql");
    let step5 = schema.find("\n-- step 5").expect("step 5");
    {
        let conn = Connection::open(&path).expect("raw open");
        crate::db::configure_for_tests(&conn);
        conn.execute_batch(&schema[..step5]).expect("steps 1-4");
        conn.pragma_update(None, "user_version", 4)
            .expect("version");
        fill(&conn, &mut Random(99), 0, 120);
    }
    let conn = crate::db::open(&path).expect("migrates");
    let mut random = Random(7);
    agree_all(&conn, &mut random, "migrated");
    let indexed: i64 = conn
        .query_row(
            "SELECT (SELECT count(*) FROM voicemail_search_pairs) \
             + (SELECT count(*) FROM voicemail_search_unindexed)",
            [],
            |r| r.get(0),
        )
        .expect("count");
    assert_eq!(indexed, 120);
    // step 10: what the lines named became devices, each line still on its own
    let (named, devices, dangling): (i64, i64, i64) = conn
        .query_row(
            "SELECT (SELECT count(DISTINCT device_id) FROM lines WHERE device_id <> ''), \
             (SELECT count(*) FROM devices), \
             (SELECT count(*) FROM lines WHERE device_id IS NOT NULL \
              AND device_id NOT IN (SELECT public_id FROM devices))",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .expect("devices");
    assert!(named > 10, "the fill names devices: {named}");
    assert_eq!((devices, dangling), (named, 0));
    drop(conn);
    std::fs::remove_dir_all(&dir).ok();
}

/// The scan of the unindexed texts reads only those: by id, never the
/// whole source view (which computes every row's text).
#[test]
fn the_unindexed_texts_are_read_by_id() {
    let conn = database("plans");
    fill(&conn, &mut Random(5), 0, 50);
    for resource in RESOURCES {
        let index = resource.search_index.as_ref().expect("an index");
        let sql = format!(
            "EXPLAIN QUERY PLAN SELECT source.id FROM {} AS unindexed CROSS JOIN {} AS source \
             ON source.id = unindexed.id WHERE instr(source.text, ?1) > 0",
            index.unindexed, index.source
        );
        let plan: Vec<String> = conn
            .prepare(&sql)
            .and_then(|mut s| s.query_map(["x"], |r| r.get(3))?.collect())
            .expect("plan");
        assert_eq!(plan[0], "SCAN unindexed", "{}: {plan:?}", resource.name);
        assert!(
            plan[1..].iter().all(|step| step.starts_with("SEARCH")),
            "{}: {plan:?}",
            resource.name
        );
        // the objects not indexed yet: each read by its id
        let sql = format!(
            "EXPLAIN QUERY PLAN SELECT id FROM {} WHERE id = ?1 AND instr(text, ?2) > 0",
            index.source
        );
        let plan: Vec<String> = conn
            .prepare(&sql)
            .and_then(|mut s| s.query_map([&"1", &"x"], |r| r.get(3))?.collect())
            .expect("plan");
        assert!(
            plan.iter().all(|step| step.starts_with("SEARCH")),
            "{}: {plan:?}",
            resource.name
        );
    }
}

/// A database made before this session's steps (steps 1-3 as they landed,
/// the users' index kept by triggers calling casefold and using SQLite
/// 3.43-3.44 features) gets the new indexes, every object in them, and the
/// same answers; writes with no casefold around (another program's) are
/// followed after.
#[test]
fn a_database_at_the_landed_step_3_gets_indexes_any_sqlite_can_write() {
    let dir = temp_dir("step3");
    let path = dir.join("old.db");
    let landed = include_str!("../../tests/fixtures/schema-as-landed-steps-1-3.sql");
    let mut random = Random(42);
    let names: Vec<String> = (0..80)
        .map(|_| {
            let length = 1 + random.below(12);
            text(&mut random, length)
        })
        .collect();
    {
        let conn = Connection::open(&path).expect("raw open");
        crate::db::configure_for_tests(&conn);
        conn.execute_batch(landed).expect("steps 1-3 as landed");
        conn.pragma_update(None, "user_version", 3)
            .expect("version");
        for (index, name) in names.iter().enumerate() {
            conn.execute(
                "INSERT INTO users (uuid, firstname, search_text) VALUES (?1, ?2, casefold(?2))",
                rusqlite::params![format!("u-{index}"), name],
            )
            .expect("user at step 3");
        }
        conn.execute_batch(
            "INSERT INTO extensions (exten, context) VALUES ('1234', 'default'), ('4321', 'default');",
        )
        .expect("extensions at step 3");
    }
    let conn = crate::db::open(&path).expect("migrates");
    let version: i64 = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .expect("version");
    assert_eq!(version as usize, crate::db::schema_steps());
    assert!(!crate::db::search::pending(&conn).expect("pending"));
    let users: i64 = conn
        .query_row(
            "SELECT (SELECT count(*) FROM user_search_pairs) \
             + (SELECT count(*) FROM user_search_unindexed)",
            [],
            |r| r.get(0),
        )
        .expect("count");
    assert_eq!(users, names.len() as i64, "every user is in the new index");
    users_agree(&conn, &names, "migrated from step 3");
    fill(&conn, &mut random, 0, 120);
    crate::db::search::catch_up(&conn).expect("caught up");
    let mut random = Random(8);
    agree_all(&conn, &mut random, "migrated from step 3");
    drop(conn);
    // a connection without casefold writes every searched table
    {
        let other = Connection::open(&path).expect("plain connection");
        other
            .execute_batch(
                "UPDATE voicemails SET name = 'Zébulon' WHERE id = 1;
                 UPDATE extensions SET exten = exten || '77' WHERE id % 2 = 0;
                 INSERT INTO devices (public_id) SELECT 'plain' || id FROM lines WHERE id % 3 = 0;
                 UPDATE lines SET device_id = 'plain' || id WHERE id % 3 = 0;
                 UPDATE users SET firstname = 'Plainwrite' WHERE id = 3;
                 DELETE FROM voicemails WHERE id = 2;",
            )
            .expect("writes without casefold");
    }
    let conn = crate::db::open(&path).expect("reopens");
    agree_all(&conn, &mut random, "after another program's writes");
    let mut names = names;
    names[2] = "Plainwrite".into();
    users_agree(&conn, &names, "after another program's writes");
    drop(conn);
    std::fs::remove_dir_all(&dir).ok();
}

/// The users' search through its index answers what a scan answers, for
/// pieces of the users' own names.
fn users_agree(conn: &Connection, names: &[String], what: &str) {
    use crate::resources::users::LIST;
    let cache = ListCache::new();
    let id = |row: &Row| row.get::<_, i64>(0);
    for name in names.iter().take(30) {
        let term: String = name.chars().take(3).collect();
        let params = vec![("search".to_string(), term.clone())];
        let query = ListQuery::parse(&params, &LIST).expect("query");
        let plain = fetch(conn, &LIST, &query, None, id).expect("plain");
        let indexed = fetch_indexed(
            conn,
            &cache,
            &LIST,
            &query,
            None,
            Some(&crate::db::search::USERS),
            id,
        )
        .expect("indexed");
        assert_eq!(indexed, plain, "{what}: search {term:?}");
    }
}
