//! Devices on the real server: their fields and refusals as the reference
//! answered them, plugins and templates, a line put on a device and taken
//! off, autoprov, synchronization, search and sort, the stock client's
//! calls, and a phone provisioned end to end.

mod common;

use common::{Api, Client, Request};
use serde_json::{Value, json};

fn device(api: &mut Api, body: Value) -> String {
    let created = api.create("/1.1/devices", body);
    created["id"].as_str().expect("text id").to_string()
}

fn plugin(api: &mut Api, name: &str) {
    api.create("/1.1/devices/plugins", json!({"name": name}));
}

fn put(path: &str, body: Value) -> Request {
    Request::put(path, &body.to_string())
}

/// A line with a SIP endpoint (and, if asked, an internal extension).
fn sip_line(api: &mut Api, exten: Option<&str>) -> i64 {
    let line = api.create_id("/1.1/lines", json!({"context": "default"}));
    let sip = api.create_id("/1.1/endpoints/sip", json!({}));
    api.expect(
        Request::new("PUT", &format!("/1.1/lines/{line}/endpoints/sip/{sip}")),
        204,
    );
    if let Some(exten) = exten {
        let extension = api.create_id(
            "/1.1/extensions",
            json!({"exten": exten, "context": "default"}),
        );
        api.create(
            &format!("/1.1/lines/{line}/extensions"),
            json!({"extension_id": extension}),
        );
    }
    line
}

fn associate(device: &str, line: i64) -> Request {
    Request::get(&format!("/1.1/devices/{device}/associate_line/{line}"))
}

fn remove(device: &str, line: i64) -> Request {
    Request::get(&format!("/1.1/devices/{device}/remove_line/{line}"))
}

fn status(api: &mut Api, device: &str) -> String {
    let shown = api.get(&format!("/1.1/devices/{device}"));
    shown["status"].as_str().expect("status").to_string()
}

fn line_device(api: &mut Api, line: i64) -> Value {
    api.get(&format!("/1.1/lines/{line}"))["device_id"].clone()
}

#[test]
fn a_device_gets_a_hex_id_and_reads_back_with_the_reference_fields() {
    let mut api = Api::new();
    let response = api.expect(Request::post("/1.1/devices", "{}"), 201);
    let created = response.json();
    let id = created["id"].as_str().expect("a text id").to_string();
    assert_eq!(id.len(), 32);
    assert!(
        id.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)),
        "{id}"
    );
    assert!(
        response
            .header("Location")
            .is_some_and(|l| l.ends_with(&format!("/1.1/devices/{id}"))),
        "{:?}",
        response.header("Location")
    );
    let keys = common::sorted_keys(&created);
    assert_eq!(
        keys,
        vec![
            "description",
            "id",
            "ip",
            "links",
            "mac",
            "model",
            "options",
            "plugin",
            "sn",
            "status",
            "synchronize_requested_at",
            "template_id",
            "vendor",
            "version",
        ]
    );
    assert_eq!(created["status"], "not_configured");
    assert_eq!(created["template_id"], Value::Null);
    assert_eq!(created["options"], Value::Null);
    assert_eq!(created["links"][0]["rel"], "devices");
    assert!(
        created["links"][0]["href"]
            .as_str()
            .is_some_and(|h| h.ends_with(&format!("/1.1/devices/{id}")))
    );
    assert_eq!(api.get(&format!("/1.1/devices/{id}")), created);
    let list = api.get("/1.1/devices");
    assert_eq!(list["total"], 1);
    assert_eq!(list["items"][0], created);

    // every field given comes back; the MAC address in lower case
    let full = api.create(
        "/1.1/devices",
        json!({
            "ip": "10.0.0.1", "mac": "AA:BB:CC:00:11:FF", "sn": "S123", "vendor": "Aastra",
            "model": "6731i", "version": "3.3.1", "description": "Desk",
            "template_id": "defaultconfigdevice",
            "options": {"switchboard": true, "custom": {"a": [1, 2]}},
        }),
    );
    assert_eq!(full["mac"], "aa:bb:cc:00:11:ff");
    assert_eq!(full["ip"], "10.0.0.1");
    assert_eq!(full["template_id"], "defaultconfigdevice");
    assert_eq!(
        full["options"],
        json!({"switchboard": true, "custom": {"a": [1, 2]}})
    );
    assert_eq!(full["vendor"], "Aastra");
    assert_eq!(full["status"], "not_configured");

    // a path naming no device, whatever its shape
    for missing in ["0123456789abcdef0123456789abcdef", "42", "nothing-here"] {
        let message = api.refused(Request::get(&format!("/1.1/devices/{missing}")), 404);
        assert_eq!(
            message,
            format!("Resource Not Found - Device was not found ('id': '{missing}')")
        );
    }
}

