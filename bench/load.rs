//! The load generator: keep-alive HTTP/1.1 connections over loopback, split
//! across a few threads, each thread driving its connections with `poll(2)`
//! (the shape of `wrk -t2 -c16`: no thread per connection, so the client
//! spends little of the two cores it shares with the server).
//!
//! What each connection sends is a `Script`: it writes the next request and
//! checks each answer, so a scenario can carry state from one answer to the
//! next request (the id of the user just created, the Digest nonce and `nc`).
//! Every latency is kept, so percentiles are exact. Over HTTPS (`Plan::tls`)
//! each connection makes its TLS handshake first, then runs the same way.

use openssl::ssl::{Ssl, SslContext, SslStream};
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::fd::{AsRawFd, RawFd};
use std::time::{Duration, Instant};

/// What one connection sends, and how it judges the answers.
pub trait Script: Send {
    /// Appends the next request to `out` (which is empty).
    fn request(&mut self, out: &mut Vec<u8>);
    /// Checks an answer; an error is counted and the first one reported.
    fn response(&mut self, answer: &Answer) -> Result<(), String>;
}

/// A parsed response.
pub struct Answer<'a> {
    pub status: u16,
    pub head: &'a str,
    pub body: &'a [u8],
}

impl Answer<'_> {
    /// The first value of a header, by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.head.split("\r\n").skip(1).find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.trim()
                .eq_ignore_ascii_case(name)
                .then_some(value.trim())
        })
    }
}

#[derive(Debug, Default)]
pub struct Outcome {
    /// answers received in the measured window
    pub requests: u64,
    /// answers received in all, warm-up included
    pub answered: u64,
    pub errors: u64,
    pub first_error: Option<String>,
    pub measured: Duration,
    /// microseconds, one per measured request
    pub latencies: Vec<u32>,
}

impl Outcome {
    pub fn per_second(&self) -> f64 {
        self.requests as f64 / self.measured.as_secs_f64().max(1e-9)
    }

    /// Latency at `fraction` (0.5, 0.99), in milliseconds.
    pub fn percentile_ms(&self, fraction: f64) -> f64 {
        if self.latencies.is_empty() {
            return f64::NAN;
        }
        let rank = ((self.latencies.len() as f64 * fraction).ceil() as usize)
            .clamp(1, self.latencies.len());
        f64::from(self.latencies[rank - 1]) / 1000.0
    }

    fn merge(&mut self, other: Outcome) {
        self.requests += other.requests;
        self.answered += other.answered;
        self.errors += other.errors;
        if self.first_error.is_none() {
            self.first_error = other.first_error;
        }
        self.latencies.extend(other.latencies);
    }
}

pub struct Plan {
    pub address: SocketAddr,
    pub connections: usize,
    pub threads: usize,
    /// run, not counted, before measuring (caches filled, connections open)
    pub warmup: Duration,
    pub measure: Duration,
    /// HTTPS: the client's TLS context (one handshake per connection)
    pub tls: Option<SslContext>,
}

/// Runs `plan`; `script(n)` makes the script of connection n.
pub fn run(plan: &Plan, script: &(dyn Fn(usize) -> Box<dyn Script> + Sync)) -> Outcome {
    let started = Instant::now();
    let measure_from = started + plan.warmup;
    let measure_until = measure_from + plan.measure;
    let threads = plan.threads.clamp(1, plan.connections.max(1));
    let mut total = Outcome::default();
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|thread| {
                let mine: Vec<usize> = (0..plan.connections)
                    .filter(|n| n % threads == thread)
                    .collect();
                scope.spawn(move || {
                    drive(
                        plan.address,
                        plan.tls.as_ref(),
                        &mine,
                        script,
                        measure_from,
                        measure_until,
                    )
                })
            })
            .collect();
        for worker in workers {
            match worker.join() {
                Ok(outcome) => total.merge(outcome),
                Err(_) => {
                    total.errors += 1;
                    total
                        .first_error
                        .get_or_insert_with(|| "a load thread panicked".into());
                }
            }
        }
    });
    total.measured = plan.measure;
    total.latencies.sort_unstable();
    total
}

fn fail(outcome: &mut Outcome, message: String) {
    outcome.errors += 1;
    outcome.first_error.get_or_insert(message);
}

/// A connection's byte stream: plain TCP, or TLS over it.
enum Link {
    Plain(TcpStream),
    Tls(Box<SslStream<TcpStream>>),
}

