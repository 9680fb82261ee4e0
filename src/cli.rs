//! Command-line parsing and the commands that are not the server.

use crate::auth::webservice;
use crate::config::Config;
use std::io::BufRead;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

pub const USAGE: &str = "\
usage:
  xivo-confd [--config FILE] serve
  xivo-confd [--config FILE] webservice add --login LOGIN [--password PASSWORD]
                                            [--host IP] [--acl ACL]...
  xivo-confd [--config FILE] webservice list
  xivo-confd [--config FILE] webservice remove --login LOGIN
  xivo-confd [--config FILE] call-logs import FILE|-
  xivo-confd [--config FILE] check-config [FILE]
  xivo-confd [--config FILE] backup FILE
  xivo-confd [--config FILE] restore FILE
  xivo-confd [--config FILE] demo

Without --config the embedded defaults apply (see xivo.toml.example).
Without --password, `webservice add` reads the password from the first line
of standard input, so it does not show in the process list.
`call-logs import` loads the call records of a CSV in the format of
GET /1.1/call_logs (`-`: standard input), all of them or none.
`check-config` reports every problem of a configuration file (FILE, or the
--config one) with its key, never a value, and fails if there is one.
`backup` copies the database, consistent, while the server runs; `restore`
checks a copy and puts it in place of the database, with the server stopped.
`demo` fills an empty database with a small company (once: a second run
changes nothing).";

pub fn run(args: &[String]) -> Result<(), String> {
    let mut config_path: Option<PathBuf> = None;
    let mut rest: Vec<&str> = Vec::new();
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        match arg.as_str() {
            "--config" | "-c" => {
                config_path = Some(iter.next().ok_or("--config needs a file")?.into());
            }
            "--help" | "-h" => {
                println!("{USAGE}");
                return Ok(());
            }
            "--version" | "-V" => {
                println!("xivo-confd {}", env!("CARGO_PKG_VERSION"));
                return Ok(());
            }
            other => rest.push(other),
        }
    }
    if let ["check-config", file @ ..] = rest.as_slice() {
        let file = match (file, &config_path) {
            ([file], _) => PathBuf::from(file),
            ([], Some(path)) => path.clone(),
            _ => return Err(format!("check-config needs a file\n{USAGE}")),
        };
        return check_config(&file);
    }
    let config = Config::load(config_path.as_deref())?;
    match rest.as_slice() {
        ["serve"] => {
            crate::logging::init(&config.log)?;
            crate::server::run(config)
        }
        ["webservice", "add", options @ ..] => webservice_add(&config, options),
        ["webservice", "list"] => webservice_list(&config),
        ["webservice", "remove", options @ ..] => {
            let options = Options::parse(options, &["--login"])?;
            let login = options.one("--login")?.ok_or("--login is required")?;
            let conn = crate::db::open(&config.database.path)?;
            if webservice::remove(&conn, login)? {
                println!("removed web-services user {login}");
                Ok(())
            } else {
                Err(format!("no web-services user {login}"))
            }
        }
        ["call-logs", "import", file] => call_logs_import(&config, file),
        ["backup", file] => {
            let size = crate::db::backup::backup(&config.database.path, Path::new(file))?;
            println!(
                "backed up {} to {file} ({size} bytes)",
                config.database.path.display()
            );
            Ok(())
        }
        ["restore", file] => {
            let checked = crate::db::backup::restore(&config.database.path, Path::new(file))?;
            println!(
                "restored {} from {file} (instance {}, schema version {})",
                config.database.path.display(),
                checked.uuid,
                checked.steps
            );
            if let Some(kept) = checked.kept {
                println!("the database it replaced is kept as {}", kept.display());
            }
            Ok(())
        }
        ["demo"] => {
            let conn = crate::db::open(&config.database.path)?;
            let report = crate::demo::load(&conn, &config)?;
            println!("{report}");
            Ok(())
        }
        [] => Err(format!("a command is needed\n{USAGE}")),
        _ => Err(format!("unknown command: {}\n{USAGE}", rest.join(" "))),
    }
}

