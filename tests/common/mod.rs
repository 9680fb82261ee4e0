//! Test harness: starts the real binary on ephemeral loopback ports with a
//! temporary database, and talks to it with a small HTTP/1.1 client over
//! plain TCP or TLS (native-tls, certificate checks off for the generated
//! self-signed certificate).

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use xivo_confd::resources::resource::{Op, Resource};
use xivo_confd::resources::{RESOURCES, contexts, endpoints, extensions, lines, users};

pub const ADMIN: &str = "admin";
pub const ADMIN_PASSWORD: &str = "proformatique";

static COUNTER: AtomicUsize = AtomicUsize::new(0);

pub fn binary() -> &'static str {
    env!("CARGO_BIN_EXE_xivo-confd")
}

pub struct TestServer {
    pub dir: PathBuf,
    pub config: PathBuf,
    pub http: String,
    pub https: String,
    pub auth: String,
    /// environment variables the serving process gets (at its next launch)
    pub env: Vec<(String, String)>,
    child: Option<Child>,
}

impl TestServer {
    /// A server with one web-services user, admin/proformatique.
    pub fn start() -> TestServer {
        Self::start_with("")
    }

    /// `extra` is appended to the generated config (TOML sections).
    pub fn start_with(extra: &str) -> TestServer {
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let dir = std::env::temp_dir().join(format!("xivo-it-{}-{n}", std::process::id()));
        std::fs::remove_dir_all(&dir).ok();
        std::fs::create_dir_all(&dir).expect("temp dir");
        let config = dir.join("xivo.toml");
        let base = format!(
            "[database]\npath = \"{}\"\n[http]\nlisten = \"127.0.0.1:0\"\n[https]\nlisten = \"127.0.0.1:0\"\n\
             [auth]\nlisten = \"127.0.0.1:0\"\n[log]\nlevel = \"info\"\nfile = \"{}\"\n",
            dir.join("xivo.db").display(),
            dir.join("server.log").display()
        );
        // `extra` sections are merged into the generated ones, key by key
        let mut table: toml::Table = base.parse().expect("base config");
        let extra: toml::Table = extra.parse().expect("extra config");
        for (section, values) in extra {
            match (table.get_mut(&section), values) {
                (Some(toml::Value::Table(existing)), toml::Value::Table(values)) => {
                    existing.extend(values)
                }
                (_, values) => {
                    table.insert(section, values);
                }
            }
        }
        let text = toml::to_string(&table).expect("config text");
        std::fs::write(&config, text).expect("config");
        let mut server = TestServer {
            dir,
            config,
            http: String::new(),
            https: String::new(),
            auth: String::new(),
            env: Vec::new(),
            child: None,
        };
        server.cli(&[
            "webservice",
            "add",
            "--login",
            ADMIN,
            "--password",
            ADMIN_PASSWORD,
        ]);
        server.launch();
        server
    }

    /// Starts (or restarts) the serving process and learns its ports.
    pub fn launch(&mut self) {
        self.launch_limited(None);
    }

    /// As `launch`, with the process unable to write files past
    /// `file_limit` bytes (RLIMIT_FSIZE): a full disk, as the server sees it.
    pub fn launch_limited(&mut self, file_limit: Option<u64>) {
        let mut command = Command::new(binary());
        command
            .args([
                "--config",
                self.config.to_str().expect("utf8 path"),
                "serve",
            ])
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        if let Some(limit) = file_limit {
            use std::os::unix::process::CommandExt;
            // SAFETY: setrlimit is async-signal-safe and touches only the child
            unsafe {
                command.pre_exec(move || {
                    let bound = libc::rlimit {
                        rlim_cur: limit,
                        rlim_max: limit,
                    };
                    if libc::setrlimit(libc::RLIMIT_FSIZE, &bound) != 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                    Ok(())
                });
            }
        }
        let mut child = command.spawn().expect("server starts");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("listening line");
        assert!(
            line.starts_with("xivo-confd listening"),
            "unexpected first line: {line:?}"
        );
        let address = |name: &str| {
            line.split_whitespace()
                .find_map(|part| part.strip_prefix(&format!("{name}=")))
                .unwrap_or_default()
                .to_string()
        };
        self.http = address("http");
        self.https = address("https");
        self.auth = address("auth");
        self.child = Some(child);
    }

