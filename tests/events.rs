//! Change events on the real server: the stream (`GET /1.1/events`) and
//! webhooks (`/1.1/webhooks`). Every declared resource's create, update and
//! delete and every declared association's changes raise their event (the
//! walk below covers declarations added later without an edit, or names
//! the one it cannot make); a refused request raises none; `Last-Event-ID`
//! replays what was missed, across restarts and a SIGKILL; webhook
//! receivers on loopback get every event once per delivery id, signed, in
//! order, even when they were down; a receiver that hangs slows neither
//! the API nor another webhook, and neither do a hundred open streams.

mod common;

use common::{Api, Client, Request, TestServer, create_example};
use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use xivo_confd::resources::association::{Association, PairChange, Shape};
use xivo_confd::resources::resource::{Change, Op, Resource};
use xivo_confd::resources::{ASSOCIATIONS, RESOURCES, endpoints, extensions, lines, users};

/// Streams in these tests never stay silent for long (the client's socket
/// gives up after 10 s of silence).
const CONFIG: &str = "[events]\nkeepalive_seconds = 1\n";

/// How long an expected event may take to show.
const PATIENCE: Duration = Duration::from_secs(10);

fn api() -> Api {
    Api::on(TestServer::start_with(CONFIG))
}

// ---------------------------------------------------------------------------
// An event stream client

#[derive(Debug, Clone)]
struct Event {
    id: i64,
    name: String,
    /// the `data:` line: `{"name", "routing_key", "origin_uuid", "timestamp", "data"}`
    message: Value,
}

#[derive(Debug)]
enum Frame {
    Head(u16, Vec<(String, String)>),
    Event(Event),
    Comment(String),
}

/// `GET /1.1/events` read on a thread of its own, frame by frame.
struct EventStream {
    frames: Receiver<Frame>,
    status: u16,
    headers: Vec<(String, String)>,
    /// what was read and not yet asked for, for failure messages
    seen: Vec<String>,
}

impl EventStream {
    fn open(api: &Api, last_event_id: Option<&str>) -> EventStream {
        Self::open_with(api, last_event_id, "text/event-stream")
    }