fn webservice_add(config: &Config, options: &[&str]) -> Result<(), String> {
    let options = Options::parse(options, &["--login", "--password", "--host", "--acl"])?;
    let login = options.one("--login")?.ok_or("--login is required")?;
    let password = match options.one("--password")? {
        Some(password) => password.to_string(),
        None => {
            let mut line = String::new();
            std::io::stdin()
                .lock()
                .read_line(&mut line)
                .map_err(|e| format!("cannot read the password: {e}"))?;
            line.trim_end_matches(['\r', '\n']).to_string()
        }
    };
    let host: Option<IpAddr> = options
        .one("--host")?
        .map(|h| {
            h.parse()
                .map_err(|_| format!("--host {h:?} is not an IP address"))
        })
        .transpose()?;
    let acls: Vec<String> = options.all("--acl").map(str::to_string).collect();
    let conn = crate::db::open(&config.database.path)?;
    webservice::add(&conn, &config.auth.realm, login, &password, host, &acls)?;
    println!("added web-services user {login}");
    Ok(())
}

fn webservice_list(config: &Config) -> Result<(), String> {
    let conn = crate::db::open(&config.database.path)?;
    let users = webservice::load_all(&conn).map_err(|e| e.to_string())?;
    println!("{:<24} {:<40} ACLS", "LOGIN", "HOST");
    for user in users {
        let host = user
            .host
            .map(|h| h.to_string())
            .unwrap_or_else(|| "-".into());
        println!("{:<24} {:<40} {}", user.login, host, user.acls.join(","));
    }
    Ok(())
}

/// Prints every problem of the configuration file `file`, each with its
/// key; an error (a non-zero exit) if there is one.
fn check_config(file: &Path) -> Result<(), String> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    let (_, problems) = Config::examine(&text);
    if problems.is_empty() {
        println!("{}: ok", file.display());
        return Ok(());
    }
    for problem in &problems {
        eprintln!("{}: {problem}", file.display());
    }
    Err(format!(
        "{}: {} problem{}",
        file.display(),
        problems.len(),
        if problems.len() == 1 { "" } else { "s" }
    ))
}

/// Loads a CSV of call records in one transaction, read as it is loaded.
fn call_logs_import(config: &Config, file: &str) -> Result<(), String> {
    let conn = crate::db::open(&config.database.path)?;
    let input: Box<dyn BufRead> = if file == "-" {
        Box::new(std::io::stdin().lock())
    } else {
        let opened = std::fs::File::open(file).map_err(|e| format!("cannot open {file}: {e}"))?;
        Box::new(std::io::BufReader::with_capacity(64 * 1024, opened))
    };
    let tx = conn
        .unchecked_transaction()
        .map_err(|e| format!("cannot start a transaction: {e}"))?;
    let loaded = crate::resources::call_logs::import(&tx, input)
        .map_err(|e| format!("{file}: {}", e.message()))?;
    tx.commit()
        .map_err(|e| format!("cannot commit the call logs: {e}"))?;
    println!("loaded {loaded} call logs from {file}");
    Ok(())
}

/// `--name value` pairs, each name from an allowed list.
struct Options<'a> {
    pairs: Vec<(&'a str, &'a str)>,
}

impl<'a> Options<'a> {
    fn parse(args: &[&'a str], allowed: &[&str]) -> Result<Options<'a>, String> {
        let mut pairs = Vec::new();
        let mut iter = args.iter();
        while let Some(name) = iter.next() {
            if !allowed.contains(name) {
                return Err(format!("unknown option {name}\n{USAGE}"));
            }
            let value = iter.next().ok_or_else(|| format!("{name} needs a value"))?;
            pairs.push((*name, *value));
        }
        Ok(Options { pairs })
    }

    fn one(&self, name: &'a str) -> Result<Option<&'a str>, String> {
        let mut values = self.all(name);
        let first = values.next();
        if values.next().is_some() {
            return Err(format!("{name} given twice"));
        }
        Ok(first)
    }

    fn all(&self, name: &'a str) -> impl Iterator<Item = &'a str> + '_ {
        self.pairs
            .iter()
            .filter(move |(n, _)| *n == name)
            .map(|(_, v)| *v)
    }
}
