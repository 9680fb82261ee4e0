//! `/1.1/devices`: the phones, kept in the box's own store (XiVO 15.20 kept
//! them in its provisioning daemon, provd), with the plugins that provision
//! them (`/1.1/devices/plugins`) and the templates they may share
//! (`/1.1/devices/templates`).
//!
//! A device is known by a text id of 32 hex characters (`Resource::text_id`).
//! Its status is never stored: a device without a plugin is
//! `not_configured` (provd could not configure it); with one, it is
//! `configured` once it carries a line provd could provision (a SIP line
//! with an extension, or an SCCP line), and `autoprov` until then, as provd
//! kept a device on its autoprov config until confd gave it lines.
//!
//! Lines name their device (`lines.device_id`); the routes of this file put
//! a line on a device and take it off (only for requests from the box
//! itself, as the reference), reset a device to autoprov (its lines are
//! freed, its template and options dropped) and record a synchronization
//! request.

use super::fields::{Field, Refers, Values};
use super::lines::LINES;
use super::resource::{Hooks, Resource};
use super::{Ctx, set_value, value_of};
use crate::db::list::ListSpec;
use crate::error::{ApiError, ApiResult, meta};
use crate::http::ApiResponse;
use rusqlite::types::Value as SqlValue;
use rusqlite::{OptionalExtension, Row};
use serde_json::{Map, Value};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The reference's words for a wrong text type.
const TEXT: &str = "a unicode string";

// ---- plugins ----

pub static PLUGINS: Resource = Resource {
    name: "Plugin",
    collection: "devices/plugins",
    rel: "device_plugins",
    table: "device_plugins",
    fields: &[
        Field::text("name", 64)
            .required()
            .sorted()
            .searched()
            .expects(TEXT)
            .check(check_plugin_name)
            .doc(
                "The plugin's name, as devices name it (`xivo-aastra-3.3.1-SP4`): letters, \
                 digits, `.`, `_` and `-`; unique. Devices follow a rename.",
            ),
        Field::text("version", 64)
            .sorted()
            .searched()
            .expects(TEXT)
            .doc("The plugin's version."),
        Field::text("description", 1024)
            .searched()
            .expects(TEXT)
            .doc("What the plugin provisions."),
    ],
    list: ListSpec::derived("name"),
    param: "device_plugin",
    param_doc: "The plugin's id.",
    tag: "devices",
    unique: &[&["name"]],
    example: r#"{"name": "xivo-plugin-{unique}", "version": "1.0"}"#,
    ..Resource::BASE
};

fn check_plugin_name(value: &str) -> Result<(), String> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-');
    if !value.is_empty() && value.chars().all(allowed) {
        Ok(())
    } else {
        Err("wrong type. Should be a plugin name (letters, digits, '.', '_', '-')".into())
    }
}

/// `plugin`: an existing plugin, by name (the reference's message names no value).
const PLUGIN: Refers = Refers {
    name: "Plugin",
    table: "device_plugins",
    column: "name",
    shows_value: false,
};

// ---- device templates ----

pub static TEMPLATES: Resource = Resource {
    name: "DeviceTemplate",
    collection: "devices/templates",
    rel: "device_templates",
    table: "device_templates",
    text_id: Some("public_id"),
    fields: &[Field::text("label", 128)
        .sorted()
        .searched()
        .expects(TEXT)
        .doc("What the template is for.")],
    list: ListSpec::derived("label"),
    param: "device_template",
    param_doc: "The template's id: `defaultconfigdevice` (the stock one), or 32 hex \
                characters the server made.",
    tag: "devices",
    example: r#"{"label": "Template {unique}"}"#,
    ..Resource::BASE
};

/// `template_id`: an existing template, by its id.
const TEMPLATE: Refers = Refers {
    name: "DeviceTemplate",
    table: "device_templates",
    column: "public_id",
    shows_value: false,
};

// ---- devices ----