#[test]
fn bad_fields_are_refused_with_the_reference_messages() {
    let mut api = Api::new();
    let cases: Vec<(Value, String)> = vec![
        (
            json!({"ip": "aelkurxynsle"}),
            "Input Error - field 'ip': wrong type. Should be a IP address ('ip': 'aelkurxynsle')"
                .into(),
        ),
        (
            json!({"ip": "256.1.1.1"}),
            "Input Error - field 'ip': wrong type. Should be a IP address ('ip': '256.1.1.1')"
                .into(),
        ),
        (
            json!({"mac": "o374awic87anwc"}),
            "Input Error - field 'mac': wrong type. Should be a MAC address ('mac': 'o374awic87anwc')"
                .into(),
        ),
        (
            json!({"options": 123}),
            "Input Error - field 'options': wrong type. Should be a dict-like structure".into(),
        ),
        (
            json!({"options": {"switchboard": "yes"}}),
            "Input Error - field 'options.switchboard': wrong type. Should be a boolean \
             ('switchboard': 'yes')"
                .into(),
        ),
        (
            json!({"plugin": "superduperplugin"}),
            "Input Error - field 'plugin': Plugin was not found".into(),
        ),
        (
            json!({"template_id": "superdupertemplate"}),
            "Input Error - field 'template_id': DeviceTemplate was not found".into(),
        ),
        (
            json!({"invalid": "invalid"}),
            "Input Error - unknown parameters: invalid".into(),
        ),
    ];
    let mut all = cases;
    for field in [
        "ip",
        "mac",
        "sn",
        "vendor",
        "model",
        "version",
        "plugin",
        "description",
        "template_id",
    ] {
        all.push((
            json!({ field: 123 }),
            format!("Input Error - field '{field}': wrong type. Should be a unicode string"),
        ));
    }
    let existing = device(&mut api, json!({}));
    for (body, expected) in &all {
        let message = api.refused(Request::post("/1.1/devices", &body.to_string()), 400);
        assert_eq!(&message, expected, "POST {body}");
        let path = format!("/1.1/devices/{existing}");
        let message = api.refused(put(&path, body.clone()), 400);
        assert_eq!(&message, expected, "PUT {body}");
    }
    assert_eq!(api.get("/1.1/devices")["total"], 1, "nothing else was made");
    // the read-only fields a GET shows are ignored
    let shown = api.get(&format!("/1.1/devices/{existing}"));
    api.expect(put(&format!("/1.1/devices/{existing}"), shown.clone()), 204);
    api.expect(
        put(
            &format!("/1.1/devices/{existing}"),
            json!({"id": "x", "status": "configured", "synchronize_requested_at": "now"}),
        ),
        204,
    );
    assert_eq!(api.get(&format!("/1.1/devices/{existing}")), shown);
}

