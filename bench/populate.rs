//! The bench database, made through the product's own code: each object is
//! created by the same route handler a `POST` reaches (validation, caller id
//! default, search text, associations), called in-process in large
//! transactions, so 100,000 users take seconds instead of 100,000 fsyncs.

use rusqlite::Connection;
use serde_json::{Value, json};
use xivo_confd::api::table;
use xivo_confd::auth::{Caller, Gate};
use xivo_confd::config::Config;
use xivo_confd::db::list::ListCache;
use xivo_confd::http::{ApiRequest, ListenerKind, Method};
use xivo_confd::resources::Ctx;
use xivo_confd::routes::{self, RouteHandler, Service};

use crate::load::Random;

const FIRSTNAMES: &[&str] = &[
    "Jean",
    "Marie",
    "Pierre",
    "Sophie",
    "Nicolas",
    "Isabelle",
    "Julien",
    "Nathalie",
    "Thomas",
    "Camille",
    "Antoine",
    "Claire",
    "Mathieu",
    "Julie",
    "Olivier",
    "Aurélie",
    "François",
    "Élodie",
    "Jérôme",
    "Hélène",
    "Sébastien",
    "Céline",
    "Stéphane",
    "Valérie",
    "Laurent",
    "Sandrine",
    "Christophe",
    "Émilie",
    "David",
    "Anne",
    "Michel",
    "Laure",
    "Philippe",
    "Chloé",
    "Patrick",
    "Léa",
    "Alain",
    "Manon",
    "Bernard",
    "Zoë",
    "Søren",
    "Łukasz",
    "Björn",
    "Ana",
    "José",
    "María",
    "Giulia",
    "Lorenzo",
    "Hans",
    "Greta",
    "Ahmed",
    "Fatima",
    "Mohamed",
    "Yasmine",
    "Wei",
    "Mei",
    "Hiroshi",
    "Yuki",
    "Olga",
    "Dmitri",
    "Ingrid",
    "Lars",
    "Siobhán",
    "Seán",
    "Kevin",
    "Laura",
    "Robert",
    "Sarah",
    "Daniel",
    "Emma",
    "Lucas",
    "Louise",
    "Hugo",
    "Alice",
    "Arthur",
    "Jade",
    "Louis",
    "Rose",
    "Gabriel",
    "Inès",
    "Raphaël",
    "Lina",
    "Noé",
    "Ambre",
];

const LASTNAMES: &[&str] = &[
    "Martin",
    "Bernard",
    "Dubois",
    "Thomas",
    "Robert",
    "Richard",
    "Petit",
    "Durand",
    "Leroy",
    "Moreau",
    "Simon",
    "Laurent",
    "Lefebvre",
    "Michel",
    "Garcia",
    "David",
    "Bertrand",
    "Roux",
    "Vincent",
    "Fournier",
    "Morel",
    "Girard",
    "André",
    "Lefèvre",
    "Mercier",
    "Dupont",
    "Lambert",
    "Bonnet",
    "François",
    "Martinez",
    "Legrand",
    "Garnier",
    "Faure",
    "Rousseau",
    "Blanc",
    "Guérin",
    "Muller",
    "Henry",
    "Roussel",
    "Nicolas",
    "Perrin",
    "Morin",
    "Mathieu",
    "Clément",
    "Gauthier",
    "Dumont",
    "Lopez",
    "Fontaine",
    "Chevalier",
    "Robin",
    "Masson",
    "Sánchez",
    "Gérard",
    "Nguyen",
    "Boyer",
    "Denis",
    "Lemaire",
    "Duval",
    "Joly",
    "Gautier",
    "Roger",
    "Roche",
    "Roy",
    "Noël",
    "Meyer",
    "Lucas",
    "Meunier",
    "Jean",
    "Pérez",
    "Marchand",
    "Dufour",
    "Blanchard",
    "Barbier",
    "Brun",
    "Dumas",
    "Brunet",
    "Schmitt",
    "Leroux",
    "Colin",
    "Fernandez",
    "Pierre",
    "Renard",
    "Arnaud",
    "Rolland",
    "Caron",
    "Aubert",
    "Giraud",
    "Leclerc",
    "Vidal",
    "Bourgeois",
    "Renaud",
    "Lemoine",
    "Picard",
    "Gaillard",
    "Philippe",
    "Leclercq",
    "Lacroix",
    "Fabre",
    "Dupuis",
    "Olivier",
    "Rodriguez",
    "Da Silva",
    "Hubert",
    "Louis",
    "Charles",
    "Guillot",
    "Rivière",
    "Le Gall",
    "Guillaume",
    "Adam",
    "Rey",
    "Moulin",
    "Gonzalez",
    "Berger",
    "Lecomte",
    "Ménard",
    "Fleury",
    "Deschamps",
    "Carpentier",
    "Julien",
    "Benoît",
    "Paris",
    "Maillard",
    "Marchal",
    "Aubry",
    "Vasseur",
    "Le Roux",
    "Renault",
    "Jacquet",
    "Collet",
    "Prévost",
    "Poirier",
    "Charpentier",
    "Royer",
    "Huet",
    "Baron",
    "Dupuy",
    "Pons",
    "Paul",
    "Laine",
    "Carré",
    "Breton",
    "Rémy",
    "Schneider",
    "Perrot",
    "Guyot",
    "Barre",
    "Marty",
    "Cousin",
    "Øster",
    "Müller",
    "Schäfer",
    "Kowalski",
    "Nowak",
    "Wiśniewski",
    "Johansson",
    "Andersson",
    "Ólafsson",
    "Ivanov",
    "Смирнов",
    "Παπαδόπουλος",
    "O'Brien",
    "MacLeod",
    "Zimmermann",
    "Yamamoto",
    "Tanaka",
    "Kim",
    "Park",
    "Singh",
    "Kumar",
    "Okafor",
    "Mensah",
];