pub const FIELDS: &[Field] = &[
    Field::text("ip", 128)
        .expects(TEXT)
        .check(check_ip)
        .doc("IPv4 address (`10.0.0.1`)."),
    Field::text("mac", 128)
        .expects(TEXT)
        .empty_is_null()
        .check(check_mac)
        .doc(
            "MAC address (`aa:bb:cc:dd:ee:ff`), stored in lower case; unique, whatever \
             its case. An empty string is stored as null.",
        ),
    Field::text("sn", 128).expects(TEXT).doc("Serial number."),
    Field::text("plugin", 64)
        .expects(TEXT)
        .empty_is_null()
        .refers(PLUGIN)
        .doc(
            "The plugin provisioning the device (`GET /devices/plugins`); without one \
             the device is `not_configured`. An empty string is stored as null.",
        ),
    Field::text("vendor", 128).expects(TEXT).doc("Vendor name."),
    Field::text("model", 128).expects(TEXT).doc("Device model."),
    Field::text("version", 128)
        .expects(TEXT)
        .doc("Firmware version."),
    Field::text("description", 1024)
        .expects(TEXT)
        .doc("Free text about the device."),
    Field::text("template_id", 128)
        .expects(TEXT)
        .empty_is_null()
        .refers(TEMPLATE)
        .doc(
            "The device template it follows (`GET /devices/templates`), or null. An \
             empty string is stored as null.",
        ),
    Field::object("options", &["switchboard"])
        .expects("a dict-like structure")
        .doc(
            "Standard keys (`switchboard`: a boolean, whether the device is a \
             switchboard) and any others, kept as given; null for none.",
        ),
];

/// The status, from the device's plugin and lines (see the module's words).
macro_rules! status_sql {
    () => {
        "CASE WHEN devices.plugin IS NULL THEN 'not_configured' \
        WHEN EXISTS (SELECT 1 FROM lines WHERE lines.device_id = devices.public_id \
            AND (lines.endpoint_sccp_id IS NOT NULL OR (lines.endpoint_sip_id IS NOT NULL \
            AND EXISTS (SELECT 1 FROM line_extensions \
                WHERE line_extensions.line_id = lines.id)))) \
        THEN 'configured' ELSE 'autoprov' END"
    };
}

pub const STATUSES: &[&str] = &["not_configured", "autoprov", "configured"];

pub static DEVICES: Resource = Resource {
    name: "Device",
    collection: "devices",
    rel: "devices",
    table: "devices",
    fields: FIELDS,
    read_only: &["id", "status", "synchronize_requested_at", "links"],
    text_id: Some("public_id"),
    list: ListSpec {
        from: "devices",
        select: concat!(
            "devices.public_id, devices.ip, devices.mac, devices.sn, devices.plugin, \
            devices.vendor, devices.model, devices.version, devices.description, \
            devices.template_id, devices.options, ",
            status_sql!(),
            ", devices.synchronize_requested_at"
        ),
        // what the reference sorted by (its provd keys)
        columns: &[
            ("id", "devices.public_id"),
            ("ip", "devices.ip"),
            ("mac", "devices.mac"),
            ("sn", "devices.sn"),
            ("plugin", "devices.plugin"),
            ("vendor", "devices.vendor"),
            ("model", "devices.model"),
            ("version", "devices.version"),
            ("description", "devices.description"),
            ("options", "devices.options"),
        ],
        default_order: "ip",
        search_text: Some(SEARCH),
        id: "devices.id",
        covering: &[],
    },
    to_json: Some(device_json),
    param: "device",
    param_doc: "The device's id (32 hex characters).",
    tag: "devices",
    unique: &[&["mac"]],
    example: r#"{"ip": "10.0.0.1", "vendor": "Aastra", "model": "6731i", "description": "Desk phone {unique}"}"#,
    hooks: Hooks {
        before_write: Some(before_write),
        before_delete: Some(refuse_delete_with_lines),
        ..Hooks::NONE
    },
    ..Resource::BASE
};

/// What a search looks in: the reference's provd keys but `options`.
const SEARCH: &str = "casefold(devices.public_id || char(10) || coalesce(devices.ip, '') || \
    char(10) || coalesce(devices.mac, '') || char(10) || coalesce(devices.sn, '') || char(10) || \
    coalesce(devices.plugin, '') || char(10) || coalesce(devices.vendor, '') || char(10) || \
    coalesce(devices.model, '') || char(10) || coalesce(devices.version, '') || char(10) || \
    coalesce(devices.description, ''))";