    /// Runs a CLI command against the same config; panics on failure.
    pub fn cli(&self, args: &[&str]) -> String {
        let output = self.cli_output(args);
        assert!(
            output.status.success(),
            "cli {args:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    pub fn cli_output(&self, args: &[&str]) -> std::process::Output {
        Command::new(binary())
            .arg("--config")
            .arg(&self.config)
            .args(args)
            .output()
            .expect("cli runs")
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().map(|c| c.id()).unwrap_or(0)
    }

    /// Sends a signal and waits for the process to end; returns its status.
    pub fn stop_with(&mut self, signal: &str) -> Option<std::process::ExitStatus> {
        let mut child = self.child.take()?;
        Command::new("kill")
            .args([&format!("-{signal}"), &child.id().to_string()])
            .status()
            .ok();
        for _ in 0..100 {
            if let Ok(Some(status)) = child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        child.kill().ok();
        child.wait().ok()
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("server.log")).unwrap_or_default()
    }

    pub fn https_client(&self) -> Client {
        Client::tls(&self.https)
    }

    pub fn http_client(&self) -> Client {
        Client::plain(&self.http)
    }

    pub fn auth_client(&self) -> Client {
        Client::tls(&self.auth)
    }

    /// A fresh token for the admin web-services user.
    pub fn token(&self) -> String {
        let response = self.auth_client().send(
            Request::post("/0.1/token", r#"{"backend": "xivo_ws", "expiration": 600}"#)
                .basic(ADMIN, ADMIN_PASSWORD),
        );
        assert_eq!(response.status, 200, "token: {}", response.text());
        response.json()["data"]["token"]
            .as_str()
            .expect("token string")
            .to_string()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().ok();
            child.wait().ok();
        }
        std::fs::remove_dir_all(&self.dir).ok();
    }
}

pub struct Request {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    pub fn new(method: &str, path: &str) -> Request {
        Request {
            method: method.into(),
            path: path.into(),
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    pub fn get(path: &str) -> Request {
        Request::new("GET", path)
    }

    pub fn delete(path: &str) -> Request {
        Request::new("DELETE", path)
    }

    pub fn post(path: &str, json: &str) -> Request {
        Request::new("POST", path).json_body(json)
    }

    pub fn put(path: &str, json: &str) -> Request {
        Request::new("PUT", path).json_body(json)
    }

    pub fn json_body(mut self, json: &str) -> Request {
        self.body = json.as_bytes().to_vec();
        self.header("Content-Type", "application/json")
    }

    pub fn header(mut self, name: &str, value: &str) -> Request {
        self.headers.push((name.into(), value.into()));
        self
    }

    pub fn token(self, token: &str) -> Request {
        self.header("X-Auth-Token", token)
    }

    pub fn basic(self, login: &str, password: &str) -> Request {
        let encoded = base64(format!("{login}:{password}").as_bytes());
        self.header("Authorization", &format!("Basic {encoded}"))
    }
}

#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn headers_named(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", self.text()))
    }

    /// The error list's messages; panics unless the body is a list of strings.
    pub fn errors(&self) -> Vec<String> {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not a JSON error list ({e}): {:?}", self.text()))
    }
}

pub trait Stream: Read + Write {}
impl<T: Read + Write> Stream for T {}

/// A keep-alive HTTP/1.1 connection.
pub struct Client {
    address: String,
    tls: bool,
    /// local address to connect from (another 127.x address), if any
    local: Option<String>,
    stream: Option<BufReader<Box<dyn Stream>>>,
}

impl Client {
    pub fn plain(address: &str) -> Client {
        Client {
            address: address.into(),
            tls: false,
            local: None,
            stream: None,
        }
    }

    pub fn tls(address: &str) -> Client {
        Client {
            address: address.into(),
            tls: true,
            local: None,
            stream: None,
        }
    }

    /// Connects from `local_ip` (e.g. 127.0.0.2: the whole 127/8 is loopback).
    pub fn bound_to(mut self, local_ip: &str) -> Client {
        self.local = Some(local_ip.into());
        self
    }