    fn open_with(api: &Api, last_event_id: Option<&str>, accept: &str) -> EventStream {
        let mut stream = connect(&api.server.https);
        let mut head = format!(
            "GET /1.1/events HTTP/1.1\r\nHost: {}\r\nAccept: {accept}\r\nX-Auth-Token: {}\r\n",
            api.server.https, api.token
        );
        if let Some(last) = last_event_id {
            head.push_str(&format!("Last-Event-ID: {last}\r\n"));
        }
        head.push_str("\r\n");
        stream.write_all(head.as_bytes()).expect("request");
        stream.flush().expect("flush");
        let (sender, frames) = mpsc::channel();
        std::thread::spawn(move || read_frames(BufReader::new(stream), &sender));
        let (status, headers) = match frames.recv_timeout(PATIENCE) {
            Ok(Frame::Head(status, headers)) => (status, headers),
            other => panic!("no answer to GET /1.1/events: {other:?}"),
        };
        EventStream {
            frames,
            status,
            headers,
            seen: Vec::new(),
        }
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The next frame within `timeout`.
    fn frame(&mut self, timeout: Duration) -> Option<Frame> {
        match self.frames.recv_timeout(timeout) {
            Ok(frame) => Some(frame),
            Err(RecvTimeoutError::Timeout) | Err(RecvTimeoutError::Disconnected) => None,
        }
    }

    /// The next event (comments skipped) within `timeout`.
    fn next_event(&mut self, timeout: Duration) -> Option<Event> {
        let until = Instant::now() + timeout;
        loop {
            let left = until.saturating_duration_since(Instant::now());
            match self.frame(left)? {
                Frame::Event(event) => return Some(event),
                Frame::Comment(_) | Frame::Head(..) => continue,
            }
        }
    }

    /// Reads on until an event named `name` whose payload passes `wanted`;
    /// the events before it are returned too, in order.
    fn expect(&mut self, name: &str, wanted: impl Fn(&Value) -> bool) -> (Event, Vec<Event>) {
        let mut before = Vec::new();
        let until = Instant::now() + PATIENCE;
        loop {
            let left = until.saturating_duration_since(Instant::now());
            let Some(event) = self.next_event(left) else {
                panic!(
                    "no {name} event came; saw: {:?}",
                    before
                        .iter()
                        .map(|e: &Event| format!("{} {}", e.name, e.message["data"]))
                        .chain(self.seen.drain(..))
                        .collect::<Vec<_>>()
                );
            };
            if event.name == name && wanted(&event.message["data"]) {
                return (event, before);
            }
            before.push(event);
        }
    }
}

/// Reads the answer's head, then its chunks as SSE frames.
/// A socket a reader thread can own.
trait Socket: Read + Write + Send {}
impl<T: Read + Write + Send> Socket for T {}

/// A TLS connection to the HTTPS listener (its certificate is self-signed).
fn connect(address: &str) -> Box<dyn Socket> {
    let tcp = TcpStream::connect(address).expect("connect");
    tcp.set_read_timeout(Some(Duration::from_secs(10))).ok();
    let connector = native_tls::TlsConnector::builder()
        .danger_accept_invalid_certs(true)
        .danger_accept_invalid_hostnames(true)
        .build()
        .expect("tls connector");
    Box::new(connector.connect("localhost", tcp).expect("tls handshake"))
}

fn read_frames(mut reader: BufReader<Box<dyn Socket>>, frames: &Sender<Frame>) {
    let mut line = String::new();
    if reader.read_line(&mut line).is_err() {
        return;
    }
    let status = line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let mut headers = Vec::new();
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).is_err() {
            return;
        }
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            headers.push((name.trim().to_string(), value.trim().to_string()));
        }
    }
    let chunked = headers.iter().any(|(name, value)| {
        name.eq_ignore_ascii_case("Transfer-Encoding") && value.eq_ignore_ascii_case("chunked")
    });
    let length: Option<usize> = headers
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case("Content-Length"))
        .and_then(|(_, value)| value.parse().ok());
    if frames.send(Frame::Head(status, headers)).is_err() {
        return;
    }
    if !chunked {
        // an error answer: its body is not a stream
        let mut body = vec![0; length.unwrap_or(0)];
        reader.read_exact(&mut body).ok();
        frames
            .send(Frame::Comment(String::from_utf8_lossy(&body).into_owned()))
            .ok();
        return;
    }
    let mut text = String::new();
    let (mut id, mut name, mut data): (Option<i64>, Option<String>, Option<String>) =
        (None, None, None);
    loop {
        let mut size = String::new();
        if reader.read_line(&mut size).is_err() || size.is_empty() {
            return;
        }
        let Ok(size) = usize::from_str_radix(size.trim(), 16) else {
            return;
        };
        let mut chunk = vec![0; size + 2];
        if reader.read_exact(&mut chunk).is_err() || size == 0 {
            return;
        }
        text.push_str(&String::from_utf8_lossy(&chunk[..size]));
        while let Some(end) = text.find('\n') {
            let line: String = text.drain(..=end).collect();
            let line = line.trim_end_matches('\n');
            if line.is_empty() {
                if let (Some(id), Some(name), Some(data)) = (id.take(), name.take(), data.take()) {
                    let message: Value = serde_json::from_str(&data).expect("data is JSON");
                    let event = Event { id, name, message };
                    if frames.send(Frame::Event(event)).is_err() {
                        return;
                    }
                }
            } else if let Some(comment) = line.strip_prefix(':') {
                if frames
                    .send(Frame::Comment(comment.trim().to_string()))
                    .is_err()
                {
                    return;
                }
            } else if let Some(value) = line.strip_prefix("id: ") {
                id = value.parse().ok();
            } else if let Some(value) = line.strip_prefix("event: ") {
                name = Some(value.to_string());
            } else if let Some(value) = line.strip_prefix("data: ") {
                data = Some(value.to_string());
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Walking the declarations

/// The path of one object: its id is a number, or a text (a device's).
fn path_of(resource: &Resource, id: &Value) -> String {
    match id {
        Value::String(text) => format!("/1.1/{}/{text}", resource.collection),
        other => format!("/1.1/{}/{other}", resource.collection),
    }
}

fn has_id(id: impl Into<Value>) -> impl Fn(&Value) -> bool {
    let id = id.into();
    move |data| data["id"] == id
}

/// An internal context with group, queue and room numbers, for the numbers
/// of groups, queues and conferences.
const NUMBERS: &str = "evnumbers";

fn number_for(api: &mut Api, kind: &str, used: &mut u64) -> i64 {
    let base = match kind {
        "group" => 3000,
        "queue" => 3100,
        _ => 3200,
    };
    *used += 1;
    api.create_id(
        "/1.1/extensions",
        json!({"exten": (base + *used % 100).to_string(), "context": NUMBERS}),
    )
}

/// A line with a SIP endpoint: what a user or an extension needs of it.
fn line_with_sip(api: &mut Api) -> i64 {
    let line = api.create_id("/1.1/lines", json!({"context": "default"}));
    let sip = api.create_id("/1.1/endpoints/sip", json!({}));
    api.expect(
        Request::new("PUT", &format!("/1.1/lines/{line}/endpoints/sip/{sip}")),
        204,
    );
    line
}

fn fresh(api: &mut Api, resource: &Resource, used: &mut u64) -> i64 {
    fresh_id(api, resource, used).as_i64().expect("id")
}

/// A new object's id as the API shows it (a number, or a device's text).
fn fresh_id(api: &mut Api, resource: &Resource, used: &mut u64) -> Value {
    create_example(&mut api.client, &api.token, resource, used)["id"].clone()
}

/// An owner and a target the association can join: fresh objects made
/// from the declarations' examples, or, for the associations whose rules
/// ask for more, what those rules ask for.
fn pair_for(api: &mut Api, association: &Association, used: &mut u64) -> (i64, i64) {
    match association.name {
        "UserLine" => {
            let line = line_with_sip(api);
            (fresh(api, &users::USERS, used), line)
        }
        "LineExtension" => {
            let line = line_with_sip(api);
            (line, fresh(api, &extensions::EXTENSIONS, used))
        }
        "GroupExtension" | "QueueExtension" | "ConferenceExtension" => {
            let kind = match association.name {
                "GroupExtension" => "group",
                "QueueExtension" => "queue",
                _ => "conference",
            };
            let owner = fresh(api, association.owner, used);
            (owner, number_for(api, kind, used))
        }
        _ => (
            fresh(api, association.owner, used),
            fresh(api, association.target, used),
        ),
    }
}

fn owner_path(association: &Association, owner: i64) -> String {
    association.owner_path().replace(
        &format!("{{{}}}", association.owner.param),
        &owner.to_string(),
    )
}

fn associate(api: &mut Api, association: &Association, owner: i64, target: i64) {
    let base = owner_path(association, owner);
    let (request, expected) = match association.shape {
        Shape::Linked => (Request::new("PUT", &format!("{base}/{target}")), 204),
        Shape::Single | Shape::Multiple => (
            Request::post(
                &base,
                &json!({ association.target_key: target }).to_string(),
            ),
            201,
        ),
    };
    let what = format!("{} {}", request.method, request.path);
    let response = api.send(request);
    assert_eq!(
        response.status,
        expected,
        "{what}: teach pair_for in tests/events.rs how to make a pair {} takes: {}",
        association.name,
        response.text()
    );
}

fn dissociate(api: &mut Api, association: &Association, owner: i64, target: i64) {
    let base = owner_path(association, owner);
    let path = match association.shape {
        Shape::Single => base,
        Shape::Multiple | Shape::Linked => format!("{base}/{target}"),
    };
    api.expect(Request::delete(&path), 204);
}

/// The event's message as a resource's change must show it.
fn check_message(event: &Event, routing_key: &str, origin: &str) {
    let message = &event.message;
    assert_eq!(message["name"], json!(event.name), "{message}");
    assert_eq!(message["routing_key"], json!(routing_key), "{message}");
    assert_eq!(message["origin_uuid"], json!(origin), "{message}");
    let timestamp = message["timestamp"].as_str().expect("timestamp");
    assert!(
        timestamp.len() == 27 && timestamp.ends_with('Z') && timestamp.as_bytes()[10] == b'T',
        "{timestamp}"
    );
    let keys: Vec<&String> = message.as_object().expect("object").keys().collect();
    assert_eq!(keys.len(), 5, "{message}");
}

#[test]
fn every_declared_change_raises_its_event_in_sequence() {
    let mut api = api();
    let origin = api.get("/1.1/infos")["uuid"]
        .as_str()
        .expect("uuid")
        .to_string();
    api.create(
        "/1.1/contexts",
        json!({"name": NUMBERS, "type": "internal",
               "group_ranges": [{"start": "3000", "end": "3099"}],
               "queue_ranges": [{"start": "3100", "end": "3199"}],
               "conference_room_ranges": [{"start": "3200", "end": "3299"}]}),
    );
    let mut stream = EventStream::open(&api, None);
    assert_eq!(stream.status, 200);
    assert_eq!(stream.header("Content-Type"), Some("text/event-stream"));
    let mut used = 0;
    let mut last_id = 0;
    let mut told = |event: &Event, before: &[Event]| {
        for seen in before.iter().chain([event]) {
            assert!(seen.id > last_id, "ids grow: {} after {last_id}", seen.id);
            last_id = seen.id;
        }
    };

    for resource in RESOURCES.iter().filter(|r| r.ops.contains(&Op::Create)) {
        let id = fresh_id(&mut api, resource, &mut used);
        let (event, before) =
            stream.expect(&resource.event_name(Change::Created), has_id(id.clone()));
        check_message(
            &event,
            &resource.event_routing_key(Change::Created),
            &origin,
        );
        told(&event, &before);
        if resource.ops.contains(&Op::Update) {
            api.expect(Request::put(&path_of(resource, &id), "{}"), 204);
            let (event, before) =
                stream.expect(&resource.event_name(Change::Edited), has_id(id.clone()));
            check_message(&event, &resource.event_routing_key(Change::Edited), &origin);
            told(&event, &before);
        }
        if resource.ops.contains(&Op::Delete) {
            api.expect(Request::delete(&path_of(resource, &id)), 204);
            let (event, before) =
                stream.expect(&resource.event_name(Change::Deleted), has_id(id.clone()));
            check_message(
                &event,
                &resource.event_routing_key(Change::Deleted),
                &origin,
            );
            told(&event, &before);
        }
    }

    for association in ASSOCIATIONS {
        let (owner, target) = pair_for(&mut api, association, &mut used);
        let is_pair = |data: &Value| {
            if association.events.as_owner_edit {
                data["id"] == json!(owner)
            } else {
                data[association.owner_key] == json!(owner)
                    && data[association.target_key] == json!(target)
            }
        };
        associate(&mut api, association, owner, target);
        let (event, before) =
            stream.expect(&association.event_name(PairChange::Associated), is_pair);
        check_message(
            &event,
            &association.event_routing_key(PairChange::Associated),
            &origin,
        );
        told(&event, &before);
        if association.pair_routes {
            let pair = format!("{}/{target}", owner_path(association, owner));
            api.expect(Request::put(&pair, "{}"), 204);
            let (event, before) =
                stream.expect(&association.event_name(PairChange::Edited), is_pair);
            check_message(
                &event,
                &association.event_routing_key(PairChange::Edited),
                &origin,
            );
            told(&event, &before);
        }
        dissociate(&mut api, association, owner, target);
        let (event, before) =
            stream.expect(&association.event_name(PairChange::Dissociated), is_pair);
        check_message(
            &event,
            &association.event_routing_key(PairChange::Dissociated),
            &origin,
        );
        told(&event, &before);
    }
}

/// The payloads where xivo-bus 15.20 has more than `{"id": N}`.
#[test]
fn payloads_are_the_references() {
    let mut api = api();
    let mut stream = EventStream::open(&api, None);

    let extension = api.create_id(
        "/1.1/extensions",
        json!({"exten": "1234", "context": "default"}),
    );
    let (event, _) = stream.expect("extension_created", has_id(extension));
    assert_eq!(
        event.message["data"],
        json!({"id": extension, "exten": "1234", "context": "default"})
    );
    assert_eq!(event.message["routing_key"], "config.extension.created");

    let context = api.create_id(
        "/1.1/contexts",
        json!({"name": "sales", "display_name": "Sales", "type": "internal"}),
    );
    let (event, _) = stream.expect("context_created", has_id(context));
    assert_eq!(
        event.message["data"],
        json!({"id": context, "name": "sales", "display_name": "Sales",
               "description": null, "type": "internal"})
    );

    // a line's endpoint: the reference edited the line
    let line = api.create_id("/1.1/lines", json!({"context": "default"}));
    let sip = api.create_id("/1.1/endpoints/sip", json!({}));
    stream.expect("sip_endpoint_created", has_id(sip));
    api.expect(
        Request::new("PUT", &format!("/1.1/lines/{line}/endpoints/sip/{sip}")),
        204,
    );
    let (event, _) = stream.expect("line_edited", has_id(line));
    assert_eq!(event.message["data"], json!({"id": line}));
    assert_eq!(event.message["routing_key"], "config.line.edited");

    let user = api.create_id("/1.1/users", json!({"firstname": "Ann"}));
    api.create(
        &format!("/1.1/users/{user}/lines"),
        json!({"line_id": line}),
    );
    let (event, _) = stream.expect("line_associated", |_| true);
    assert_eq!(
        event.message["data"],
        json!({"user_id": user, "line_id": line, "main_user": true, "main_line": true})
    );
    assert_eq!(
        event.message["routing_key"],
        "config.user_line_association.created"
    );

    let voicemail = api.create_id(
        "/1.1/voicemails",
        json!({"name": "Box", "number": "8000", "context": "default"}),
    );
    api.create(
        &format!("/1.1/users/{user}/voicemail"),
        json!({"voicemail_id": voicemail}),
    );
    let (event, _) = stream.expect("voicemail_associated", |_| true);
    assert_eq!(
        event.message["data"],
        json!({"user_id": user, "voicemail_id": voicemail, "enabled": true})
    );
    api.delete(&format!("/1.1/users/{user}/voicemail"));
    let (event, _) = stream.expect("voicemail_dissociated", |_| true);
    assert_eq!(
        event.message["data"],
        json!({"user_id": user, "voicemail_id": voicemail, "enabled": false})
    );
    assert_eq!(
        event.message["routing_key"],
        "config.user_voicemail_association.deleted"
    );

    let queue = api.create_id("/1.1/queues", json!({"name": "support"}));
    let agent = api.create_id(
        "/1.1/agents",
        json!({"number": "742", "firstname": "Agent"}),
    );
    let members = format!("/1.1/queues/{queue}/members/agents");
    api.expect(
        Request::post(
            &members,
            &json!({"agent_id": agent, "penalty": 3}).to_string(),
        ),
        201,
    );
    let (event, _) = stream.expect("agent_queue_associated", |_| true);
    assert_eq!(
        event.message["data"],
        json!({"queue_id": queue, "agent_id": agent, "penalty": 3})
    );
    assert_eq!(
        event.message["routing_key"],
        "config.agent_queue_association.created"
    );
    api.expect(
        Request::put(&format!("{members}/{agent}"), r#"{"penalty": 5}"#),
        204,
    );
    let (event, _) = stream.expect("agent_queue_association_edited", |_| true);
    assert_eq!(
        event.message["data"],
        json!({"queue_id": queue, "agent_id": agent, "penalty": 5})
    );
    api.delete(&format!("{members}/{agent}"));
    let (event, _) = stream.expect("agent_removed_from_queue", |_| true);
    assert_eq!(
        event.message["data"],
        json!({"queue_id": queue, "agent_id": agent})
    );
    assert_eq!(
        event.message["routing_key"],
        "config.agent_queue_association.deleted"
    );

    let template = api.create_id("/1.1/funckeys/templates", json!({"name": "t"}));
    let (event, _) = stream.expect("func_key_template_created", has_id(template));
    assert_eq!(
        event.message["routing_key"],
        "config.funckey.template.created"
    );
}

/// The write routes written by hand raise theirs too.
#[test]
fn hand_written_write_routes_raise_events() {
    let mut api = api();
    let mut stream = EventStream::open(&api, None);

    // lines_sip writes a SIP endpoint then a line, as the reference did
    let sip_line = api.create_id("/1.1/lines_sip", json!({"context": "default"}));
    let (_, before) = stream.expect("line_created", has_id(sip_line));
    assert!(
        before.iter().any(|e| e.name == "sip_endpoint_created"),
        "{before:?}"
    );
    api.delete(&format!("/1.1/lines_sip/{sip_line}"));
    let (_, before) = stream.expect("line_deleted", has_id(sip_line));
    assert!(
        before.iter().any(|e| e.name == "sip_endpoint_deleted"),
        "the endpoint went with the line: {before:?}"
    );

    // the legacy singular line extension routes
    let line = line_with_sip(&mut api);
    let extension = api.create_id(
        "/1.1/extensions",
        json!({"exten": "1500", "context": "default"}),
    );
    api.create(
        &format!("/1.1/lines/{line}/extension"),
        json!({"extension_id": extension}),
    );
    let pair = json!({"line_id": line, "extension_id": extension});
    let (event, _) = stream.expect("line_extension_associated", |_| true);
    assert_eq!(event.message["data"], pair);
    assert_eq!(
        event.message["routing_key"],
        "config.line_extension_association.created"
    );
    api.delete(&format!("/1.1/lines/{line}/extension"));
    let (event, _) = stream.expect("line_extension_dissociated", |_| true);
    assert_eq!(event.message["data"], pair);

    // keys by position
    let template = api.create_id("/1.1/funckeys/templates", json!({"name": "keys"}));
    let key = json!({"destination": {"type": "custom", "exten": "1234"}}).to_string();
    api.expect(
        Request::put(&format!("/1.1/funckeys/templates/{template}/1"), &key),
        204,
    );
    stream.expect("func_key_template_edited", has_id(template));
    api.delete(&format!("/1.1/funckeys/templates/{template}/1"));
    stream.expect("func_key_template_edited", has_id(template));
    let user = api.create_id("/1.1/users", json!({"firstname": "Keys"}));
    api.expect(
        Request::put(&format!("/1.1/users/{user}/funckeys/2"), &key),
        204,
    );
    let (event, _) = stream.expect("user_func_key_edited", |_| true);
    assert_eq!(
        event.message["data"],
        json!({"user_id": user, "position": 2})
    );
    assert_eq!(event.message["routing_key"], "config.user_func_key.edited");
    api.delete(&format!("/1.1/users/{user}/funckeys/2"));
    let (event, _) = stream.expect("user_func_key_deleted", |_| true);
    assert_eq!(
        event.message["data"],
        json!({"user_id": user, "position": 2})
    );

    // a call filter's members
    let filter = api.create_id(
        "/1.1/callfilters",
        json!({"name": "boss", "strategy": "all", "source": "all"}),
    );
    let other = api.create_id("/1.1/users", json!({"firstname": "Secretary"}));
    api.expect(
        Request::put(
            &format!("/1.1/callfilters/{filter}/recipients/users"),
            &json!({"users": [{"id": user}]}).to_string(),
        ),
        204,
    );
    let (event, _) = stream.expect("call_filter_recipients_edited", |_| true);
    assert_eq!(
        event.message["data"],
        json!({"call_filter_id": filter, "user_ids": [user]})
    );
    api.expect(
        Request::put(
            &format!("/1.1/callfilters/{filter}/surrogates/users"),
            &json!({"users": [{"id": other}]}).to_string(),
        ),
        204,
    );
    let (event, _) = stream.expect("call_filter_surrogates_edited", |_| true);
    assert_eq!(
        event.message["data"],
        json!({"call_filter_id": filter, "user_ids": [other]})
    );
}

/// A request answered with an error keeps nothing it wrote, events
/// included: the next event is the next success's.
#[test]
fn a_refused_request_raises_nothing() {
    let mut api = api();
    let mut stream = EventStream::open(&api, None);
    api.expect(Request::post("/1.1/users", r#"{"firstname": 1}"#), 400);
    // lines_sip writes the SIP endpoint (and its event) before the line's
    // context is found missing: the whole request is undone
    api.expect(
        Request::post("/1.1/lines_sip", r#"{"context": "nowhere"}"#),
        400,
    );
    api.expect(Request::put("/1.1/users/999", "{}"), 404);
    let marker = api.create_id(
        "/1.1/voicemails",
        json!({"name": "m", "number": "8001", "context": "default"}),
    );
    let event = stream.next_event(PATIENCE).expect("the marker's event");
    assert_eq!(event.name, "voicemail_created");
    assert_eq!(event.message["data"], json!({"id": marker}));
    let replayed = EventStream::open(&api, Some("0"))
        .next_event(PATIENCE)
        .expect("history");
    assert_eq!(
        replayed.name, "voicemail_created",
        "nothing before it was kept"
    );
}

#[test]
fn a_stream_refuses_what_it_cannot_serve() {
    let api = api();
    for accept in ["application/json", "*/*"] {
        let mut refused = EventStream::open_with(&api, None, accept);
        assert_eq!(refused.status, 406, "{accept}");
        let body = match refused.frame(PATIENCE) {
            Some(Frame::Comment(body)) => body,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            body,
            r#"["Input Error - this is a stream of events: send Accept: text/event-stream"]"#
        );
    }
    let refused = EventStream::open(&api, Some("yesterday"));
    assert_eq!(refused.status, 400);
    // without credentials
    let anonymous = api
        .server
        .https_client()
        .send(Request::get("/1.1/events").header("Accept", "text/event-stream"));
    assert_eq!(anonymous.status, 401);
}

/// A commit wakes the streams: an event does not wait for the stream's
/// next look (the keep-alive comment, 15 s by default).
#[test]
fn events_arrive_as_they_are_committed() {
    let mut api = Api::on(TestServer::start());
    let mut stream = EventStream::open(&api, None);
    // the stream's first look is behind it
    std::thread::sleep(Duration::from_millis(300));
    for n in 0..3 {
        let started = Instant::now();
        let user = api.create_id("/1.1/users", json!({"firstname": format!("Now {n}")}));
        let event = stream
            .next_event(Duration::from_secs(5))
            .expect("the event");
        assert_eq!(event.message["data"], json!({"id": user}));
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "the event took {:?}",
            started.elapsed()
        );
    }
}

/// An idle stream gets a comment line at least every `keepalive_seconds`.
#[test]
fn an_idle_stream_gets_comment_lines() {
    let api = api();
    let mut stream = EventStream::open(&api, None);
    let started = Instant::now();
    let mut comments = 0;
    while started.elapsed() < Duration::from_millis(3500) {
        match stream.frame(Duration::from_secs(2)) {
            Some(Frame::Comment(text)) if text == "keep-alive" => comments += 1,
            Some(Frame::Comment(_)) => {}
            other => panic!("an idle stream sent {other:?}"),
        }
    }
    assert!(comments >= 2, "{comments} comment lines in 3.5 s");
}

/// `Last-Event-ID` gives what a client missed: while it was away, and
/// while the server was restarted or killed right after answering.
#[test]
fn last_event_id_replays_what_was_missed_across_restarts() {
    let mut api = api();
    let mut stream = EventStream::open(&api, None);
    let first = api.create_id("/1.1/users", json!({"firstname": "One"}));
    let (seen, _) = stream.expect("user_created", has_id(first));
    drop(stream);
    let missed: Vec<i64> = (0..3)
        .map(|n| api.create_id("/1.1/users", json!({"firstname": format!("Missed {n}")})))
        .collect();

    api.server.stop_with("TERM");
    api.server.launch();
    api.client = api.server.https_client();
    api.token = api.server.token();
    let mut stream = EventStream::open(&api, Some(&seen.id.to_string()));
    let mut last = seen.id;
    for id in &missed {
        let event = stream.next_event(PATIENCE).expect("a missed event");
        assert_eq!(event.name, "user_created");
        assert_eq!(event.message["data"], json!({"id": id}));
        assert!(event.id > last);
        last = event.id;
    }
    // then it follows live
    let live = api.create_id("/1.1/users", json!({"firstname": "Live"}));
    let event = stream.next_event(PATIENCE).expect("the live event");
    assert_eq!(event.message["data"], json!({"id": live}));
    last = event.id;
    drop(stream);

    // killed right after the answer: the event was committed with it
    let killed = api.create_id("/1.1/users", json!({"firstname": "Killed"}));
    api.server.stop_with("KILL");
    api.server.launch();
    api.client = api.server.https_client();
    api.token = api.server.token();
    let mut stream = EventStream::open(&api, Some(&last.to_string()));
    let event = stream
        .next_event(PATIENCE)
        .expect("the event before the kill");
    assert_eq!(event.name, "user_created");
    assert_eq!(event.message["data"], json!({"id": killed}));
    assert!(event.id > last);
}

/// The history keeps `history_count` events: a client that comes back
/// after more is told what it lost, then gets what is kept.
#[test]
fn the_history_is_bounded() {
    let server = TestServer::start_with(&format!("{CONFIG}history_count = 3\n"));
    let mut api = Api::on(server);
    let ids: Vec<i64> = (0..6)
        .map(|n| api.create_id("/1.1/users", json!({"firstname": format!("H{n}")})))
        .collect();
    // the prune runs every 10 s
    let until = Instant::now() + Duration::from_secs(25);
    loop {
        let mut stream = EventStream::open(&api, Some("0"));
        let mut comments = Vec::new();
        let mut events = Vec::new();
        while let Some(frame) = stream.frame(Duration::from_millis(1500)) {
            match frame {
                Frame::Event(event) => events.push(event),
                Frame::Comment(text) if text != "keep-alive" => comments.push(text),
                _ => break,
            }
        }
        if events.len() == 3 {
            let kept: Vec<Value> = events
                .iter()
                .map(|e| e.message["data"]["id"].clone())
                .collect();
            assert_eq!(
                kept,
                ids[3..].iter().map(|id| json!(id)).collect::<Vec<_>>()
            );
            assert_eq!(comments.len(), 1, "{comments:?}");
            assert!(comments[0].contains("no longer kept"), "{comments:?}");
            return;
        }
        assert!(Instant::now() < until, "still {} events kept", events.len());
        std::thread::sleep(Duration::from_secs(1));
    }
}

// ---------------------------------------------------------------------------
// Webhooks

/// One request a receiver got.
#[derive(Debug, Clone)]
struct Received {
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Received {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("a JSON body")
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Behaviour {
    /// answers 200
    Accept,
    /// reads the request and never answers
    Hang,
}

/// An HTTP receiver on loopback, recording what it gets.
struct Hook {
    port: u16,
    got: Arc<Mutex<Vec<Received>>>,
    /// connections accepted
    connections: Arc<Mutex<usize>>,
}

fn receiver(behaviour: Behaviour) -> Hook {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    receiver_on(listener, behaviour)
}

fn receiver_on(listener: TcpListener, behaviour: Behaviour) -> Hook {
    let port = listener.local_addr().expect("address").port();
    let got = Arc::new(Mutex::new(Vec::new()));
    let connections = Arc::new(Mutex::new(0));
    let (shared, counted) = (got.clone(), connections.clone());
    std::thread::spawn(move || {
        for socket in listener.incoming() {
            let Ok(socket) = socket else { continue };
            *counted.lock().expect("count") += 1;
            let shared = shared.clone();
            std::thread::spawn(move || serve(socket, behaviour, &shared));
        }
    });
    Hook {
        port,
        got,
        connections,
    }
}

fn serve(socket: TcpStream, behaviour: Behaviour, got: &Mutex<Vec<Received>>) {
    let mut reader = BufReader::new(socket.try_clone().expect("clone"));
    let mut line = String::new();
    if reader.read_line(&mut line).is_err() || !line.starts_with("POST ") {
        return;
    }
    let mut headers = Vec::new();
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).is_err() {
            return;
        }
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            headers.push((name.trim().to_string(), value.trim().to_string()));
        }
    }
    let length: usize = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("Content-Length"))
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; length];
    if reader.read_exact(&mut body).is_err() {
        return;
    }
    match behaviour {
        Behaviour::Accept => {
            got.lock().expect("got").push(Received { headers, body });
            let mut socket = socket;
            socket
                .write_all(b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n")
                .ok();
        }
        Behaviour::Hang => {
            got.lock().expect("got").push(Received { headers, body });
            std::thread::sleep(Duration::from_secs(60));
        }
    }
}

impl Hook {
    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/hook", self.port)
    }

    fn received(&self) -> Vec<Received> {
        self.got.lock().expect("got").clone()
    }

    /// Waits until it got `count` requests.
    fn wait_for(&self, count: usize, patience: Duration) -> Vec<Received> {
        let until = Instant::now() + patience;
        loop {
            let got = self.received();
            if got.len() >= count || Instant::now() > until {
                return got;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

fn hmac_hex(key: &[u8], body: &[u8]) -> String {
    let mac = xivo_confd::auth::secrets::hmac_sha256(key, body);
    xivo_confd::auth::secrets::hex(&mac)
}

fn names(received: &[Received]) -> Vec<String> {
    received
        .iter()
        .map(|r| r.json()["name"].as_str().unwrap_or_default().to_string())
        .collect()
}

#[test]
fn a_webhook_gets_each_event_it_asks_for_once_signed() {
    let mut api = api();
    let origin = api.get("/1.1/infos")["uuid"].clone();
    let hook = receiver(Behaviour::Accept);
    let webhook = api.create(
        "/1.1/webhooks",
        json!({"name": "crm", "url": hook.url(), "secret": "s3cret",
               "events": ["user_created", "user_deleted"]}),
    );
    // the secret is never shown
    assert_eq!(webhook["secret"], Value::Null);
    assert_eq!(webhook["verify_certificate"], json!(true));
    assert_eq!(webhook["enabled"], json!(true));
    let id = webhook["id"].as_i64().expect("id");
    assert_eq!(
        api.get(&format!("/1.1/webhooks/{id}"))["secret"],
        Value::Null
    );

    let user = api.create_id("/1.1/users", json!({"firstname": "Hooked"}));
    api.create_id(
        "/1.1/voicemails",
        json!({"name": "not asked for", "number": "8100", "context": "default"}),
    );
    api.delete(&format!("/1.1/users/{user}"));
    let got = hook.wait_for(2, PATIENCE);
    assert_eq!(names(&got), ["user_created", "user_deleted"]);
    let mut deliveries = Vec::new();
    for received in &got {
        let message = received.json();
        assert_eq!(message["origin_uuid"], origin);
        assert_eq!(message["data"], json!({"id": user}));
        assert_eq!(received.header("X-Xivo-Event"), message["name"].as_str());
        assert_eq!(received.header("Content-Type"), Some("application/json"));
        let signature = received.header("X-Xivo-Signature").expect("signed");
        assert_eq!(
            signature,
            format!("sha256={}", hmac_hex(b"s3cret", &received.body))
        );
        deliveries.push(
            received
                .header("X-Xivo-Delivery")
                .expect("delivery id")
                .to_string(),
        );
    }
    deliveries.dedup();
    assert_eq!(deliveries.len(), 2, "one delivery id per event");

    // the same body as the stream's `data:`
    let mut replay = EventStream::open(&api, Some("0"));
    let (event, _) = replay.expect("user_created", has_id(user));
    assert_eq!(event.message, got[0].json());

    // what was attempted, newest first
    let listed = api.get(&format!("/1.1/webhooks/{id}/deliveries"));
    assert_eq!(listed["total"], json!(2), "{listed}");
    let items = listed["items"].as_array().expect("items");
    assert_eq!(items[0]["event"], "user_deleted");
    assert_eq!(items[1]["event"], "user_created");
    for item in items {
        assert_eq!(item["status"], "delivered", "{item}");
        assert_eq!(item["attempts"], json!(1));
        assert_eq!(item["status_code"], json!(204));
        assert_eq!(item["next_attempt_at"], Value::Null);
    }
    assert_eq!(items[0]["id"], json!(deliveries[1]));

    // a GET sent back keeps the secret; "" removes it
    let shown = api.get(&format!("/1.1/webhooks/{id}"));
    api.expect(
        Request::put(&format!("/1.1/webhooks/{id}"), &shown.to_string()),
        204,
    );
    api.create_id("/1.1/users", json!({"firstname": "Still signed"}));
    let got = hook.wait_for(3, PATIENCE);
    assert_eq!(
        got[2].header("X-Xivo-Signature"),
        Some(format!("sha256={}", hmac_hex(b"s3cret", &got[2].body)).as_str())
    );
    api.expect(
        Request::put(&format!("/1.1/webhooks/{id}"), r#"{"secret": ""}"#),
        204,
    );
    api.create_id("/1.1/users", json!({"firstname": "Unsigned"}));
    let got = hook.wait_for(4, PATIENCE);
    assert_eq!(got.len(), 4);
    assert_eq!(got[3].header("X-Xivo-Signature"), None);

    // disabled: nothing new
    api.expect(
        Request::put(&format!("/1.1/webhooks/{id}"), r#"{"enabled": false}"#),
        204,
    );
    api.create_id("/1.1/users", json!({"firstname": "Unheard"}));
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(hook.received().len(), 4);
}

#[test]
fn webhooks_refuse_what_they_cannot_deliver() {
    let mut api = api();
    for (body, message) in [
        (
            json!({"name": "a", "url": "ftp://example.com/"}),
            "Input Error - field 'url': must be an http:// or https:// URL",
        ),
        (
            json!({"name": "a", "url": "http://example.com/", "events": ["user_creatd"]}),
            "Input Error - field 'events': no event is named 'user_creatd'",
        ),
        (
            json!({"name": "a", "url": "http://example.com/", "events": "user_created"}),
            "Input Error - field 'events': wrong type. Should be a list of strings",
        ),
        (
            json!({"url": "http://example.com/"}),
            "Input Error - missing parameters: name",
        ),
    ] {
        let refused = api.refused(Request::post("/1.1/webhooks", &body.to_string()), 400);
        assert_eq!(refused, message);
    }
    api.create(
        "/1.1/webhooks",
        json!({"name": "a", "url": "https://example.com/"}),
    );
    api.refused_with(
        Request::post(
            "/1.1/webhooks",
            &json!({"name": "a", "url": "https://example.com/"}).to_string(),
        ),
        400,
        "Resource Error - Webhook already exists",
    );
}

/// A receiver down at first gets everything, in order, once it is up,
/// though the server was restarted in between.
#[test]
fn a_receiver_down_at_first_gets_everything_in_order_across_a_restart() {
    let mut api = api();
    // a port with nothing behind it: connections are refused
    let port = {
        let probe = TcpListener::bind("127.0.0.1:0").expect("bind");
        probe.local_addr().expect("address").port()
    };
    let url = format!("http://127.0.0.1:{port}/hook");
    let webhook = api.create_id(
        "/1.1/webhooks",
        json!({"name": "later", "url": url, "events": ["user_created"]}),
    );
    let users: Vec<i64> = (0..3)
        .map(|n| api.create_id("/1.1/users", json!({"firstname": format!("Queued {n}")})))
        .collect();
    // the first attempt failed and a retry is due
    let deliveries = format!("/1.1/webhooks/{webhook}/deliveries?direction=asc");
    let until = Instant::now() + PATIENCE;
    let head = loop {
        let listed = api.get(&deliveries);
        let head = listed["items"][0].clone();
        if head["attempts"].as_i64().unwrap_or(0) >= 1 {
            break head;
        }
        assert!(Instant::now() < until, "no attempt: {listed}");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(head["status"], "pending", "{head}");
    assert!(
        head["error"].as_str().is_some_and(|e| !e.is_empty()),
        "{head}"
    );
    assert!(head["next_attempt_at"].is_string(), "{head}");
    let listed = api.get(&deliveries);
    assert_eq!(
        listed["items"][1]["attempts"],
        json!(0),
        "later ones wait their turn"
    );

    api.server.stop_with("TERM");
    api.server.launch();
    api.token = api.server.token();
    api.client = api.server.https_client();
    let listener = TcpListener::bind(("127.0.0.1", port)).expect("the receiver's port");
    let hook = receiver_on(listener, Behaviour::Accept);
    let got = hook.wait_for(3, Duration::from_secs(30));
    let delivered: Vec<Value> = got.iter().map(|r| r.json()["data"]["id"].clone()).collect();
    assert_eq!(
        delivered,
        users.iter().map(|id| json!(id)).collect::<Vec<_>>()
    );
    // each once: nothing more comes
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(hook.received().len(), 3);
    let listed = api.get(&deliveries);
    let head = &listed["items"][0];
    assert_eq!(head["status"], "delivered", "{head}");
    assert!(head["attempts"].as_i64().unwrap_or(0) >= 2, "{head}");
    assert_eq!(
        head["id"],
        json!(got[0].header("X-Xivo-Delivery").unwrap_or_default())
    );
}

fn median_latency(client: &mut Client, token: &str, rounds: usize) -> Duration {
    let mut times: Vec<Duration> = (0..rounds)
        .map(|_| {
            let started = Instant::now();
            let response = client.send(Request::get("/1.1/users?limit=20").token(token));
            assert_eq!(response.status, 200);
            started.elapsed()
        })
        .collect();
    times.sort();
    times[rounds / 2]
}

/// A server with 50 users, and the median time of listing them before
/// anything else happens.
fn api_with_a_baseline() -> (Api, Duration) {
    let mut api = api();
    for n in 0..50 {
        api.create_id("/1.1/users", json!({"firstname": format!("Base {n}")}));
    }
    let baseline = median_latency(&mut api.client, &api.token, 60);
    (api, baseline)
}

fn no_slower(baseline: Duration, measured: Duration, what: &str) {
    // the box is shared with builds: a generous bound, far below what a
    // request waiting on a receiver (10 s) or a stream would take
    let bound = (baseline * 4).max(baseline + Duration::from_millis(25));
    eprintln!("GET /1.1/users: {baseline:?} before, {measured:?} {what}");
    assert!(
        measured <= bound,
        "GET /1.1/users took {measured:?} {what}, {baseline:?} before"
    );
}

/// A receiver that never answers holds its own webhook's worker: the API
/// and another webhook go on as before.
#[test]
fn a_hanging_receiver_slows_neither_the_api_nor_another_webhook() {
    let (mut api, baseline) = api_with_a_baseline();

    let hanging = receiver(Behaviour::Hang);
    let healthy = receiver(Behaviour::Accept);
    api.create(
        "/1.1/webhooks",
        json!({"name": "stuck", "url": hanging.url()}),
    );
    api.create(
        "/1.1/webhooks",
        json!({"name": "fine", "url": healthy.url(), "events": ["user_created"]}),
    );
    let started = Instant::now();
    let made: Vec<i64> = (0..10)
        .map(|n| api.create_id("/1.1/users", json!({"firstname": format!("Load {n}")})))
        .collect();
    let got = healthy.wait_for(10, PATIENCE);
    let delivered: Vec<Value> = got.iter().map(|r| r.json()["data"]["id"].clone()).collect();
    assert_eq!(
        delivered,
        made.iter().map(|id| json!(id)).collect::<Vec<_>>()
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "the healthy webhook waited on the stuck one: {:?}",
        started.elapsed()
    );
    // the stuck webhook's worker waits on its receiver meanwhile
    assert_eq!(*hanging.connections.lock().expect("count"), 1);
    let during = median_latency(&mut api.client, &api.token, 60);
    assert_eq!(
        *hanging.connections.lock().expect("count"),
        1,
        "still the first attempt"
    );
    no_slower(baseline, during, "while a receiver hangs");
    assert_eq!(
        hanging.received().len(),
        1,
        "one attempt at a time, in order"
    );
}

/// A hundred open streams (ten of them never reading) do not slow the API.
#[test]
fn a_hundred_open_streams_do_not_slow_the_api() {
    let (mut api, baseline) = api_with_a_baseline();
    let mut streams: Vec<EventStream> = (0..90).map(|_| EventStream::open(&api, None)).collect();
    let silent: Vec<Box<dyn Socket>> = (0..10)
        .map(|_| {
            let mut socket = connect(&api.server.https);
            let request = format!(
                "GET /1.1/events HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\
                 X-Auth-Token: {}\r\n\r\n",
                api.token
            );
            socket.write_all(request.as_bytes()).expect("request");
            socket
        })
        .collect();
    let idle = median_latency(&mut api.client, &api.token, 60);
    no_slower(baseline, idle, "with 100 idle streams");
    // every stream gets each event
    let user = api.create_id("/1.1/users", json!({"firstname": "Watched"}));
    for stream in &mut streams {
        stream.expect("user_created", has_id(user));
    }
    drop(silent);
}

/// An https receiver: its certificate is checked unless the webhook says not to.
#[test]
fn verify_certificate_is_honoured() {
    let mut api = api();
    let dir = api.server.dir.join("receiver-tls");
    std::fs::create_dir_all(&dir).expect("dir");
    let pair =
        xivo_confd::http::tls::load_or_generate(&dir.join("cert.pem"), &dir.join("key.pem"), true)
            .expect("a self-signed pair");
    let identity =
        native_tls::Identity::from_pkcs8(&pair.certificate, &pair.private_key).expect("identity");
    let acceptor = Arc::new(native_tls::TlsAcceptor::new(identity).expect("acceptor"));
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("address").port();
    let got: Arc<Mutex<Vec<String>>> = Arc::new(Mutex::new(Vec::new()));
    let shared = got.clone();
    std::thread::spawn(move || {
        for socket in listener.incoming() {
            let Ok(socket) = socket else { continue };
            let Ok(mut tls) = acceptor.accept(socket) else {
                continue;
            };
            let mut buffer = vec![0; 65536];
            let count = tls.read(&mut buffer).unwrap_or(0);
            shared
                .lock()
                .expect("got")
                .push(String::from_utf8_lossy(&buffer[..count]).into_owned());
            tls.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
                .ok();
        }
    });
    let webhook = api.create_id(
        "/1.1/webhooks",
        json!({"name": "tls", "url": format!("https://127.0.0.1:{port}/in"),
               "events": ["user_created"]}),
    );
    api.create_id("/1.1/users", json!({"firstname": "Over TLS"}));
    let deliveries = format!("/1.1/webhooks/{webhook}/deliveries");
    let until = Instant::now() + PATIENCE;
    let failed = loop {
        let item = api.get(&deliveries)["items"][0].clone();
        if item["attempts"].as_i64().unwrap_or(0) >= 1 {
            break item;
        }
        assert!(Instant::now() < until, "no attempt");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(failed["status"], "pending");
    assert!(
        failed["error"]
            .as_str()
            .is_some_and(|e| e.contains("certificate")),
        "{failed}"
    );
    assert!(
        got.lock().expect("got").is_empty(),
        "nothing reached an unchecked receiver"
    );
    // told not to check, it is tried again at once
    api.expect(
        Request::put(
            &format!("/1.1/webhooks/{webhook}"),
            r#"{"verify_certificate": false}"#,
        ),
        204,
    );
    let until = Instant::now() + PATIENCE;
    while got.lock().expect("got").is_empty() {
        assert!(Instant::now() < until, "not delivered");
        std::thread::sleep(Duration::from_millis(100));
    }
    let request = got.lock().expect("got")[0].clone();
    assert!(request.starts_with("POST /in HTTP/1.1\r\n"), "{request}");
    assert!(request.contains("X-Xivo-Event: user_created"), "{request}");
    let until = Instant::now() + PATIENCE;
    loop {
        let item = api.get(&deliveries)["items"][0].clone();
        if item["status"] == "delivered" {
            break;
        }
        assert!(Instant::now() < until, "{item}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn lines_and_endpoints_in_the_walk_are_the_declared_ones() {
    // the walk's hand-made pairs name declarations that exist
    for name in [
        "UserLine",
        "LineExtension",
        "GroupExtension",
        "QueueExtension",
        "ConferenceExtension",
    ] {
        assert!(ASSOCIATIONS.iter().any(|a| a.name == name), "{name}");
    }
    assert_eq!(lines::LINES.event_name(Change::Created), "line_created");
    assert_eq!(
        endpoints::SIP.event_routing_key(Change::Deleted),
        "config.sip_endpoint.deleted"
    );
}

/// The parts and settings written by routes of their own: a user's CTI
/// settings (xivo-bus `cti_profile_edited`) and live reload
/// (`live_reload_edited`), and a device named by its text id.
#[test]
fn cti_settings_live_reload_and_devices_raise_the_references_events() {
    let mut api = api();
    let mut stream = EventStream::open(&api, None);
    let user = api.create_id(
        "/1.1/users",
        json!({"firstname": "Cal", "username": "cal", "password": "secret"}),
    );
    api.expect(
        Request::put(
            &format!("/1.1/users/{user}/cti"),
            r#"{"cti_profile_id": 3, "enabled": true}"#,
        ),
        204,
    );
    let (event, _) = stream.expect("cti_profile_edited", |data| data["user_id"] == json!(user));
    assert_eq!(
        event.message["data"],
        json!({"user_id": user, "cti_profile_id": 3, "enabled": true})
    );
    assert_eq!(
        event.message["routing_key"],
        "config.user_cti_profile_association.edited"
    );
    api.expect(
        Request::put("/1.1/configuration/live_reload", r#"{"enabled": false}"#),
        204,
    );
    let (event, _) = stream.expect("live_reload_edited", |_| true);
    assert_eq!(event.message["data"], json!({"live_reload_enabled": false}));
    assert_eq!(event.message["routing_key"], "config.live_reload.edited");
    let device = api.create("/1.1/devices", json!({"mac": "00:11:22:33:44:55"}));
    let id = device["id"].as_str().expect("a text id").to_string();
    let (event, _) = stream.expect("device_created", has_id(id.as_str()));
    assert_eq!(event.message["routing_key"], "config.device.created");
    // a refused CTI change raises nothing: the next event is the user's
    api.expect(
        Request::put(
            &format!("/1.1/users/{user}/cti"),
            r#"{"cti_profile_id": 99}"#,
        ),
        400,
    );
    api.create_id("/1.1/users", json!({"firstname": "Next"}));
    let (_, before) = stream.expect("user_created", |data| data["id"] != json!(user));
    assert!(
        before.is_empty(),
        "{:?}",
        before.iter().map(|e| &e.name).collect::<Vec<_>>()
    );
}