#[test]
fn a_mac_address_is_unique_whatever_its_case() {
    let mut api = Api::new();
    let first = device(&mut api, json!({"mac": "00:11:22:33:44:AA"}));
    let second = device(&mut api, json!({"mac": "00:11:22:33:44:bb"}));
    assert_eq!(
        api.refused(
            Request::post("/1.1/devices", r#"{"mac": "00:11:22:33:44:aa"}"#),
            400
        ),
        "Resource Error - Device already exists ('mac': '00:11:22:33:44:aa')"
    );
    assert_eq!(
        api.refused(
            put(
                &format!("/1.1/devices/{first}"),
                json!({"mac": "00:11:22:33:44:BB"})
            ),
            400
        ),
        "Resource Error - Device already exists ('mac': '00:11:22:33:44:BB')"
    );
    // its own address, in another case, is no conflict
    api.expect(
        put(
            &format!("/1.1/devices/{first}"),
            json!({"mac": "00:11:22:33:44:Aa"}),
        ),
        204,
    );
    assert_eq!(
        api.get(&format!("/1.1/devices/{first}"))["mac"],
        "00:11:22:33:44:aa"
    );
    // no address is no conflict: an empty one is none, null clears it
    device(&mut api, json!({"mac": ""}));
    device(&mut api, json!({"mac": ""}));
    api.expect(
        put(&format!("/1.1/devices/{second}"), json!({"mac": null})),
        204,
    );
    assert_eq!(
        api.get(&format!("/1.1/devices/{second}"))["mac"],
        Value::Null
    );
    device(&mut api, json!({"mac": "00:11:22:33:44:BB"}));
    assert_eq!(api.get("/1.1/devices?search=00:11:22")["total"], 2);
}

#[test]
fn plugins_and_templates_are_listed_added_and_guarded() {
    let mut api = Api::new();
    // a new database: the stock template, no plugin
    let templates = api.get("/1.1/devices/templates");
    assert_eq!(templates["total"], 1);
    assert_eq!(templates["items"][0]["id"], "defaultconfigdevice");
    assert_eq!(templates["items"][0]["label"], "Default config device");
    assert_eq!(api.get("/1.1/devices/plugins")["total"], 0);
    assert_eq!(
        api.get("/1.1/devices/templates/defaultconfigdevice")["label"],
        "Default config device"
    );

    let added = api.create(
        "/1.1/devices/plugins",
        json!({"name": "xivo-aastra-3.3.1-SP4", "version": "1.2", "description": "Aastra"}),
    );
    let plugin_id = added["id"].as_i64().expect("plugin id");
    assert_eq!(
        api.refused(
            Request::post(
                "/1.1/devices/plugins",
                r#"{"name": "xivo-aastra-3.3.1-SP4"}"#
            ),
            400
        ),
        "Resource Error - Plugin already exists ('name': 'xivo-aastra-3.3.1-SP4')"
    );
    api.refused_with(
        Request::post("/1.1/devices/plugins", r#"{"name": "a plugin"}"#),
        400,
        "Input Error - field 'name': wrong type",
    );
    let template = api.create("/1.1/devices/templates", json!({"label": "black-label"}));
    let template_id = template["id"].as_str().expect("text id").to_string();
    assert_eq!(template_id.len(), 32);
    assert!(
        api.get("/1.1/devices/templates?search=black")["items"][0]["links"][0]["href"]
            .as_str()
            .is_some_and(|h| h.ends_with(&format!("/1.1/devices/templates/{template_id}")))
    );

    let phone = device(
        &mut api,
        json!({"plugin": "xivo-aastra-3.3.1-SP4", "template_id": template_id}),
    );
    let shown = api.get(&format!("/1.1/devices/{phone}"));
    assert_eq!(shown["plugin"], "xivo-aastra-3.3.1-SP4");
    assert_eq!(shown["template_id"], template_id.as_str());
    assert_eq!(shown["status"], "autoprov", "a plugin, no line yet");

    // in use: neither goes
    assert_eq!(
        api.refused(
            Request::delete(&format!("/1.1/devices/plugins/{plugin_id}")),
            400
        ),
        "Resource Error - Plugin is associated with a Device ('plugin': 'xivo-aastra-3.3.1-SP4')"
    );
    assert_eq!(
        api.refused(
            Request::delete(&format!("/1.1/devices/templates/{template_id}")),
            400
        ),
        format!(
            "Resource Error - DeviceTemplate is associated with a Device ('template_id': '{template_id}')"
        )
    );
    // a renamed plugin is followed
    api.expect(
        put(
            &format!("/1.1/devices/plugins/{plugin_id}"),
            json!({"name": "xivo-aastra-4.0"}),
        ),
        204,
    );
    assert_eq!(
        api.get(&format!("/1.1/devices/{phone}"))["plugin"],
        "xivo-aastra-4.0"
    );
    // freed, they go
    api.expect(
        put(
            &format!("/1.1/devices/{phone}"),
            json!({"plugin": null, "template_id": ""}),
        ),
        204,
    );
    let freed = api.get(&format!("/1.1/devices/{phone}"));
    assert_eq!(freed["plugin"], Value::Null);
    assert_eq!(freed["template_id"], Value::Null);
    assert_eq!(freed["status"], "not_configured");
    api.delete(&format!("/1.1/devices/plugins/{plugin_id}"));
    api.delete(&format!("/1.1/devices/templates/{template_id}"));
    api.refused_with(
        Request::get(&format!("/1.1/devices/templates/{template_id}")),
        404,
        "Resource Not Found - DeviceTemplate was not found",
    );
}

#[test]
fn a_line_on_a_device_makes_it_configured_and_taken_off_undoes_it() {
    let mut api = Api::new();
    plugin(&mut api, "xivo-test");
    let phone = device(&mut api, json!({"plugin": "xivo-test"}));
    let bare = sip_line(&mut api, None);
    let numbered = sip_line(&mut api, Some("1001"));
    assert_eq!(line_device(&mut api, numbered), Value::Null);

    // a SIP line without a number is nothing provd could provision
    api.expect(associate(&phone, bare), 204);
    assert_eq!(line_device(&mut api, bare), json!(phone));
    assert_eq!(status(&mut api, &phone), "autoprov");
    api.expect(associate(&phone, numbered), 204);
    assert_eq!(line_device(&mut api, numbered), json!(phone));
    assert_eq!(status(&mut api, &phone), "configured");
    // the same pair again changes nothing
    api.expect(associate(&phone, numbered), 204);
    let sip_view = api.get(&format!("/1.1/lines_sip/{numbered}"));
    assert_eq!(sip_view["device_slot"], 1);
    assert!(sip_view.get("device_id").is_none(), "{sip_view}");
    let listed = api.get(&format!("/1.1/lines?device_id={phone}"));
    assert_eq!(listed["total"], 2);

    api.expect(remove(&phone, numbered), 204);
    assert_eq!(line_device(&mut api, numbered), Value::Null);
    assert_eq!(status(&mut api, &phone), "autoprov");
    assert_eq!(
        api.refused(remove(&phone, numbered), 400),
        format!(
            "Resource Error - Line is not associated with Device ('line_id': {numbered}, \
             'device_id': '{phone}')"
        )
    );
    // an SCCP line is provisioned as it is
    let sccp_line = api.create_id("/1.1/lines", json!({"context": "default"}));
    let sccp = api.create_id("/1.1/endpoints/sccp", json!({}));
    api.expect(
        Request::new(
            "PUT",
            &format!("/1.1/lines/{sccp_line}/endpoints/sccp/{sccp}"),
        ),
        204,
    );
    api.expect(associate(&phone, sccp_line), 204);
    assert_eq!(status(&mut api, &phone), "configured");

    // a line moves to the device it is put on
    let other = device(&mut api, json!({"plugin": "xivo-test"}));
    api.expect(associate(&other, sccp_line), 204);
    assert_eq!(line_device(&mut api, sccp_line), json!(other));
    assert_eq!(status(&mut api, &phone), "autoprov");
    assert_eq!(status(&mut api, &other), "configured");

    // what does not exist
    api.refused_with(
        associate("0123456789abcdef0123456789abcdef", bare),
        404,
        "Resource Not Found - Device was not found ('id': '0123456789abcdef0123456789abcdef')",
    );
    assert_eq!(
        api.refused(associate(&phone, 999999), 404),
        "Resource Not Found - Line was not found ('id': 999999)"
    );
    api.refused_with(remove(&phone, 999999), 404, "Resource Not Found - Line");
}

#[test]
fn lines_are_put_on_devices_by_the_box_itself_only() {
    let mut api = Api::new();
    let phone = device(&mut api, json!({}));
    let line = sip_line(&mut api, None);
    let mut elsewhere = Client::tls(&api.server.https).bound_to("127.0.0.2");
    for request in [associate(&phone, line), remove(&phone, line)] {
        let response = elsewhere.send(request.token(&api.token));
        assert_eq!(response.status, 403, "{}", response.text());
        assert!(
            response.errors()[0].starts_with("Forbidden"),
            "{}",
            response.text()
        );
    }
    assert_eq!(line_device(&mut api, line), Value::Null);
    // the device's other routes answer anyone with the ACL
    let response =
        elsewhere.send(Request::get(&format!("/1.1/devices/{phone}/autoprov")).token(&api.token));
    assert_eq!(response.status, 204, "{}", response.text());
    // without credentials, 401 before anything else
    let response = elsewhere.send(associate(&phone, line));
    assert_eq!(response.status, 401, "{}", response.text());
    api.expect(associate(&phone, line), 204);
}

#[test]
fn autoprov_frees_every_line_and_drops_template_and_options() {
    let mut api = Api::new();
    plugin(&mut api, "xivo-test");
    let phone = device(
        &mut api,
        json!({"plugin": "xivo-test", "template_id": "defaultconfigdevice",
               "options": {"switchboard": true}, "mac": "00:00:00:00:00:01"}),
    );
    let first = sip_line(&mut api, Some("1001"));
    let second = sip_line(&mut api, Some("1002"));
    let elsewhere = sip_line(&mut api, Some("1003"));
    let other = device(&mut api, json!({"plugin": "xivo-test"}));
    api.expect(associate(&phone, first), 204);
    api.expect(associate(&phone, second), 204);
    api.expect(associate(&other, elsewhere), 204);
    assert_eq!(status(&mut api, &phone), "configured");

    api.expect(Request::get(&format!("/1.1/devices/{phone}/autoprov")), 204);
    let reset = api.get(&format!("/1.1/devices/{phone}"));
    assert_eq!(reset["status"], "autoprov");
    assert_eq!(reset["template_id"], Value::Null);
    assert_eq!(reset["options"], Value::Null);
    assert_eq!(reset["plugin"], "xivo-test");
    assert_eq!(reset["mac"], "00:00:00:00:00:01");
    assert_eq!(line_device(&mut api, first), Value::Null);
    assert_eq!(line_device(&mut api, second), Value::Null);
    assert_eq!(
        line_device(&mut api, elsewhere),
        json!(other),
        "another device's line stays"
    );
    api.refused_with(
        Request::get("/1.1/devices/0123456789abcdef0123456789abcdef/autoprov"),
        404,
        "Resource Not Found - Device was not found",
    );
}

#[test]
fn a_synchronization_is_recorded_with_its_time() {
    let mut api = Api::new();
    let bare = device(&mut api, json!({}));
    assert_eq!(
        api.refused(
            Request::get(&format!("/1.1/devices/{bare}/synchronize")),
            400
        ),
        format!("Resource Error - Device is not configured: it has no plugin ('id': '{bare}')")
    );
    assert_eq!(
        api.get(&format!("/1.1/devices/{bare}"))["synchronize_requested_at"],
        Value::Null
    );
    plugin(&mut api, "xivo-test");
    let phone = device(&mut api, json!({"plugin": "xivo-test"}));
    api.expect(
        Request::get(&format!("/1.1/devices/{phone}/synchronize")),
        204,
    );
    let first = api.get(&format!("/1.1/devices/{phone}"))["synchronize_requested_at"]
        .as_str()
        .expect("a time")
        .to_string();
    // 2025-01-31T12:34:56.789Z
    assert_eq!(first.len(), 24, "{first}");
    assert!(
        first.ends_with('Z') && first.as_bytes()[10] == b'T',
        "{first}"
    );
    std::thread::sleep(std::time::Duration::from_millis(20));
    api.expect(
        Request::get(&format!("/1.1/devices/{phone}/synchronize")),
        204,
    );
    let second = api.get(&format!("/1.1/devices/{phone}"))["synchronize_requested_at"]
        .as_str()
        .expect("a time")
        .to_string();
    assert!(second > first, "{first} then {second}");
    api.refused_with(
        Request::get("/1.1/devices/0123456789abcdef0123456789abcdef/synchronize"),
        404,
        "Resource Not Found - Device was not found",
    );
}

#[test]
fn a_device_carrying_lines_is_not_deleted() {
    let mut api = Api::new();
    let phone = device(&mut api, json!({}));
    let first = sip_line(&mut api, None);
    let second = sip_line(&mut api, None);
    api.expect(associate(&phone, first), 204);
    assert_eq!(
        api.refused(Request::delete(&format!("/1.1/devices/{phone}")), 400),
        format!(
            "Resource Error - Device is associated with a Line ('device_id': '{phone}', \
             'line_ids': ({first},))"
        )
    );
    api.expect(associate(&phone, second), 204);
    assert_eq!(
        api.refused(Request::delete(&format!("/1.1/devices/{phone}")), 400),
        format!(
            "Resource Error - Device is associated with a Line ('device_id': '{phone}', \
             'line_ids': ({first}, {second}))"
        )
    );
    api.expect(remove(&phone, first), 204);
    api.expect(remove(&phone, second), 204);
    api.delete(&format!("/1.1/devices/{phone}"));
    assert_eq!(
        api.refused(Request::delete(&format!("/1.1/devices/{phone}")), 404),
        format!("Resource Not Found - Device was not found ('id': '{phone}')")
    );
    // a line on a device may itself be deleted: the device loses it
    let kept = device(&mut api, json!({}));
    let line = sip_line(&mut api, None);
    api.expect(associate(&kept, line), 204);
    api.delete(&format!("/1.1/lines/{line}"));
    api.delete(&format!("/1.1/devices/{kept}"));
}

#[test]
fn a_line_on_a_device_keeps_its_user_extension_and_endpoint() {
    let mut api = Api::new();
    let phone = device(&mut api, json!({}));
    let line = sip_line(&mut api, Some("1001"));
    let user = api.create_id("/1.1/users", json!({"firstname": "Ada"}));
    api.create(
        &format!("/1.1/users/{user}/lines"),
        json!({"line_id": line}),
    );
    let extension = api.get(&format!("/1.1/lines/{line}/extensions"))["items"][0]["extension_id"]
        .as_i64()
        .expect("extension");
    let sip = api.get(&format!("/1.1/lines/{line}/endpoints/sip"))["endpoint_id"]
        .as_i64()
        .expect("sip");
    api.expect(associate(&phone, line), 204);
    let refusal = format!(
        "Resource Error - Line is associated with a Device ('line_id': {line}, 'device_id': '{phone}')"
    );
    assert_eq!(
        api.refused(
            Request::delete(&format!("/1.1/users/{user}/lines/{line}")),
            400
        ),
        refusal
    );
    assert_eq!(
        api.refused(
            Request::delete(&format!("/1.1/lines/{line}/extensions/{extension}")),
            400
        ),
        refusal
    );
    assert_eq!(
        api.refused(
            Request::delete(&format!("/1.1/lines/{line}/extension")),
            400
        ),
        refusal,
        "the legacy route too"
    );
    // the endpoint: users and extensions are named first, as the reference did
    api.refused_with(
        Request::delete(&format!("/1.1/lines/{line}/endpoints/sip/{sip}")),
        400,
        "Resource Error - Line is associated with a User",
    );
    // a user's change still reaches the line of a device
    api.expect(
        put(&format!("/1.1/users/{user}"), json!({"firstname": "Grace"})),
        204,
    );
    // off the device, everything may go
    api.expect(remove(&phone, line), 204);
    api.delete(&format!("/1.1/users/{user}/lines/{line}"));
    api.delete(&format!("/1.1/lines/{line}/extensions/{extension}"));
    api.expect(associate(&phone, line), 204);
    assert_eq!(
        api.refused(
            Request::delete(&format!("/1.1/lines/{line}/endpoints/sip/{sip}")),
            400
        ),
        refusal
    );
    api.expect(remove(&phone, line), 204);
    api.delete(&format!("/1.1/lines/{line}/endpoints/sip/{sip}"));
}

#[test]
fn an_incall_extension_may_leave_a_line_on_a_device() {
    let mut api = Api::new();
    let phone = device(&mut api, json!({}));
    let line = sip_line(&mut api, Some("1001"));
    let user = api.create_id("/1.1/users", json!({"firstname": "Ada"}));
    api.create(
        &format!("/1.1/users/{user}/lines"),
        json!({"line_id": line}),
    );
    let incall = api.create_id(
        "/1.1/extensions",
        json!({"exten": "1050", "context": "from-extern"}),
    );
    api.create(
        &format!("/1.1/lines/{line}/extensions"),
        json!({"extension_id": incall}),
    );
    api.expect(associate(&phone, line), 204);
    api.delete(&format!("/1.1/lines/{line}/extensions/{incall}"));
}

#[test]
fn devices_are_searched_and_sorted_as_the_reference_did() {
    let mut api = Api::new();
    plugin(&mut api, "xivo-snom");
    let a = device(
        &mut api,
        json!({"ip": "10.0.0.3", "mac": "00:00:00:00:00:0a", "vendor": "Aastra",
               "model": "6731i", "description": "Reception", "sn": "SN-A", "version": "3.3"}),
    );
    let b = device(
        &mut api,
        json!({"ip": "10.0.0.1", "mac": "00:00:00:00:00:0b", "vendor": "Snom",
               "model": "D765", "description": "Office", "plugin": "xivo-snom"}),
    );
    let c = device(&mut api, json!({"ip": "10.0.0.2", "vendor": "Yealink"}));
    let ids = |list: &Value| -> Vec<String> {
        list["items"]
            .as_array()
            .expect("items")
            .iter()
            .map(|item| item["id"].as_str().expect("id").to_string())
            .collect()
    };
    // by ip unless asked
    assert_eq!(
        ids(&api.get("/1.1/devices")),
        vec![b.clone(), c.clone(), a.clone()]
    );
    assert_eq!(
        ids(&api.get("/1.1/devices?direction=desc")),
        vec![a.clone(), c.clone(), b.clone()]
    );
    assert_eq!(
        ids(&api.get("/1.1/devices?order=vendor")),
        vec![a.clone(), b.clone(), c.clone()]
    );
    assert_eq!(
        ids(&api.get("/1.1/devices?order=mac&direction=desc")),
        vec![c.clone(), b.clone(), a.clone()],
        "no MAC address sorts first going down"
    );
    for column in [
        "id",
        "ip",
        "mac",
        "sn",
        "plugin",
        "vendor",
        "model",
        "version",
        "description",
        "options",
    ] {
        let list = api.get(&format!("/1.1/devices?order={column}"));
        assert_eq!(list["total"], 3, "order={column}");
    }
    assert_eq!(
        api.refused(Request::get("/1.1/devices?order=status"), 400),
        "Input Error - order: column 'status' was not found"
    );
    // a search looks in each field, ignoring case
    for (term, expected) in [
        ("00:0a", vec![a.clone()]),
        ("10.0.0.2", vec![c.clone()]),
        ("snom", vec![b.clone()]),
        ("6731", vec![a.clone()]),
        ("RECEPTION", vec![a.clone()]),
        ("sn-a", vec![a.clone()]),
        ("3.3", vec![a.clone()]),
        ("xivo-snom", vec![b.clone()]),
        (&b[..12], vec![b.clone()]),
        ("10.0.0", vec![b.clone(), c.clone(), a.clone()]),
        ("nowhere", vec![]),
    ] {
        let list = api.get(&format!("/1.1/devices?search={term}"));
        assert_eq!(ids(&list), expected, "search={term}");
        assert_eq!(list["total"], expected.len(), "search={term}");
    }
    // paged, `skip` as the older name of `offset`
    let page = api.get("/1.1/devices?limit=1&offset=1");
    assert_eq!(
        (ids(&page), page["total"].clone()),
        (vec![c.clone()], json!(3))
    );
    assert_eq!(
        ids(&api.get("/1.1/devices?limit=2&skip=2")),
        vec![a.clone()]
    );
}

#[test]
fn a_null_clears_a_field_and_an_empty_string_is_kept() {
    let mut api = Api::new();
    let phone = device(
        &mut api,
        json!({"ip": "10.0.0.9", "vendor": "Aastra", "options": {"switchboard": false}}),
    );
    api.expect(
        put(
            &format!("/1.1/devices/{phone}"),
            json!({"vendor": null, "options": null, "ip": ""}),
        ),
        204,
    );
    let shown = api.get(&format!("/1.1/devices/{phone}"));
    assert_eq!(shown["vendor"], Value::Null);
    assert_eq!(shown["options"], Value::Null);
    assert_eq!(shown["ip"], "");
    // what a PUT leaves out stays
    api.expect(
        put(&format!("/1.1/devices/{phone}"), json!({"model": "6757i"})),
        204,
    );
    let again = api.get(&format!("/1.1/devices/{phone}"));
    assert_eq!(again["model"], "6757i");
    assert_eq!(again["ip"], "");
}

/// What the stock client (xivo-confd-client 15.20, `commands/devices.py`)
/// sends: list with paging, create, get, update (everything it read but
/// `links`), synchronize and autoprov by GET, delete.
#[test]
fn the_stock_clients_device_calls_work() {
    let mut api = Api::new();
    plugin(&mut api, "xivo-test");
    let created = api.create(
        "/1.1/devices",
        json!({"mac": "00:11:22:33:44:55", "ip": "10.0.0.5", "plugin": "xivo-test"}),
    );
    let id = created["id"].as_str().expect("id").to_string();
    let listed = api.get("/1.1/devices?limit=10&skip=0&order=mac&direction=asc&search=00:11");
    assert_eq!(listed["total"], 1);
    let mut body = api.get(&format!("/1.1/devices/{id}"));
    body["description"] = json!("Changed by the client");
    body.as_object_mut().expect("object").remove("links");
    api.expect(put(&format!("/1.1/devices/{id}"), body), 204);
    assert_eq!(
        api.get(&format!("/1.1/devices/{id}"))["description"],
        "Changed by the client"
    );
    api.expect(Request::get(&format!("/1.1/devices/{id}/synchronize")), 204);
    api.expect(Request::get(&format!("/1.1/devices/{id}/autoprov")), 204);
    api.delete(&format!("/1.1/devices/{id}"));
    assert_eq!(api.get("/1.1/devices")["total"], 0);
}

/// A phone provisioned end to end: a line with its SIP endpoint, an
/// extension, a user, a device with a plugin; the line put on the device,
/// the device reset to autoprov, the line put back and taken off.
#[test]
fn a_phone_is_provisioned_end_to_end() {
    let mut api = Api::new();
    let line = api.create("/1.1/lines_sip", json!({"context": "default"}));
    let line_id = line["id"].as_i64().expect("line");
    let code = line["provisioning_extension"]
        .as_str()
        .expect("code")
        .to_string();
    let extension = api.create_id(
        "/1.1/extensions",
        json!({"exten": "1234", "context": "default"}),
    );
    api.create(
        &format!("/1.1/lines/{line_id}/extensions"),
        json!({"extension_id": extension}),
    );
    let user = api.create_id(
        "/1.1/users",
        json!({"firstname": "Ada", "lastname": "Lovelace"}),
    );
    api.create(
        &format!("/1.1/users/{user}/lines"),
        json!({"line_id": line_id}),
    );
    plugin(&mut api, "xivo-aastra-3.3.1-SP4");
    let phone = device(
        &mut api,
        json!({"mac": "00:08:5D:12:34:56", "ip": "10.0.0.20", "vendor": "Aastra",
               "model": "6731i", "plugin": "xivo-aastra-3.3.1-SP4",
               "template_id": "defaultconfigdevice"}),
    );
    assert_eq!(status(&mut api, &phone), "autoprov");

    api.expect(associate(&phone, line_id), 204);
    let shown = api.get(&format!("/1.1/lines/{line_id}"));
    assert_eq!(shown["device_id"], json!(phone));
    assert_eq!(shown["device_slot"], 1);
    assert_eq!(shown["provisioning_code"], code.as_str());
    assert_eq!(shown["caller_id_name"], "Ada Lovelace");
    assert_eq!(shown["name"], line["username"]);
    let device = api.get(&format!("/1.1/devices/{phone}"));
    assert_eq!(device["status"], "configured");
    assert_eq!(device["mac"], "00:08:5d:12:34:56");
    api.expect(
        Request::get(&format!("/1.1/devices/{phone}/synchronize")),
        204,
    );

    api.expect(Request::get(&format!("/1.1/devices/{phone}/autoprov")), 204);
    assert_eq!(status(&mut api, &phone), "autoprov");
    assert_eq!(line_device(&mut api, line_id), Value::Null);
    assert_eq!(
        api.get(&format!("/1.1/devices/{phone}"))["template_id"],
        Value::Null
    );

    // provisioned again, then the line taken off
    api.expect(associate(&phone, line_id), 204);
    assert_eq!(status(&mut api, &phone), "configured");
    api.expect(remove(&phone, line_id), 204);
    assert_eq!(status(&mut api, &phone), "autoprov");
    assert_eq!(line_device(&mut api, line_id), Value::Null);
    // and everything goes, in the reference's order
    api.delete(&format!("/1.1/devices/{phone}"));
    api.delete(&format!("/1.1/users/{user}/lines/{line_id}"));
    api.delete(&format!("/1.1/lines/{line_id}/extensions/{extension}"));
    api.delete(&format!("/1.1/lines_sip/{line_id}"));
}