const WORDS: &[&str] = &[
    "support",
    "sales",
    "accounting",
    "reception",
    "direction",
    "logistique",
    "comptabilité",
    "accueil",
    "night shift",
    "floor 2",
    "building B",
    "remote",
    "intern",
    "manager",
    "helpdesk",
    "R&D",
    "marketing",
    "qualité",
    "entrepôt",
    "über-team",
];

/// Calls route handlers in-process, as the worker would, without HTTP.
pub struct Dispatcher<'c> {
    pub conn: &'c Connection,
    pub gate: Gate,
    pub config: Config,
    pub lists: ListCache,
}

impl Dispatcher<'_> {
    pub fn call(
        &mut self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Value, String> {
        let request = ApiRequest {
            content_type: Some("application/json".into()),
            host: Some("127.0.0.1".into()),
            body: match body {
                Some(body) => serde_json::to_vec(body).map_err(|e| e.to_string())?,
                None => Vec::new(),
            },
            listener: ListenerKind::Http,
            ..ApiRequest::new(method, path)
        };
        let (route, params) = routes::find(table(), Service::Confd, method, &request.path)
            .map_err(|e| format!("{method:?} {path}: {}", e.message()))?;
        let mut ctx = Ctx {
            conn: self.conn,
            request: &request,
            params,
            base_url: "http://127.0.0.1".into(),
            caller: Caller::Anyone,
            config: &self.config,
            lists: &self.lists,
        };
        let response = match route.handler {
            RouteHandler::Confd(handler) => handler(&mut ctx),
            RouteHandler::Auth(handler) => handler(&mut ctx, &mut self.gate),
        }
        .map_err(|e| format!("{method:?} {path}: {}", e.message()))?;
        // as the worker ends each write request: the search entries of what
        // it changed
        if method.writes() {
            xivo_confd::db::search::catch_up(self.conn)
                .map_err(|e| format!("{method:?} {path}: {e}"))?;
        }
        if response.body.is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_slice(&response.body).map_err(|e| format!("{method:?} {path}: {e}"))
    }

    fn create(&mut self, path: &str, body: Value) -> Result<i64, String> {
        let created = self.call(Method::Post, path, Some(&body))?;
        created["id"]
            .as_i64()
            .ok_or_else(|| format!("POST {path}: no id in {created}"))
    }
}