    pub fn connect(address: &str, tls: bool) -> Box<dyn Stream> {
        Self::connect_from(address, tls, None)
    }

    pub fn connect_from(address: &str, tls: bool, local: Option<&str>) -> Box<dyn Stream> {
        let tcp = match local {
            None => TcpStream::connect(address).expect("connect"),
            Some(ip) => {
                let target: std::net::SocketAddr = address.parse().expect("address");
                let socket =
                    socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None)
                        .expect("socket");
                let from: std::net::SocketAddr = format!("{ip}:0").parse().expect("local address");
                socket.bind(&from.into()).expect("bind local address");
                socket.connect(&target.into()).expect("connect");
                socket.into()
            }
        };
        tcp.set_read_timeout(Some(Duration::from_secs(10))).ok();
        tcp.set_nodelay(true).ok();
        if !tls {
            return Box::new(tcp);
        }
        let connector = native_tls::TlsConnector::builder()
            .danger_accept_invalid_certs(true)
            .danger_accept_invalid_hostnames(true)
            .build()
            .expect("tls connector");
        Box::new(connector.connect("localhost", tcp).expect("tls handshake"))
    }

    pub fn send(&mut self, request: Request) -> Response {
        if self.stream.is_none() {
            let stream = Self::connect_from(&self.address, self.tls, self.local.as_deref());
            self.stream = Some(BufReader::new(stream));
        }
        let reader = self.stream.as_mut().expect("stream");
        write_request(reader.get_mut(), &request, &self.address);
        let response = read_response(reader, &request.method);
        if response
            .header("Connection")
            .is_some_and(|v| v.eq_ignore_ascii_case("close"))
        {
            self.stream = None;
        }
        response
    }
}

pub fn write_request(stream: &mut dyn Stream, request: &Request, host: &str) {
    let mut head = format!(
        "{} {} HTTP/1.1\r\nHost: {host}\r\n",
        request.method, request.path
    );
    for (name, value) in &request.headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str(&format!("Content-Length: {}\r\n\r\n", request.body.len()));
    stream.write_all(head.as_bytes()).expect("write head");
    stream.write_all(&request.body).expect("write body");
    stream.flush().expect("flush");
}

pub fn read_response(reader: &mut dyn BufRead, method: &str) -> Response {
    let mut line = String::new();
    reader.read_line(&mut line).expect("status line");
    let status: u16 = line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("bad status line {line:?}"));
    let mut headers = Vec::new();
    loop {
        let mut header = String::new();
        reader.read_line(&mut header).expect("header");
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            headers.push((name.trim().to_string(), value.trim().to_string()));
        }
    }
    let mut response = Response {
        status,
        headers,
        body: Vec::new(),
    };
    if method == "HEAD" || status == 204 || status == 304 {
        return response;
    }
    if let Some(length) = response
        .header("Content-Length")
        .and_then(|v| v.parse::<usize>().ok())
    {
        let mut body = vec![0; length];
        reader.read_exact(&mut body).expect("body");
        response.body = body;
    } else if response
        .header("Transfer-Encoding")
        .is_some_and(|v| v.eq_ignore_ascii_case("chunked"))
    {
        loop {
            let mut size = String::new();
            reader.read_line(&mut size).expect("chunk size");
            let size = usize::from_str_radix(size.trim(), 16).expect("chunk size hex");
            let mut chunk = vec![0; size + 2];
            reader.read_exact(&mut chunk).expect("chunk");
            if size == 0 {
                break;
            }
            response.body.extend_from_slice(&chunk[..size]);
        }
    } else {
        reader.read_to_end(&mut response.body).ok();
    }
    response
}

