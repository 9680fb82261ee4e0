//! `xivo-confd demo`: a small company in an empty database, so that an
//! offline demonstration box has something to show at first start.
//!
//! Everything goes through the route handlers, as requests from the box
//! itself would (every rule, hook and search index applies), in one
//! transaction: the whole company or nothing. `infos` records that it was
//! loaded; a second run changes nothing, and a database that already holds
//! data of its own is refused.

use crate::api::table;
use crate::config::Config;
use crate::db::list::ListCache;
use crate::handler::{Caller, Ctx};
use crate::http::{ApiRequest, ListenerKind, Method};
use crate::routes::{self, RouteHandler, Service};
use rusqlite::{Connection, OptionalExtension};
use serde_json::{Value, json};

/// How many users (each with a SIP line, an extension, a voicemail and a
/// phone) the company has.
pub const USERS: usize = 50;

/// The `infos` key recording the load.
const MARK: &str = "demo_loaded_at";

const FIRSTNAMES: &[&str] = &[
    "Alice",
    "Bruno",
    "Chloé",
    "David",
    "Emma",
    "François",
    "Gabrielle",
    "Hugo",
    "Inès",
    "Jules",
];
const LASTNAMES: &[&str] = &["Martin", "Bernard", "Dubois", "Leroy", "Moreau"];
const DEPARTMENTS: &[&str] = &["Sales", "Support", "Accounting", "Direction", "Logistics"];

/// Loads the company unless it is there already; what it did, in a line.
pub fn load(conn: &Connection, config: &Config) -> Result<String, String> {
    let loaded: Option<String> = conn
        .query_row("SELECT value FROM infos WHERE key = ?1", [MARK], |row| {
            row.get(0)
        })
        .optional()
        .map_err(|e| e.to_string())?;
    if let Some(when) = loaded {
        return Ok(format!(
            "the demo company is already loaded (since {when}): nothing changed"
        ));
    }
    let users: i64 = conn
        .query_row("SELECT count(*) FROM users", [], |row| row.get(0))
        .map_err(|e| e.to_string())?;
    if users > 0 {
        return Err(format!(
            "the database already holds {users} users: the demo fills an empty database only"
        ));
    }
    conn.execute_batch("BEGIN IMMEDIATE")
        .map_err(|e| format!("cannot start a transaction: {e}"))?;
    let mut api = Dispatcher {
        conn,
        config,
        lists: ListCache::new(),
    };
    let outcome = company(&mut api).and_then(|summary| {
        conn.execute(
            "INSERT INTO infos (key, value) VALUES (?1, ?2)",
            [MARK, &format!("{}Z", date_time(crate::db::now() as i64))],
        )
        .map_err(|e| e.to_string())?;
        Ok(summary)
    });
    match outcome {
        Ok(summary) => {
            conn.execute_batch("COMMIT")
                .map_err(|e| format!("cannot commit the demo: {e}"))?;
            Ok(summary)
        }
        Err(error) => {
            conn.execute_batch("ROLLBACK").ok();
            Err(format!("the demo was not loaded: {error}"))
        }
    }
}