fn device_json(ctx: &Ctx, row: &Row) -> rusqlite::Result<Value> {
    let text = |index: usize| -> rusqlite::Result<Value> {
        Ok(row
            .get::<_, Option<String>>(index)?
            .map(Value::String)
            .unwrap_or(Value::Null))
    };
    let id: String = row.get(0)?;
    let mut object = Map::new();
    for (index, name) in [
        (1, "ip"),
        (2, "mac"),
        (3, "sn"),
        (4, "plugin"),
        (5, "vendor"),
        (6, "model"),
        (7, "version"),
        (8, "description"),
        (9, "template_id"),
    ] {
        object.insert(name.into(), text(index)?);
    }
    let options = super::fields::to_json(FIELDS[9].kind, row.get(10)?);
    object.insert("options".into(), options);
    object.insert("status".into(), text(11)?);
    object.insert("synchronize_requested_at".into(), text(12)?);
    object.insert(
        "links".into(),
        Value::Array(vec![DEVICES.link_to(ctx, &id)]),
    );
    object.insert("id".into(), Value::String(id));
    Ok(Value::Object(object))
}

/// The MAC address is kept in lower case (its uniqueness ignores case).
fn before_write(_ctx: &Ctx, _id: Option<i64>, values: &mut Values) -> ApiResult<()> {
    if let Some(SqlValue::Text(mac)) = value_of(values, "mac") {
        let lower = mac.to_ascii_lowercase();
        set_value(values, "mac", SqlValue::Text(lower));
    }
    Ok(())
}

/// `Device is associated with a Line ('device_id': '...', 'line_ids': (1,))`:
/// the reference listed the lines as a Python tuple.
fn refuse_delete_with_lines(ctx: &Ctx, id: i64) -> ApiResult<()> {
    let device = DEVICES.path_key(ctx, id)?;
    let lines = lines_of(ctx, &device)?;
    if lines.is_empty() {
        return Ok(());
    }
    let tuple = match lines.as_slice() {
        [one] => format!("({one},)"),
        many => {
            let ids: Vec<String> = many.iter().map(i64::to_string).collect();
            format!("({})", ids.join(", "))
        }
    };
    Err(ApiError::resource(format!(
        "Device is associated with a Line ('device_id': '{device}', 'line_ids': {tuple})"
    )))
}

/// The ids of the lines on a device, in id order.
fn lines_of(ctx: &Ctx, device: &str) -> ApiResult<Vec<i64>> {
    let mut statement = ctx
        .conn
        .prepare_cached("SELECT id FROM lines WHERE device_id = ?1 ORDER BY id")?;
    let ids = statement
        .query_map([device], |row| row.get(0))?
        .collect::<rusqlite::Result<Vec<i64>>>()?;
    Ok(ids)
}

/// The device's row id and text id, from the route's `{device}`.
fn resolve_device(ctx: &Ctx) -> ApiResult<(i64, String)> {
    let id = DEVICES.resolve_param(ctx)?;
    Ok((id, DEVICES.path_key(ctx, id)?))
}

fn status_of(ctx: &Ctx, id: i64) -> ApiResult<String> {
    Ok(ctx
        .conn
        .prepare_cached(concat!(
            "SELECT ",
            status_sql!(),
            " FROM devices WHERE id = ?1"
        ))?
        .query_row([id], |row| row.get(0))?)
}

/// `GET /1.1/devices/{device}/synchronize`: the request and its time are
/// recorded (`synchronize_requested_at`); provd refused a device it had not
/// configured, so is a device without a plugin here.
pub fn synchronize(ctx: &mut Ctx) -> ApiResult<ApiResponse> {
    let (id, device) = resolve_device(ctx)?;
    if status_of(ctx, id)? == "not_configured" {
        return Err(ApiError::resource(format!(
            "Device is not configured: it has no plugin {}",
            meta(&[("id", Value::from(device))])
        )));
    }
    ctx.conn
        .prepare_cached(
            "UPDATE devices SET synchronize_requested_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') \
             WHERE id = ?1",
        )?
        .execute([id])?;
    Ok(ApiResponse::no_content())
}

/// `GET /1.1/devices/{device}/autoprov`: back to a fresh autoprov state, as
/// provd's new autoprov config: no template, no options, no lines.
pub fn autoprov(ctx: &mut Ctx) -> ApiResult<ApiResponse> {
    let (id, device) = resolve_device(ctx)?;
    ctx.conn
        .prepare_cached("UPDATE lines SET device_id = NULL WHERE device_id = ?1")?
        .execute([&device])?;
    ctx.conn
        .prepare_cached("UPDATE devices SET template_id = NULL, options = NULL WHERE id = ?1")?
        .execute([id])?;
    Ok(ApiResponse::no_content())
}