impl Link {
    fn open(address: SocketAddr, tls: Option<&SslContext>) -> Result<Link, String> {
        let stream =
            TcpStream::connect(address).map_err(|error| format!("connect {address}: {error}"))?;
        stream.set_nodelay(true).ok();
        let link = match tls {
            None => Link::Plain(stream),
            Some(context) => {
                // the handshake blocks; the connection is driven by poll after it
                let ssl = Ssl::new(context).map_err(|e| format!("TLS: {e}"))?;
                let stream = ssl
                    .connect(stream)
                    .map_err(|e| format!("TLS handshake with {address}: {e}"))?;
                Link::Tls(Box::new(stream))
            }
        };
        link.tcp()
            .set_nonblocking(true)
            .map_err(|error| format!("nonblocking: {error}"))?;
        Ok(link)
    }

    fn tcp(&self) -> &TcpStream {
        match self {
            Link::Plain(stream) => stream,
            Link::Tls(stream) => stream.get_ref(),
        }
    }

    fn fd(&self) -> RawFd {
        self.tcp().as_raw_fd()
    }

    fn read(&mut self, buffer: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Link::Plain(stream) => stream.read(buffer),
            Link::Tls(stream) => stream.read(buffer),
        }
    }

    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        match self {
            Link::Plain(stream) => stream.write(data),
            Link::Tls(stream) => stream.write(data),
        }
    }

    /// Whether a read shorter than the buffer means the socket is drained:
    /// true for TCP; TLS hands out one record per read, so it is read
    /// until it would block (or bytes would wait in OpenSSL, unpolled).
    fn short_read_drains(&self) -> bool {
        matches!(self, Link::Plain(_))
    }
}

struct Connection {
    stream: Link,
    script: Box<dyn Script>,
    out: Vec<u8>,
    written: usize,
    input: Vec<u8>,
    sent_at: Instant,
}

fn drive(
    address: SocketAddr,
    tls: Option<&SslContext>,
    numbers: &[usize],
    script: &(dyn Fn(usize) -> Box<dyn Script> + Sync),
    measure_from: Instant,
    measure_until: Instant,
) -> Outcome {
    let mut outcome = Outcome::default();
    let mut connections = Vec::with_capacity(numbers.len());
    for &number in numbers {
        match Link::open(address, tls) {
            Ok(stream) => {
                connections.push(Connection {
                    stream,
                    script: script(number),
                    out: Vec::with_capacity(1024),
                    written: 0,
                    input: Vec::with_capacity(64 * 1024),
                    sent_at: Instant::now(),
                });
            }
            Err(error) => {
                fail(&mut outcome, error);
                return outcome;
            }
        }
    }
    for connection in &mut connections {
        connection.start();
    }
    let mut buffer = vec![0u8; 256 * 1024];
    let mut polled: Vec<libc::pollfd> = Vec::with_capacity(connections.len());
    loop {
        let now = Instant::now();
        if now >= measure_until || connections.is_empty() {
            break;
        }
        polled.clear();
        polled.extend(connections.iter().map(|c| libc::pollfd {
            fd: c.stream.fd(),
            events: if c.written < c.out.len() {
                libc::POLLOUT
            } else {
                libc::POLLIN
            },
            revents: 0,
        }));
        let wait_ms = (measure_until - now).as_millis().clamp(1, 100) as libc::c_int;
        // SAFETY: `polled` is a valid, initialised array of `polled.len()` pollfds
        let ready =
            unsafe { libc::poll(polled.as_mut_ptr(), polled.len() as libc::nfds_t, wait_ms) };
        if ready < 0 {
            let error = std::io::Error::last_os_error();
            if error.kind() == ErrorKind::Interrupted {
                continue;
            }
            fail(&mut outcome, format!("poll: {error}"));
            break;
        }
        let mut broken = Vec::new();
        for (index, entry) in polled.iter().enumerate() {
            if entry.revents == 0 {
                continue;
            }
            let connection = &mut connections[index];
            if connection.written < connection.out.len() {
                if let Err(error) = connection.write_some() {
                    fail(&mut outcome, format!("write: {error}"));
                    broken.push(index);
                }
                continue;
            }
            match connection.read_some(&mut buffer) {
                Ok(true) => {}
                Ok(false) => {
                    fail(&mut outcome, "the server closed the connection".into());
                    broken.push(index);
                    continue;
                }
                Err(error) => {
                    fail(&mut outcome, format!("read: {error}"));
                    broken.push(index);
                    continue;
                }
            }
            // one read may hold a whole answer (or, never here, several)
            while let Some(parsed) = parse(&connection.input) {
                let finished = Instant::now();
                let (status, head_end, body) = match parsed {
                    Ok(parsed) => parsed,
                    Err(message) => {
                        fail(&mut outcome, message);
                        broken.push(index);
                        break;
                    }
                };
                let head = String::from_utf8_lossy(&connection.input[..head_end]).into_owned();
                let consumed = body.consumed;
                let answer = Answer {
                    status,
                    head: &head,
                    body: &body.data,
                };
                let checked = connection.script.response(&answer);
                outcome.answered += 1;
                if finished >= measure_from && finished < measure_until {
                    outcome.requests += 1;
                    let micros = (finished - connection.sent_at).as_micros();
                    outcome
                        .latencies
                        .push(micros.min(u128::from(u32::MAX)) as u32);
                    if let Err(message) = checked {
                        fail(&mut outcome, message);
                    }
                }
                connection.input.drain(..head_end + consumed);
                connection.start();
                if connection.written < connection.out.len() {
                    break;
                }
            }
        }
        for index in broken.into_iter().rev() {
            connections.swap_remove(index);
        }
    }
    outcome
}