fn company(api: &mut Dispatcher) -> Result<String, String> {
    // the stock default context gets numbers for groups, queues and rooms
    let context = api.get("/1.1/contexts?name=default")?["items"][0]["id"]
        .as_i64()
        .ok_or("the stock context 'default' is missing")?;
    api.call(
        Method::Put,
        &format!("/1.1/contexts/{context}"),
        Some(json!({
            "group_ranges": [{"start": "2000", "end": "2099"}],
            "queue_ranges": [{"start": "3000", "end": "3099"}],
            "conference_room_ranges": [{"start": "4000", "end": "4099"}],
        })),
    )?;
    let plugin = "xivo-aastra-4.3";
    api.create(
        "/1.1/devices/plugins",
        json!({"name": plugin, "version": "4.3"}),
    )?;

    let mut users = Vec::with_capacity(USERS);
    for index in 0..USERS {
        users.push(person(api, index, plugin)?);
    }

    let sales = api.create("/1.1/groups", json!({"name": "sales"}))?;
    number(api, "groups", sales, "2000")?;
    let support = api.create(
        "/1.1/queues",
        json!({"name": "support", "label": "Support"}),
    )?;
    number(api, "queues", support, "3000")?;
    for agent in 1..=5 {
        let (firstname, lastname) = name_of(agent);
        let agent_id = api.create(
            "/1.1/agents",
            json!({"number": format!("80{agent:02}"), "firstname": firstname, "lastname": lastname}),
        )?;
        api.call(
            Method::Post,
            &format!("/1.1/queues/{support}/members/agents"),
            Some(json!({"agent_id": agent_id, "penalty": agent % 2})),
        )?;
    }
    let room = api.create(
        "/1.1/conferences",
        json!({"name": "All hands", "pin": "4242"}),
    )?;
    number(api, "conferences", room, "4000")?;
    api.create("/1.1/pagings", json!({"number": "900", "name": "Everyone"}))?;

    // the director's calls go through the assistant first
    let filter = api.create(
        "/1.1/callfilters",
        json!({"name": "director", "strategy": "all-surrogates-then-all-recipients", "source": "all"}),
    )?;
    api.call(
        Method::Put,
        &format!("/1.1/callfilters/{filter}/recipients/users"),
        Some(json!({"users": [{"id": users[0]}]})),
    )?;
    api.call(
        Method::Put,
        &format!("/1.1/callfilters/{filter}/surrogates/users"),
        Some(json!({"users": [{"id": users[1]}]})),
    )?;

    // one set of keys for everybody: the first colleagues, the group, the queue
    let mut keys = serde_json::Map::new();
    for (position, user) in users.iter().take(4).enumerate() {
        keys.insert(
            (position + 1).to_string(),
            json!({"blf": true, "destination": {"type": "user", "user_id": user}}),
        );
    }
    keys.insert(
        "5".into(),
        json!({"label": "Sales", "destination": {"type": "group", "group_id": sales}}),
    );
    keys.insert(
        "6".into(),
        json!({"label": "Support", "destination": {"type": "queue", "queue_id": support}}),
    );
    keys.insert(
        "7".into(),
        json!({"label": "Parking", "destination": {"type": "parking"}}),
    );
    let template = api.create(
        "/1.1/funckeys/templates",
        json!({"name": "Office", "keys": keys}),
    )?;
    for user in &users {
        api.call(
            Method::Put,
            &format!("/1.1/users/{user}/funckeys/templates/{template}"),
            None,
        )?;
    }

    let calls = call_logs(crate::db::now());
    let loaded = api.call_csv("/1.1/call_logs", &calls)?;
    Ok(format!(
        "loaded the demo company: {USERS} users with SIP lines, extensions 1000-{}, \
         voicemails and phones; a group (2000), a queue (3000) with 5 agents, a \
         conference room (4000), a paging (900), a call filter, function keys, \
         and {} call logs",
        1000 + USERS - 1,
        loaded["created"]
    ))
}

fn name_of(index: usize) -> (&'static str, &'static str) {
    (
        FIRSTNAMES[index % FIRSTNAMES.len()],
        LASTNAMES[(index / FIRSTNAMES.len()) % LASTNAMES.len()],
    )
}

/// A user with a SIP line on extension 1000 + index, a voicemail of the
/// same number and a phone carrying the line; returns the user's id.
fn person(api: &mut Dispatcher, index: usize, plugin: &str) -> Result<i64, String> {
    let (firstname, lastname) = name_of(index);
    let exten = (1000 + index).to_string();
    let login = format!(
        "{}.{}",
        ascii_lowercase(firstname),
        ascii_lowercase(lastname)
    );
    let user = api.create(
        "/1.1/users",
        json!({
            "firstname": firstname,
            "lastname": lastname,
            "username": login,
            "language": "fr_FR",
            "description": DEPARTMENTS[index % DEPARTMENTS.len()],
            "mobile_phone_number": format!("+3361{:07}", 1_000_000 + index),
        }),
    )?;
    // no secret given: the server makes up one of its own for the endpoint
    let sip = api.create(
        "/1.1/endpoints/sip",
        json!({"username": format!("demo{exten}")}),
    )?;
    let line = api.create("/1.1/lines", json!({"context": "default"}))?;
    api.call(
        Method::Put,
        &format!("/1.1/lines/{line}/endpoints/sip/{sip}"),
        None,
    )?;
    let extension = api.create(
        "/1.1/extensions",
        json!({"exten": exten, "context": "default"}),
    )?;
    api.call(
        Method::Post,
        &format!("/1.1/lines/{line}/extensions"),
        Some(json!({"extension_id": extension})),
    )?;
    api.call(
        Method::Post,
        &format!("/1.1/users/{user}/lines"),
        Some(json!({"line_id": line})),
    )?;
    let voicemail = api.create(
        "/1.1/voicemails",
        json!({"name": format!("{firstname} {lastname}"), "number": exten, "context": "default",
               "language": "fr_FR", "timezone": "eu-fr"}),
    )?;
    api.call(
        Method::Post,
        &format!("/1.1/users/{user}/voicemail"),
        Some(json!({"voicemail_id": voicemail})),
    )?;
    let device = api.call(
        Method::Post,
        "/1.1/devices",
        Some(json!({
            "mac": format!("00:08:5d:00:{:02x}:{:02x}", index / 256, index % 256),
            "ip": format!("10.0.1.{}", 10 + index),
            "vendor": "Aastra", "model": "6731i", "plugin": plugin,
            "description": format!("{firstname} {lastname}'s desk phone"),
        })),
    )?;
    let device = device["id"]
        .as_str()
        .ok_or("POST /1.1/devices: no id")?
        .to_string();
    api.call(
        Method::Get,
        &format!("/1.1/devices/{device}/associate_line/{line}"),
        None,
    )?;
    Ok(user)
}