/// `GET /1.1/devices/{device}/associate_line/{line}`: the line is on the
/// device (moved from another one it was on).
pub fn associate_line(ctx: &mut Ctx) -> ApiResult<ApiResponse> {
    from_the_box_itself(ctx)?;
    let (_, device) = resolve_device(ctx)?;
    let line = LINES.resolve_param(ctx)?;
    ctx.conn
        .prepare_cached("UPDATE lines SET device_id = ?1 WHERE id = ?2 AND device_id IS NOT ?1")?
        .execute(rusqlite::params![device, line])?;
    Ok(ApiResponse::no_content())
}

/// `GET /1.1/devices/{device}/remove_line/{line}`: the line leaves the
/// device; 400 when it is not on it.
pub fn remove_line(ctx: &mut Ctx) -> ApiResult<ApiResponse> {
    from_the_box_itself(ctx)?;
    let (_, device) = resolve_device(ctx)?;
    let line = LINES.resolve_param(ctx)?;
    let removed = ctx
        .conn
        .prepare_cached("UPDATE lines SET device_id = NULL WHERE id = ?1 AND device_id = ?2")?
        .execute(rusqlite::params![line, device])?;
    if removed == 0 {
        return Err(ApiError::resource(format!(
            "Line is not associated with Device {}",
            meta(&[
                ("line_id", Value::from(line)),
                ("device_id", Value::from(device))
            ])
        )));
    }
    Ok(ApiResponse::no_content())
}

/// The reference served the line routes to the box itself only (the web
/// interface, on 127.0.0.1): 403 for any other peer.
fn from_the_box_itself(ctx: &Ctx) -> ApiResult<()> {
    match ctx.request.peer {
        Some(IpAddr::V4(address)) if address == Ipv4Addr::LOCALHOST => Ok(()),
        Some(IpAddr::V6(address)) if address == Ipv6Addr::LOCALHOST => Ok(()),
        _ => Err(ApiError::Forbidden(
            "Forbidden: lines are put on devices by the server itself only \
             (requests from 127.0.0.1 or ::1)"
                .into(),
        )),
    }
}

/// The device a line is on, if any.
pub fn device_of_line(ctx: &Ctx, line_id: i64) -> ApiResult<Option<String>> {
    Ok(ctx
        .conn
        .prepare_cached("SELECT device_id FROM lines WHERE id = ?1")?
        .query_row([line_id], |row| row.get::<_, Option<String>>(0))
        .optional()?
        .flatten())
}

/// `Line is associated with a Device ('line_id': 1, 'device_id': '...')`:
/// what the reference answered to taking a user, an internal extension or
/// the endpoint off a line still on a device.
pub fn ensure_line_has_no_device(ctx: &Ctx, line_id: i64) -> ApiResult<()> {
    match device_of_line(ctx, line_id)? {
        Some(device) => Err(ApiError::resource(format!(
            "Line is associated with a Device {}",
            meta(&[
                ("line_id", Value::from(line_id)),
                ("device_id", Value::from(device))
            ])
        ))),
        None => Ok(()),
    }
}

/// The reference's IPv4 pattern: four numbers of 0-255 (one or two digits,
/// or three from 100), separated by dots. An empty one is kept as it is
/// (the reference checked only a non-empty address).
fn check_ip(value: &str) -> Result<(), String> {
    if value.is_empty() {
        return Ok(());
    }
    let octet = |part: &str| {
        let digits = part.bytes().all(|b| b.is_ascii_digit());
        match part.len() {
            1 | 2 => digits,
            3 => digits && (part.starts_with('1') || (part.starts_with('2') && part <= "255")),
            _ => false,
        }
    };
    let parts: Vec<&str> = value.split('.').collect();
    if parts.len() == 4 && parts.iter().all(|part| octet(part)) {
        Ok(())
    } else {
        Err(format!(
            "wrong type. Should be a IP address {}",
            meta(&[("ip", Value::from(value))])
        ))
    }
}