pub fn base64(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Answers a Digest challenge for `method uri`, with the digest_auth client.
pub fn digest_header(
    challenge: &str,
    login: &str,
    password: &str,
    method: &str,
    uri: &str,
    nc: u32,
) -> String {
    let mut prompt =
        digest_auth::WwwAuthenticateHeader::parse(challenge).expect("challenge parses");
    prompt.nc = nc - 1;
    let mut context = digest_auth::AuthContext::new(login, password, uri);
    context.method = digest_auth::HttpMethod::from(method.to_string());
    prompt
        .respond(&context)
        .expect("digest answer")
        .to_header_string()
}

/// A server, a token and a keep-alive HTTPS connection: what most API tests need.
/// The keys of a JSON object, sorted (the fields an answer shows).
pub fn sorted_keys(object: &serde_json::Value) -> Vec<&str> {
    let mut keys: Vec<&str> = object
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    keys
}

pub struct Api {
    pub server: TestServer,
    pub token: String,
    pub client: Client,
}

impl Api {
    pub fn new() -> Api {
        Api::on(TestServer::start())
    }

    /// An API client of `server`, with a token.
    pub fn on(server: TestServer) -> Api {
        let token = server.token();
        let client = server.https_client();
        Api {
            server,
            token,
            client,
        }
    }

    pub fn send(&mut self, request: Request) -> Response {
        self.client.send(request.token(&self.token))
    }

    /// Sends and checks the status, showing the body when it differs.
    pub fn expect(&mut self, request: Request, status: u16) -> Response {
        let what = format!("{} {}", request.method, request.path);
        let response = self.send(request);
        assert_eq!(response.status, status, "{what}: {}", response.text());
        response
    }

    pub fn get(&mut self, path: &str) -> serde_json::Value {
        self.expect(Request::get(path), 200).json()
    }

    /// POSTs and expects 201; returns the created object.
    pub fn create(&mut self, path: &str, body: serde_json::Value) -> serde_json::Value {
        self.expect(Request::post(path, &body.to_string()), 201)
            .json()
    }

    /// DELETEs and expects 204.
    pub fn delete(&mut self, path: &str) {
        self.expect(Request::delete(path), 204);
    }

    /// Creates and returns the new object's id.
    pub fn create_id(&mut self, path: &str, body: serde_json::Value) -> i64 {
        self.create(path, body)["id"].as_i64().expect("id")
    }

    /// Expects `status` with one error message that starts with `prefix`.
    pub fn refused_with(&mut self, request: Request, status: u16, prefix: &str) {
        let message = self.refused(request, status);
        assert!(
            message.starts_with(prefix),
            "expected {prefix:?}..., got {message:?}"
        );
    }

    /// Expects a 400 (or other status) and returns its single error message.
    pub fn refused(&mut self, request: Request, status: u16) -> String {
        let response = self.expect(request, status);
        let errors = response.errors();
        assert_eq!(errors.len(), 1, "{errors:?}");
        errors[0].clone()
    }
}

/// One object of each telephony kind, tied together as in the reference's
/// canonical flow: a user on a line with a SIP endpoint and an extension;
/// an SCCP endpoint and a context stand alone.
pub struct Flow {
    pub user: i64,
    pub user_uuid: String,
    pub line: i64,
    pub sip: i64,
    pub sccp: i64,
    pub extension: i64,
    pub context: i64,
}

/// Builds a `Flow`; `exten` (in `default`) and `context` must be unused.
pub fn canonical_flow(client: &mut Client, token: &str, context: &str, exten: &str) -> Flow {
    let mut send = |request: Request, status: u16| -> serde_json::Value {
        let what = format!("{} {}", request.method, request.path);
        let response = client.send(request.token(token));
        assert_eq!(response.status, status, "{what}: {}", response.text());
        if response.body.is_empty() {
            serde_json::Value::Null
        } else {
            response.json()
        }
    };
    let mut create =
        |path: &str, body: serde_json::Value| send(Request::post(path, &body.to_string()), 201);
    let id = |object: &serde_json::Value| object["id"].as_i64().expect("id");
    let context = id(&create(
        "/1.1/contexts",
        serde_json::json!({
            "name": context,
            "type": "internal",
            "user_ranges": [{"start": "2000", "end": "2999"}],
        }),
    ));
    let line = id(&create(
        "/1.1/lines",
        serde_json::json!({"context": "default"}),
    ));
    let sip = id(&create("/1.1/endpoints/sip", serde_json::json!({})));
    let sccp = id(&create("/1.1/endpoints/sccp", serde_json::json!({})));
    let extension = id(&create(
        "/1.1/extensions",
        serde_json::json!({"exten": exten, "context": "default"}),
    ));
    let user = create(
        "/1.1/users",
        serde_json::json!({"firstname": "Flow", "lastname": exten}),
    );
    send(
        Request::new("PUT", &format!("/1.1/lines/{line}/endpoints/sip/{sip}")),
        204,
    );
    let link = serde_json::json!({"extension_id": extension}).to_string();
    send(
        Request::post(&format!("/1.1/lines/{line}/extensions"), &link),
        201,
    );
    let join = serde_json::json!({"line_id": line}).to_string();
    send(
        Request::post(&format!("/1.1/users/{}/lines", id(&user)), &join),
        201,
    );
    Flow {
        user: id(&user),
        user_uuid: user["uuid"].as_str().expect("uuid").to_string(),
        line,
        sip,
        sccp,
        extension,
        context,
    }
}

impl Flow {
    /// Its objects, by the path parameter naming them.
    pub fn ids(&self) -> [(&'static str, i64); 6] {
        [
            (users::USERS.param, self.user),
            (lines::LINES.param, self.line),
            (endpoints::SIP.param, self.sip),
            (endpoints::SCCP.param, self.sccp),
            (extensions::EXTENSIONS.param, self.extension),
            (contexts::CONTEXTS.param, self.context),
        ]
    }
}

/// A real object for every path parameter of the declared resources: the
/// canonical flow's, then, for each resource of `RESOURCES` whose parameter
/// names none yet, one created from its example.
pub struct Fixtures {
    /// path parameter (`user`) -> id
    pub ids: BTreeMap<&'static str, String>,
    /// the same objects' uuids, for resources a path may name by uuid
    pub uuids: BTreeMap<&'static str, String>,
}

impl Fixtures {
    /// `context` and `exten` as for `canonical_flow`; `used` counts the
    /// `{unique}` numbers taken.
    pub fn make(
        client: &mut Client,
        token: &str,
        context: &str,
        exten: &str,
        used: &mut u64,
    ) -> Fixtures {
        let flow = canonical_flow(client, token, context, exten);
        let mut ids: BTreeMap<&'static str, String> = flow
            .ids()
            .into_iter()
            .map(|(name, id)| (name, id.to_string()))
            .collect();
        for resource in RESOURCES {
            if !ids.contains_key(resource.param) && resource.ops.contains(&Op::Create) {
                let created = create_example(client, token, resource, used);
                ids.insert(resource.param, id_of(&created));
            }
        }
        // a function key's position names no object: any positive number
        ids.insert("position", "1".into());
        let mut uuids = BTreeMap::new();
        for resource in RESOURCES.iter().filter(|r| r.by_uuid) {
            let Some(id) = ids.get(resource.param) else {
                continue;
            };
            let path = format!("/1.1/{}/{id}", resource.collection);
            let shown = client.send(Request::get(&path).token(token));
            assert_eq!(shown.status, 200, "GET {path}: {}", shown.text());
            let uuid = shown.json()["uuid"].as_str().map(str::to_string);
            uuids.insert(resource.param, uuid.expect("uuid"));
        }
        Fixtures { ids, uuids }
    }

    /// The fixture of `{name}`: its uuid if asked and it has one, else its id.
    pub fn named(&self, name: &str, by_uuid: bool) -> &str {
        let uuid = self.uuids.get(name).filter(|_| by_uuid);
        uuid.or_else(|| self.ids.get(name)).unwrap_or_else(|| {
            panic!(
                "no fixture for {{{name}}}: the resource it names needs Op::Create \
                 and a valid example in its declaration"
            )
        })
    }

    /// `/1.1/users/{user}/lines` with every `{name}` replaced by its fixture's id.
    pub fn concrete(&self, pattern: &str) -> String {
        self.fill(pattern, false)
    }

    /// The same, by uuid where the fixture has one.
    pub fn concrete_by_uuid(&self, pattern: &str) -> String {
        self.fill(pattern, true)
    }

    fn fill(&self, pattern: &str, by_uuid: bool) -> String {
        let mut out = String::new();
        let mut rest = pattern;
        while let Some(start) = rest.find('{') {
            let end = rest[start..]
                .find('}')
                .map(|end| start + end)
                .unwrap_or_else(|| panic!("unclosed {{ in {pattern}"));
            out.push_str(&rest[..start]);
            out.push_str(self.named(&rest[start + 1..end], by_uuid));
            rest = &rest[end + 1..];
        }
        out.push_str(rest);
        out
    }
}

/// The next `{unique}` number.
pub fn next_unique(used: &mut u64) -> u64 {
    *used += 1;
    *used
}

/// Fills `{unique}` placeholders with a number not used before.
pub fn fill_unique(value: &mut serde_json::Value, unique: u64) {
    match value {
        serde_json::Value::String(text) if text.contains("{unique}") => {
            // three digits: extensions stay inside the default range 1000-1999
            *text = text.replace("{unique}", &format!("{:03}", 2 + unique % 998));
        }
        serde_json::Value::Object(map) => map.values_mut().for_each(|v| fill_unique(v, unique)),
        _ => {}
    }
}

/// A resource's declared example, `{unique}` left in.
pub fn example_of(resource: &Resource) -> serde_json::Value {
    serde_json::from_str(resource.example)
        .unwrap_or_else(|e| panic!("the example of {} is not JSON: {e}", resource.name))
}

/// Creates an object of `resource` from its example; returns what the 201 showed.
pub fn create_example(
    client: &mut Client,
    token: &str,
    resource: &Resource,
    used: &mut u64,
) -> serde_json::Value {
    let mut body = example_of(resource);
    fill_unique(&mut body, next_unique(used));
    let path = format!("/1.1/{}", resource.collection);
    let response = client.send(Request::post(&path, &body.to_string()).token(token));
    assert_eq!(
        response.status,
        201,
        "POST {path} with the example of {}, {body}: {}",
        resource.name,
        response.text()
    );
    response.json()
}

/// The `id` of a created object, as a path segment: a number, or a text
/// id (a device's 32 hex characters).
pub fn id_of(object: &serde_json::Value) -> String {
    match &object["id"] {
        serde_json::Value::String(text) => text.clone(),
        other => other.as_i64().expect("id").to_string(),
    }
}

/// Two writers, `a` and `b`, each running `create_users_until` on a thread
/// of its own against `server`, until `stop`.
pub struct Writers {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    threads: Vec<std::thread::JoinHandle<Vec<(String, std::time::Instant)>>>,
}

impl Writers {
    pub fn start(server: &TestServer, firstname: &'static str) -> Writers {
        let token = server.token();
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let threads = ["a", "b"]
            .into_iter()
            .map(|name| {
                let (https, token, stop) = (server.https.clone(), token.clone(), stop.clone());
                std::thread::spawn(move || {
                    create_users_until(&https, &token, firstname, name, &stop)
                })
            })
            .collect();
        Writers { stop, threads }
    }

    /// Stops them; what each had acknowledged, with when.
    pub fn stop(self) -> Vec<Vec<(String, std::time::Instant)>> {
        self.stop.store(true, Ordering::Relaxed);
        self.threads
            .into_iter()
            .map(|thread| thread.join().expect("writer"))
            .collect()
    }
}

/// Creates users (`firstname`, lastname `<name>-<sequence>`) over one HTTPS
/// connection until `stop`; returns each acknowledged lastname with when
/// its 201 came, in order. Any other answer fails the test.
pub fn create_users_until(
    https: &str,
    token: &str,
    firstname: &str,
    name: &str,
    stop: &std::sync::atomic::AtomicBool,
) -> Vec<(String, std::time::Instant)> {
    let mut client = Client::tls(https);
    let mut acknowledged = Vec::new();
    let mut sequence = 0;
    while !stop.load(Ordering::Relaxed) {
        let lastname = format!("{name}-{sequence:06}");
        let response = client.send(
            Request::post(
                "/1.1/users",
                &serde_json::json!({"firstname": firstname, "lastname": lastname}).to_string(),
            )
            .token(token),
        );
        assert_eq!(response.status, 201, "{}", response.text());
        acknowledged.push((lastname, std::time::Instant::now()));
        sequence += 1;
    }
    acknowledged
}