fn ascii_lowercase(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            'é' | 'è' => 'e',
            'ç' => 'c',
            other => other.to_ascii_lowercase(),
        })
        .filter(char::is_ascii_alphanumeric)
        .collect()
}

/// Gives a group, a queue or a room its number.
fn number(api: &mut Dispatcher, collection: &str, owner: i64, exten: &str) -> Result<(), String> {
    let extension = api.create(
        "/1.1/extensions",
        json!({"exten": exten, "context": "default"}),
    )?;
    api.call(
        Method::Put,
        &format!("/1.1/{collection}/{owner}/extensions/{extension}"),
        None,
    )?;
    Ok(())
}

/// A week of calls between the users, ending `now`, as the CSV of
/// `/1.1/call_logs`: the same calls every time (a fixed sequence).
fn call_logs(now: f64) -> String {
    let mut csv = String::from("Call Date,Caller,Called,Period,user Field\r\n");
    let mut seed: u64 = 20_151_120;
    let mut next = |bound: u64| {
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (seed >> 33) % bound
    };
    let week = 7 * 24 * 3600;
    for call in 0..200u64 {
        let when = now as i64 - week + (call * week as u64 / 200) as i64 + next(600) as i64;
        let caller = next(USERS as u64) as usize;
        let called = (caller + 1 + next(USERS as u64 - 1) as usize) % USERS;
        let (firstname, lastname) = name_of(caller);
        csv.push_str(&format!(
            "{},{firstname} {lastname} ({}),{},{},\r\n",
            date_time(when),
            1000 + caller,
            1000 + called,
            5 + next(900)
        ));
    }
    csv
}

/// `YYYY-MM-DDTHH:MM:SS` (UTC) of a Unix time.
fn date_time(seconds: i64) -> String {
    let days = seconds.div_euclid(86_400);
    let time = seconds.rem_euclid(86_400);
    // civil date from days since 1970-01-01 (Howard Hinnant's algorithm)
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}",
        time / 3600,
        time % 3600 / 60,
        time % 60
    )
}

/// Calls route handlers in-process, as the worker does for a request from
/// the box itself, inside the caller's transaction.
struct Dispatcher<'a> {
    conn: &'a Connection,
    config: &'a Config,
    lists: ListCache,
}

impl Dispatcher<'_> {
    fn get(&mut self, path: &str) -> Result<Value, String> {
        self.call(Method::Get, path, None)
    }

    fn create(&mut self, path: &str, body: Value) -> Result<i64, String> {
        let created = self.call(Method::Post, path, Some(body))?;
        created["id"]
            .as_i64()
            .ok_or_else(|| format!("POST {path}: no id in {created}"))
    }

    fn call(&mut self, method: Method, path: &str, body: Option<Value>) -> Result<Value, String> {
        let body = match body {
            Some(body) => serde_json::to_vec(&body).map_err(|e| e.to_string())?,
            None => Vec::new(),
        };
        self.send(method, path, "application/json", body)
    }

    fn call_csv(&mut self, path: &str, csv: &str) -> Result<Value, String> {
        self.send(Method::Post, path, "text/csv", csv.as_bytes().to_vec())
    }

    fn send(
        &mut self,
        method: Method,
        target: &str,
        content_type: &str,
        body: Vec<u8>,
    ) -> Result<Value, String> {
        let (path, query) = crate::http::split_target(target);
        let request = ApiRequest {
            query,
            content_type: Some(content_type.into()),
            host: Some("127.0.0.1".into()),
            body,
            peer: Some(std::net::Ipv4Addr::LOCALHOST.into()),
            listener: ListenerKind::Http,
            ..ApiRequest::new(method, &path)
        };
        let failed = |message: String| format!("{} {target}: {message}", method.as_str());
        let (route, params) = routes::find(table(), Service::Confd, method, &request.path)
            .map_err(|e| failed(e.message()))?;
        let RouteHandler::Confd(handler) = route.handler else {
            return Err(failed("not a confd route".into()));
        };
        let mut ctx = Ctx {
            conn: self.conn,
            request: &request,
            params,
            base_url: "http://127.0.0.1".into(),
            caller: Caller::Loopback,
            config: self.config,
            lists: &self.lists,
        };
        let response = handler(&mut ctx).map_err(|e| failed(e.message()))?;
        if response.status >= 400 {
            return Err(failed(String::from_utf8_lossy(&response.body).into_owned()));
        }
        // as the worker ends each write: the search entries of what changed
        if method.writes() {
            crate::db::search::catch_up(self.conn).map_err(|e| failed(e.to_string()))?;
        }
        let body = response.into_body().map_err(|e| failed(e.to_string()))?;
        if body.is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_slice(&body).map_err(|e| failed(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_civil_utc() {
        assert_eq!(date_time(0), "1970-01-01T00:00:00");
        assert_eq!(date_time(1_448_000_000), "2015-11-20T06:13:20");
        assert_eq!(date_time(951_782_400), "2000-02-29T00:00:00");
    }
}