/// Six pairs of hex digits separated by colons, in either case.
fn check_mac(value: &str) -> Result<(), String> {
    let parts: Vec<&str> = value.split(':').collect();
    let pair = |part: &&str| part.len() == 2 && part.bytes().all(|b| b.is_ascii_hexdigit());
    if parts.len() == 6 && parts.iter().all(pair) {
        Ok(())
    } else {
        Err(format!(
            "wrong type. Should be a MAC address {}",
            meta(&[("mac", Value::from(value))])
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ip_addresses_follow_the_reference_pattern() {
        for good in [
            "10.0.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "199.09.1.00",
            "1.2.3.4",
            "",
        ] {
            assert_eq!(check_ip(good), Ok(()), "{good}");
        }
        for bad in [
            "aelkurxynsle",
            "256.1.1.1",
            "1.2.3",
            "1.2.3.4.5",
            "001.2.3.4",
            "1.2.3.260",
            "1..2.3",
            "1.2.3.4 ",
            "300.1.1.1",
            "2a5.1.1.1",
        ] {
            assert_eq!(
                check_ip(bad),
                Err(format!(
                    "wrong type. Should be a IP address ('ip': '{bad}')"
                )),
                "{bad}"
            );
        }
    }

    #[test]
    fn mac_addresses_are_six_hex_pairs() {
        for good in [
            "aa:bb:cc:dd:ee:ff",
            "00:11:22:33:44:55",
            "AA:bB:cC:Dd:eE:0f",
        ] {
            assert_eq!(check_mac(good), Ok(()), "{good}");
        }
        for bad in [
            "o374awic87anwc",
            "aa:bb:cc:dd:ee",
            "aa:bb:cc:dd:ee:ff:00",
            "aa-bb-cc-dd-ee-ff",
            "aa:bb:cc:dd:ee:fg",
            "a:bb:cc:dd:ee:ff0",
            "",
        ] {
            assert!(check_mac(bad).is_err(), "{bad}");
        }
    }

    /// Schema step 10 keeps `lines.device_id` as a foreign key would, for
    /// any writer (the CLI has no server checks), and turns what lines named
    /// before it into devices.
    #[test]
    fn lines_name_existing_devices_whoever_writes() {
        let dir = crate::resources::test_data::temp_dir("xivo-devices", "step10");
        let path = dir.join("old.db");
        let schema = include_str!("../../schema.sql");
        let step10 = schema.find("\n-- step 10").expect("step 10");
        {
            let conn = rusqlite::Connection::open(&path).expect("raw open");
            crate::db::configure_for_tests(&conn);
            conn.execute_batch(&schema[..step10]).expect("steps 1-9");
            conn.pragma_update(None, "user_version", 9)
                .expect("version");
            conn.execute_batch(
                "INSERT INTO lines (context, provisioning_code, device_id) VALUES
                     ('default', '111111', 'abc'), ('default', '222222', 'abc'),
                     ('default', '333333', ''), ('default', '444444', NULL);",
            )
            .expect("lines before step 10");
        }
        let conn = crate::db::open(&path).expect("migrates");
        let devices: Vec<String> = conn
            .prepare("SELECT public_id FROM devices")
            .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
            .expect("devices");
        assert_eq!(devices, vec!["abc".to_string()]);
        let named: Vec<Option<String>> = conn
            .prepare("SELECT device_id FROM lines ORDER BY id")
            .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
            .expect("lines");
        assert_eq!(
            named,
            vec![Some("abc".into()), Some("abc".into()), None, None]
        );
        let refused = |sql: &str| {
            let error = conn.execute_batch(sql).expect_err(sql);
            assert!(error.to_string().contains("FOREIGN KEY"), "{sql}: {error}");
        };
        refused("UPDATE lines SET device_id = 'nothing' WHERE id = 3");
        refused(
            "INSERT INTO lines (context, provisioning_code, device_id) \
             VALUES ('default', '555555', 'nothing')",
        );
        refused("DELETE FROM devices WHERE public_id = 'abc'");
        // a new id reaches the lines; a device without lines goes
        conn.execute_batch("UPDATE devices SET public_id = 'def' WHERE public_id = 'abc'")
            .expect("renamed");
        let moved: i64 = conn
            .query_row(
                "SELECT count(*) FROM lines WHERE device_id = 'def'",
                [],
                |r| r.get(0),
            )
            .expect("count");
        assert_eq!(moved, 2);
        conn.execute_batch(
            "UPDATE lines SET device_id = NULL; DELETE FROM devices WHERE public_id = 'def';",
        )
        .expect("freed, deleted");
        drop(conn);
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn plugin_names_are_words() {
        assert_eq!(check_plugin_name("xivo-aastra-3.3.1-SP4"), Ok(()));
        assert!(check_plugin_name("").is_err());
        assert!(check_plugin_name("a b").is_err());
        assert!(check_plugin_name("a/b").is_err());
    }
}