impl Connection {
    /// Writes the script's next request (as much as the socket takes now).
    fn start(&mut self) {
        self.out.clear();
        self.written = 0;
        self.script.request(&mut self.out);
        self.sent_at = Instant::now();
        // a small request on an idle socket goes out at once; the rest on POLLOUT
        self.write_some().ok();
    }

    fn write_some(&mut self) -> std::io::Result<()> {
        while self.written < self.out.len() {
            match self.stream.write(&self.out[self.written..]) {
                Ok(0) => return Err(ErrorKind::WriteZero.into()),
                Ok(count) => self.written += count,
                Err(error) if error.kind() == ErrorKind::WouldBlock => return Ok(()),
                Err(error) if error.kind() == ErrorKind::Interrupted => {}
                Err(error) => return Err(error),
            }
        }
        Ok(())
    }

    /// Reads what is there; false when the server closed the connection.
    fn read_some(&mut self, buffer: &mut [u8]) -> std::io::Result<bool> {
        loop {
            match self.stream.read(buffer) {
                Ok(0) => return Ok(false),
                Ok(count) => {
                    self.input.extend_from_slice(&buffer[..count]);
                    if count < buffer.len() && self.stream.short_read_drains() {
                        return Ok(true);
                    }
                }
                Err(error) if error.kind() == ErrorKind::WouldBlock => return Ok(true),
                Err(error) if error.kind() == ErrorKind::Interrupted => {}
                Err(error) => return Err(error),
            }
        }
    }
}

struct Body {
    data: Vec<u8>,
    /// bytes of the input after the head that the body took (chunk sizes included)
    consumed: usize,
}

/// A complete response at the start of `input`: (status, end of head, body);
/// None while more bytes are needed.
#[allow(clippy::type_complexity)]
fn parse(input: &[u8]) -> Option<Result<(u16, usize, Body), String>> {
    let head_end = find(input, b"\r\n\r\n")? + 4;
    let head = std::str::from_utf8(&input[..head_end]).ok();
    let Some(head) = head else {
        return Some(Err("a response head that is not UTF-8".into()));
    };
    let status: Option<u16> = head.split_whitespace().nth(1).and_then(|s| s.parse().ok());
    let Some(status) = status else {
        return Some(Err(format!("bad status line in {head:?}")));
    };
    let header = |name: &str| {
        head.split("\r\n").skip(1).find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.trim()
                .eq_ignore_ascii_case(name)
                .then_some(value.trim())
        })
    };
    let rest = &input[head_end..];
    if header("Transfer-Encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
        return dechunk(rest).map(|body| Ok((status, head_end, body)));
    }
    let length = match header("Content-Length") {
        Some(value) => match value.parse::<usize>() {
            Ok(length) => length,
            Err(_) => return Some(Err(format!("bad Content-Length {value:?}"))),
        },
        None if status == 204 || status == 304 || (100..200).contains(&status) => 0,
        None => return Some(Err(format!("no length in {head:?}"))),
    };
    (rest.len() >= length).then(|| {
        Ok((
            status,
            head_end,
            Body {
                data: rest[..length].to_vec(),
                consumed: length,
            },
        ))
    })
}

fn dechunk(mut rest: &[u8]) -> Option<Body> {
    let mut data = Vec::new();
    let mut consumed = 0;
    loop {
        let line_end = find(rest, b"\r\n")?;
        let size_text = std::str::from_utf8(&rest[..line_end]).ok()?;
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
        let chunk_start = line_end + 2;
        if rest.len() < chunk_start + size + 2 {
            return None;
        }
        data.extend_from_slice(&rest[chunk_start..chunk_start + size]);
        consumed += chunk_start + size + 2;
        rest = &rest[chunk_start + size + 2..];
        if size == 0 {
            return Some(Body { data, consumed });
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}

/// splitmix64: a fast, seedable generator for ids, offsets and terms.
pub struct Random(u64);

impl Random {
    pub fn new(seed: u64) -> Random {
        Random(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0xD1B5_4A32_D192_ED03)
    }

    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..bound` (bound > 0).
    pub fn below(&mut self, bound: u64) -> u64 {
        self.next() % bound.max(1)
    }
}