/// A user's body: names drawn from the lists above (some non-ASCII), a
/// unique username, a mobile number, sometimes a description or no lastname.
pub fn user_body(random: &mut Random, number: u64) -> Value {
    let pick =
        |random: &mut Random, list: &[&'static str]| list[random.below(list.len() as u64) as usize];
    let firstname = pick(random, FIRSTNAMES);
    let lastname = if random.below(100) == 0 {
        ""
    } else {
        pick(random, LASTNAMES)
    };
    let login: String = lastname
        .chars()
        .filter(char::is_ascii_alphabetic)
        .map(|c| c.to_ascii_lowercase())
        .take(12)
        .collect();
    let mut body = json!({
        "firstname": firstname,
        "lastname": lastname,
        "username": format!("u{number}{login}"),
        "mobile_phone_number": format!("+336{:08}", random.below(100_000_000)),
    });
    if random.below(4) == 0 {
        body["description"] = json!(format!("{} {}", pick(random, WORDS), pick(random, WORDS)));
    }
    body
}

/// Creates `users` users; every `line_every`-th gets a SIP line with an
/// extension in the context `bench`: 100000 + n in 100000-999999, or, past
/// 899,999 users, 1000000 + n in 1000000-2999999.
pub fn populate(dispatcher: &mut Dispatcher, users: u64, line_every: u64) -> Result<(), String> {
    let conn = dispatcher.conn;
    let sql = |statement: &str| conn.execute_batch(statement).map_err(|e| e.to_string());
    let (first, range) = if users < 900_000 {
        (100_000, ("100000", "999999"))
    } else {
        (1_000_000, ("1000000", "2999999"))
    };
    sql("BEGIN")?;
    dispatcher.create(
        "/1.1/contexts",
        json!({"name": "bench", "type": "internal",
               "user_ranges": [{"start": range.0, "end": range.1}]}),
    )?;
    let mut random = Random::new(20_151_120);
    for number in 1..=users {
        let user_id = dispatcher.create("/1.1/users", user_body(&mut random, number))?;
        if line_every > 0 && number % line_every == 0 {
            let sip = dispatcher.create(
                "/1.1/endpoints/sip",
                json!({"username": format!("bench{number}"), "secret": format!("s{number}x")}),
            )?;
            let line = dispatcher.create("/1.1/lines", json!({"context": "bench"}))?;
            dispatcher.call(
                Method::Put,
                &format!("/1.1/lines/{line}/endpoints/sip/{sip}"),
                None,
            )?;
            let extension = dispatcher.create(
                "/1.1/extensions",
                json!({"exten": format!("{}", first + number), "context": "bench"}),
            )?;
            dispatcher.call(
                Method::Post,
                &format!("/1.1/lines/{line}/extensions"),
                Some(&json!({"extension_id": extension})),
            )?;
            dispatcher.call(
                Method::Post,
                &format!("/1.1/users/{user_id}/lines"),
                Some(&json!({"line_id": line})),
            )?;
        }
        if number % 10_000 == 0 {
            sql("COMMIT; BEGIN")?;
        }
    }
    sql("COMMIT")?;
    Ok(())
}

/// The context of the list scenarios' rows.
pub const LIST_CONTEXT: &str = "benchlists";

/// Tops the voicemail, line and extension lists up to `rows` each, through
/// the route handlers, in the context `benchlists` (numbers 1000000-1999999):
/// voicemails named from the user name lists (an email for one in two),
/// lines each with its SIP endpoint (`line<n>`), and bare extensions.
/// The users' own lines and extensions count towards `rows`.
pub fn populate_lists(dispatcher: &mut Dispatcher, rows: u64) -> Result<(), String> {
    let conn = dispatcher.conn;
    let sql = |statement: &str| conn.execute_batch(statement).map_err(|e| e.to_string());
    let count = |table: &str| -> Result<u64, String> {
        conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| {
            r.get::<_, i64>(0)
        })
        .map(|n| n as u64)
        .map_err(|e| e.to_string())
    };
    sql("BEGIN")?;
    dispatcher.create(
        "/1.1/contexts",
        json!({"name": LIST_CONTEXT, "type": "internal",
               "user_ranges": [{"start": "1000000", "end": "1999999"}]}),
    )?;
    let mut random = Random::new(20_261_201);
    let pick =
        |random: &mut Random, list: &[&'static str]| list[random.below(list.len() as u64) as usize];
    let mut done = 0u64;
    let step = |done: &mut u64| -> Result<(), String> {
        *done += 1;
        if done.is_multiple_of(10_000) {
            sql("COMMIT; BEGIN")?;
        }
        Ok(())
    };
    for number in count("voicemails")?..rows {
        let firstname = pick(&mut random, FIRSTNAMES);
        let lastname = pick(&mut random, LASTNAMES);
        let mut body = json!({
            "name": format!("{firstname} {lastname}"),
            "number": format!("{}", 1_000_000 + number),
            "context": LIST_CONTEXT,
        });
        if random.below(2) == 0 {
            let login: String = lastname
                .chars()
                .filter(char::is_ascii_alphabetic)
                .map(|c| c.to_ascii_lowercase())
                .collect();
            body["email"] = json!(format!("{login}.{number}@example.org"));
        }
        dispatcher.create("/1.1/voicemails", body)?;
        step(&mut done)?;
    }
    for number in count("lines")?..rows {
        let sip = dispatcher.create(
            "/1.1/endpoints/sip",
            json!({"username": format!("line{number}"), "secret": format!("s{number}x")}),
        )?;
        let line = dispatcher.create("/1.1/lines", json!({"context": LIST_CONTEXT}))?;
        dispatcher.call(
            Method::Put,
            &format!("/1.1/lines/{line}/endpoints/sip/{sip}"),
            None,
        )?;
        step(&mut done)?;
    }
    for number in count("extensions")?..rows {
        dispatcher.create(
            "/1.1/extensions",
            json!({"exten": format!("{}", 1_000_000 + number), "context": LIST_CONTEXT}),
        )?;
        step(&mut done)?;
    }
    sql("COMMIT")?;
    Ok(())
}

/// Every distinct piece of 2 to 5 characters of the first and last names
/// above, lowercased: search terms of the kind a person types, most of
/// them matching something, many of them rare.
pub fn name_pieces() -> Vec<String> {
    let mut pieces = std::collections::BTreeSet::new();
    for name in FIRSTNAMES.iter().chain(LASTNAMES) {
        let chars: Vec<char> = name.to_lowercase().chars().collect();
        for length in 2..=5 {
            for start in 0..chars.len().saturating_sub(length - 1) {
                pieces.insert(chars[start..start + length].iter().collect::<String>());
            }
        }
    }
    pieces.into_iter().collect()
}
