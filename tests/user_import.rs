//! The users CSV on the real server: `POST /1.1/users/import` (a user per
//! row and what the row names, all associated), `PUT` (rows found by
//! uuid), `GET /1.1/users/export` (the reference's header, order and
//! quoting), each file one transaction with every error told, and the
//! round trip export, wipe, import, export.

mod common;

use common::{Api, Request, Response, TestServer};
use serde_json::{Value, json};

const HEADER: &str = "uuid,entity_id,firstname,lastname,mobile_phone_number,outgoing_caller_id,\
    language,ring_seconds,simultaneous_calls,supervision_enabled,call_transfer_enabled,\
    userfield,username,password,cti_profile_name,cti_profile_enabled,voicemail_name,\
    voicemail_number,voicemail_context,voicemail_password,voicemail_email,\
    voicemail_attach_audio,voicemail_delete_messages,voicemail_ask_password,line_protocol,\
    provisioning_code,context,sip_username,sip_secret,exten,incall_exten,incall_context";

fn csv(method: &str, body: &str) -> Request {
    let mut request =
        Request::new(method, "/1.1/users/import").header("Content-Type", "text/csv; charset=utf-8");
    request.body = body.as_bytes().to_vec();
    request
}

fn import(api: &mut Api, body: &str) -> Response {
    api.send(csv("POST", body))
}

/// Imports and expects 201; the `created` entries.
fn imported(api: &mut Api, body: &str) -> Vec<Value> {
    let response = import(api, body);
    assert_eq!(response.status, 201, "{}", response.text());
    response.json()["created"]
        .as_array()
        .expect("created")
        .clone()
}

/// Expects a 400 in the reference's shape; its errors.
fn refusals(response: &Response) -> Vec<Value> {
    assert_eq!(response.status, 400, "{}", response.text());
    assert_eq!(response.header("Content-Type"), Some("application/json"));
    let errors = response.json()["errors"]
        .as_array()
        .expect("errors")
        .clone();
    for error in &errors {
        assert!(error["message"].is_string(), "{error}");
        assert!(error["timestamp"].is_i64(), "{error}");
        assert!(error["details"].is_object(), "{error}");
    }
    errors
}

fn messages(errors: &[Value]) -> Vec<String> {
    errors
        .iter()
        .map(|e| e["message"].as_str().unwrap_or_default().to_string())
        .collect()
}

fn export(api: &mut Api) -> String {
    let response = api.send(Request::get("/1.1/users/export"));
    assert_eq!(response.status, 200, "{}", response.text());
    assert_eq!(
        response.header("Content-Type"),
        Some("text/csv; charset=utf-8")
    );
    response.text()
}

/// The export's rows as maps (header -> cell), read as Python's
/// `DictReader` reads them.
fn rows(text: &str) -> Vec<serde_json::Map<String, Value>> {
    let mut reader = xivo_confd::csv::Reader::new(text.as_bytes());
    let header = reader.next_record().expect("csv").expect("header").fields;
    let mut rows = Vec::new();
    while let Some(record) = reader.next_record().expect("csv") {
        rows.push(
            header
                .iter()
                .cloned()
                .zip(record.fields.into_iter().map(Value::from))
                .collect(),
        );
    }
    rows
}

/// How many of each object the server has.
fn counts(api: &mut Api) -> Vec<(&'static str, i64)> {
    [
        "users",
        "lines",
        "endpoints/sip",
        "endpoints/sccp",
        "extensions",
        "voicemails",
    ]
    .into_iter()
    .map(|collection| {
        let total = api.get(&format!("/1.1/{collection}"))["total"]
            .as_i64()
            .expect("total");
        (collection, total)
    })
    .collect()
}

fn id(entry: &Value, key: &str) -> i64 {
    entry[key]
        .as_i64()
        .unwrap_or_else(|| panic!("{key} in {entry}"))
}

#[test]
fn a_row_makes_its_user_and_everything_it_names_all_associated() {
    let mut api = Api::new();
    let created = imported(
        &mut api,
        "firstname,lastname,username,password,line_protocol,context,exten,incall_exten,\
         incall_context,incall_ring_seconds,voicemail_name,voicemail_number,voicemail_context,\
         cti_profile_name,cti_profile_enabled,mobile_phone_number,supervision_enabled\r\n\
         Frânçois,Dupont,fdupont,s3cret,sip,default,1001,3001,from-extern,12,François,1001,\
         default,Client,1,+33612,0\r\n",
    );
    assert_eq!(created.len(), 1);
    let entry = &created[0];
    assert_eq!(entry["row_number"], 1);
    assert_eq!(entry["sccp_id"], Value::Null);
    let user = api.get(&format!("/1.1/users/{}", id(entry, "user_id")));
    assert_eq!(user["firstname"], "Frânçois");
    assert_eq!(user["uuid"], entry["user_uuid"]);
    assert_eq!(user["mobile_phone_number"], "+33612");
    assert_eq!(user["supervision_enabled"], false);
    let user_id = id(entry, "user_id");
    let line_id = id(entry, "line_id");
    let lines = api.get(&format!("/1.1/users/{user_id}/lines"));
    assert_eq!(lines["items"][0]["line_id"], line_id);
    let sip = api.get(&format!("/1.1/lines/{line_id}/endpoints/sip"));
    assert_eq!(sip["endpoint_id"], entry["sip_id"]);
    // the line's number, then its incall with the row's ring time
    let extensions = api.get(&format!("/1.1/lines/{line_id}/extensions"));
    let pairs: Vec<(i64, Value)> = extensions["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|p| (id(p, "extension_id"), p["ring_seconds"].clone()))
        .collect();
    assert_eq!(
        pairs,
        [
            (id(entry, "extension_id"), Value::Null),
            (id(entry, "incall_extension_id"), json!(12))
        ]
    );
    let incalls = api.get("/1.1/extensions?type=incall");
    assert_eq!(incalls["items"][0]["exten"], "3001");
    assert_eq!(incalls["items"][0]["context"], "from-extern");
    let voicemail = api.get(&format!("/1.1/users/{user_id}/voicemail"));
    assert_eq!(voicemail["voicemail_id"], entry["voicemail_id"]);
    let cti = api.get(&format!("/1.1/users/{user_id}/cti"));
    assert_eq!(cti["cti_profile_id"], 3);
    assert_eq!(cti["enabled"], true);
    assert_eq!(entry["cti_profile_id"], 3);
    // the endpoint's caller id follows the user, as after the API's own calls
    let endpoint = api.get(&format!("/1.1/endpoints/sip/{}", id(entry, "sip_id")));
    let options = endpoint["options"].to_string();
    assert!(
        options.contains(r#"["callerid","\"Frânçois Dupont\" <1001>"]"#),
        "{options}"
    );
}

#[test]
fn an_imported_password_logs_in_whether_given_in_clear_or_as_exported() {
    let mut api = Api::new();
    imported(
        &mut api,
        "firstname,username,password\r\nAnn,ann,annpass1\r\n",
    );
    let exported = export(&mut api);
    let stored = rows(&exported)[0]["password"]
        .as_str()
        .expect("password")
        .to_string();
    assert!(stored.starts_with("pbkdf2-sha256$"), "{stored}");
    assert!(!exported.contains("annpass1"), "no password in clear");
    // the hash given back is kept as it is: the same password logs in
    imported(
        &mut api,
        &format!("firstname,username,password\r\nBea,bea,{stored}\r\n"),
    );
    for login in ["ann", "bea"] {
        let response = api.server.auth_client().send(
            Request::post("/0.1/token", r#"{"backend": "xivo_user"}"#).basic(login, "annpass1"),
        );
        assert_eq!(response.status, 200, "{login}: {}", response.text());
    }
    let wrong = api
        .server
        .auth_client()
        .send(Request::post("/0.1/token", r#"{"backend": "xivo_user"}"#).basic("bea", "other"));
    assert_eq!(wrong.status, 401);
}

#[test]
fn what_exists_is_used_a_voicemail_is_shared_and_an_endpoint_is_taken() {
    let mut api = Api::new();
    let voicemail = api.create_id(
        "/1.1/voicemails",
        json!({"name": "Shared", "number": "2000", "context": "default"}),
    );
    let sip = api.create_id("/1.1/endpoints/sip", json!({"username": "deskphone"}));
    let extension = api.create_id(
        "/1.1/extensions",
        json!({"exten": "1500", "context": "default"}),
    );
    let created = imported(
        &mut api,
        "firstname,voicemail_number,voicemail_context,line_protocol,context,sip_username,exten\r\n\
         Ann,2000,default,sip,default,deskphone,1500\r\n\
         Bob,2000,default,,,,\r\n",
    );
    assert_eq!(created[0]["voicemail_id"], voicemail);
    assert_eq!(created[1]["voicemail_id"], voicemail);
    assert_eq!(created[0]["sip_id"], sip);
    assert_eq!(created[0]["extension_id"], extension);
    let users = api.get(&format!("/1.1/voicemails/{voicemail}/users"));
    assert_eq!(users["total"], 2);
    // Bob's row names no line: empty cells are no value
    assert_eq!(created[1]["line_id"], Value::Null);
    assert_eq!(counts(&mut api)[1], ("lines", 1));
}

#[test]
fn any_row_error_refuses_the_file_with_every_error_and_writes_nothing() {
    let mut api = Api::new();
    let before = counts(&mut api);
    let response = import(
        &mut api,
        "firstname,lastname,supervision_enabled,ring_seconds,line_protocol,context,exten,\
         voicemail_name,voicemail_number,voicemail_context,cti_profile_name,entity_id\r\n\
         Good,Row,1,10,sip,default,1001,Good,1001,default,,\r\n\
         ,nofirstname,,,,,,,,,,\r\n\
         Bad,Bool,yes,,,,,,,,,\r\n\
         Bad,Int,,1x,,,,,,,,\r\n\
         Bad,Range,,,sip,default,9999,,,,,\r\n\
         Bad,Context,,,sip,nowhere,,,,,,\r\n\
         Bad,Voicemail,,,,,,Mine,,,,\r\n\
         Bad,Profile,,,,,,,,,Nobody,\r\n\
         Bad,Entity,,,,,,,,,,7\r\n\
         Bad,Protocol,,,iax,default,,,,,,\r\n",
    );
    let errors = refusals(&response);
    let numbers: Vec<i64> = errors
        .iter()
        .map(|e| e["details"]["row_number"].as_i64().expect("row number"))
        .collect();
    assert_eq!(numbers, [2, 3, 4, 5, 6, 7, 8, 9, 10]);
    assert_eq!(
        messages(&errors),
        [
            "Input Error - missing parameters: firstname",
            "Input Error - 'supervision_enabled' must be one of (0, 1)",
            "Input Error - field 'ring_seconds': wrong type. Should be a integer",
            "Input Error - Extension '9999' is outside of range for context 'default'",
            "Input Error - field 'context': Context was not found ('context': 'nowhere')",
            "Input Error - missing parameters: number, context",
            "Resource Not Found - CtiProfile was not found ('name': 'Nobody')",
            "Input Error - field 'entity_id': Entity was not found ('entity_id': 7)",
            "Input Error - 'line_protocol' must be one of (sip, sccp)",
        ]
    );
    // each error shows the row's cells
    assert_eq!(errors[1]["details"]["row"]["supervision_enabled"], "yes");
    assert_eq!(errors[1]["details"]["row"]["lastname"], "Bool");
    // the good row was not kept either
    assert_eq!(counts(&mut api), before);
    assert!(rows(&export(&mut api)).is_empty());
}

#[test]
fn bad_files_say_what_and_where_and_write_nothing() {
    let mut api = Api::new();
    let before = counts(&mut api);
    let refused = |api: &mut Api, request: Request| -> Vec<(String, Value)> {
        let response = api.send(request);
        refusals(&response)
            .into_iter()
            .map(|e| {
                (
                    e["message"].as_str().unwrap_or_default().to_string(),
                    e["details"].clone(),
                )
            })
            .collect()
    };
    let post = |body: &str| csv("POST", body);
    assert_eq!(
        refused(&mut api, post("")),
        [(
            "Input Error - the file is empty: it needs a header line, then a row per user".into(),
            json!({})
        )]
    );
    assert_eq!(
        refused(&mut api, post("firstname,lastname\r\n")),
        [(
            "Input Error - the file has a header but no rows".into(),
            json!({"line": 2})
        )]
    );
    assert_eq!(
        refused(
            &mut api,
            post("firstname,sip_password,nickname\r\nA,b,c\r\n")
        ),
        [
            (
                "Input Error - unknown column 'sip_password' (the SIP endpoint's password is \
                 'sip_secret')"
                    .into(),
                json!({"line": 1})
            ),
            (
                "Input Error - unknown column 'nickname'".into(),
                json!({"line": 1})
            )
        ]
    );
    assert_eq!(
        refused(&mut api, post("firstname,firstname\r\nA,B\r\n"))[0].0,
        "Input Error - column 'firstname' is given twice"
    );
    // a quote opened on line 3 and never closed: rows before it are judged too
    let unbalanced = refused(
        &mut api,
        post("firstname,lastname\r\nAnn,Lee\r\n\"Bob,Kay\r\nCid,Moe\r\n"),
    );
    assert_eq!(
        unbalanced,
        [(
            "Input Error - the CSV is not valid: line 3: a quoted field is never closed".into(),
            json!({"row_number": 2})
        )]
    );
    let mut latin1 = csv("POST", "");
    latin1.body = b"firstname\r\nJ\xe9r\xf4me\r\n".to_vec();
    let not_utf8 = refused(&mut api, latin1);
    assert_eq!(
        not_utf8[0].0,
        "Input Error - the CSV is not valid: line 2: not UTF-8"
    );
    let mut unknown = Request::new("POST", "/1.1/users/import")
        .header("Content-Type", "text/csv; charset=ebcdic");
    unknown.body = b"firstname\r\nA\r\n".to_vec();
    assert_eq!(
        refused(&mut api, unknown)[0].0,
        "Input Error - unsupported charset 'ebcdic': send utf-8 or iso-8859-1"
    );
    let short = refused(&mut api, post("firstname,lastname\r\nAnn\r\n"));
    assert_eq!(
        short[0].0,
        "Input Error - row 1 (line 2) has 1 fields where the header has 2"
    );
    assert_eq!(short[0].1["row_number"], 1);
    // no two rows may name the same user, number or endpoint
    let twice = refused(
        &mut api,
        post(
            "firstname,username,line_protocol,context,exten,sip_username\r\n\
             Ann,ann,sip,default,1001,annsip\r\n\
             Bob,ann,sip,default,1002,bobsip\r\n\
             Cid,cid,sip,default,1001,cidsip\r\n\
             Dan,dan,sip,default,1003,annsip\r\n",
        ),
    );
    assert_eq!(
        twice.iter().map(|(m, _)| m.as_str()).collect::<Vec<_>>(),
        [
            "Input Error - username 'ann' is in row 1 too: a file may name it once",
            "Input Error - extension '1001@default' is in row 1 too: a file may name it once",
            "Input Error - sip_username 'annsip' is in row 1 too: a file may name it once",
        ]
    );
    assert_eq!(
        twice
            .iter()
            .map(|(_, d)| d["row_number"].as_i64().expect("row"))
            .collect::<Vec<_>>(),
        [2, 3, 4]
    );
    assert_eq!(counts(&mut api), before, "nothing was written");
    // the charset a client names is read
    let mut latin1 = Request::new("POST", "/1.1/users/import")
        .header("Content-Type", "text/csv; charset=iso-8859-1");
    latin1.body = b"firstname\r\nJ\xe9r\xf4me\r\n".to_vec();
    let response = api.send(latin1);
    assert_eq!(response.status, 201, "{}", response.text());
    let user = id(&response.json()["created"][0], "user_id");
    assert_eq!(
        api.get(&format!("/1.1/users/{user}"))["firstname"],
        "Jérôme"
    );
}

#[test]
fn an_update_finds_each_user_by_uuid_and_brings_it_to_its_row() {
    let mut api = Api::new();
    let created = imported(
        &mut api,
        "firstname,username,password,line_protocol,context,exten,incall_exten,incall_context,\
         voicemail_name,voicemail_number,voicemail_context\r\n\
         Ann,ann,annpass1,sip,default,1001,3001,from-extern,Ann,1001,default\r\n\
         Bob,bob,bobpass1,,,,,,,,\r\n",
    );
    let ann = created[0]["user_uuid"].as_str().expect("uuid").to_string();
    let bob = created[1]["user_uuid"].as_str().expect("uuid").to_string();
    let response = api.send(csv(
        "PUT",
        &format!(
            "uuid,lastname,exten,incall_exten,incall_ring_seconds,voicemail_number,\
             cti_profile_name,cti_profile_enabled,line_protocol,context\r\n\
             {ann},Lee,1011,3011,20,1011,Agent,1,,default\r\n\
             {},Kay,,,,,,,sccp,default\r\n",
            bob.to_uppercase()
        ),
    ));
    assert_eq!(response.status, 201, "{}", response.text());
    let updated = response.json()["updated"].clone();
    // Ann's own objects were changed, not new ones made
    for key in [
        "user_id",
        "line_id",
        "extension_id",
        "incall_extension_id",
        "voicemail_id",
    ] {
        assert_eq!(updated[0][key], created[0][key], "{key}");
    }
    let ann_id = id(&updated[0], "user_id");
    assert_eq!(api.get(&format!("/1.1/users/{ann_id}"))["lastname"], "Lee");
    let extension = api.get(&format!(
        "/1.1/extensions/{}",
        id(&updated[0], "extension_id")
    ));
    assert_eq!(extension["exten"], "1011");
    let incall = api.get(&format!(
        "/1.1/extensions/{}",
        id(&updated[0], "incall_extension_id")
    ));
    assert_eq!(incall["exten"], "3011");
    let voicemail = api.get(&format!(
        "/1.1/voicemails/{}",
        id(&updated[0], "voicemail_id")
    ));
    assert_eq!(voicemail["number"], "1011");
    assert_eq!(
        voicemail["name"], "Ann",
        "a column left out is left as it is"
    );
    let cti = api.get(&format!("/1.1/users/{ann_id}/cti"));
    assert_eq!(
        (cti["cti_profile_id"].clone(), cti["enabled"].clone()),
        (json!(2), json!(true))
    );
    let pairs = api.get(&format!(
        "/1.1/lines/{}/extensions",
        id(&updated[0], "line_id")
    ));
    assert_eq!(pairs["items"][1]["ring_seconds"], 20);
    // Bob had no line: it is made and associated
    let bob_line = id(&updated[1], "line_id");
    assert_eq!(updated[1]["user_uuid"], bob.as_str());
    let sccp = api.get(&format!("/1.1/lines/{bob_line}/endpoints/sccp"));
    assert_eq!(sccp["endpoint_id"], updated[1]["sccp_id"]);

    // an empty cell unsets; the row's user must exist; a line keeps its protocol
    let response = api.send(csv(
        "PUT",
        &format!(
            "uuid,lastname,line_protocol\r\n\
             {ann},,sccp\r\n\
             00000000-0000-0000-0000-000000000000,X,\r\n\
             ,Y,\r\n"
        ),
    ));
    let errors = refusals(&response);
    assert_eq!(
        messages(&errors),
        [
            format!(
                "Resource Error - Line is associated with a Endpoint ('line_id': {}, \
                 'endpoint': 'sip', 'endpoint_id': {})",
                created[0]["line_id"], created[0]["sip_id"]
            ),
            "Resource Not Found - User was not found ('uuid': \
             '00000000-0000-0000-0000-000000000000')"
                .into(),
            "Input Error - missing parameters: uuid".into(),
        ]
    );
    assert_eq!(api.get(&format!("/1.1/users/{ann_id}"))["lastname"], "Lee");
    let response = api.send(csv("PUT", &format!("uuid,lastname\r\n{ann},\r\n")));
    assert_eq!(response.status, 201, "{}", response.text());
    assert_eq!(
        api.get(&format!("/1.1/users/{ann_id}"))["lastname"],
        Value::Null
    );
    let response = api.send(csv("PUT", "firstname\r\nAnn\r\n"));
    assert_eq!(
        messages(&refusals(&response)),
        ["Input Error - missing column 'uuid': an update finds each user by its uuid"]
    );
}

#[test]
fn a_user_with_several_incalls_keeps_them_on_update() {
    let mut api = Api::new();
    let created = imported(
        &mut api,
        "firstname,line_protocol,context,incall_exten,incall_context\r\n\
         Ann,sip,default,3002;3001,from-extern\r\n",
    );
    let uuid = created[0]["user_uuid"].as_str().expect("uuid").to_string();
    let exported = rows(&export(&mut api));
    assert_eq!(exported[0]["incall_exten"], "3001;3002");
    assert_eq!(exported[0]["incall_context"], "from-extern;from-extern");
    // the same ones again: nothing to change
    let same = api.send(csv(
        "PUT",
        &format!("uuid,incall_exten,incall_context\r\n{uuid},3001;3002,from-extern\r\n"),
    ));
    assert_eq!(same.status, 201, "{}", same.text());
    let other = api.send(csv(
        "PUT",
        &format!("uuid,incall_exten,incall_context\r\n{uuid},3003,from-extern\r\n"),
    ));
    assert_eq!(
        messages(&refusals(&other)),
        ["Resource Error - Operation not permitted. Cannot update when user has multiple incalls"]
    );
    let internal = api.send(csv(
        "PUT",
        &format!("uuid,incall_exten,incall_context\r\n{uuid},3003,default\r\n"),
    ));
    assert_eq!(
        messages(&refusals(&internal)),
        [
            "Input Error - field 'incall_context': 'default' is a context of type internal, not incall"
        ]
    );
}

#[test]
fn the_export_has_the_references_header_order_and_quoting() {
    let mut api = Api::new();
    let created = imported(
        &mut api,
        "firstname,lastname,outgoing_caller_id,userfield,line_protocol,context,exten,\
         voicemail_name,voicemail_number,voicemail_context,voicemail_attach_audio\r\n\
         Ann,\"Lee, Jr\",\"\"\"Ann\"\" <1001>\",\"two\nlines\",sccp,default,1001,Ann,1001,default,1\r\n\
         Bob,Kay,,,,,,,,,\r\n",
    );
    // Bob also on Ann's line: a secondary user shows no line (an import
    // could not make it again)
    let line = id(&created[0], "line_id");
    let bob = id(&created[1], "user_id");
    api.create(&format!("/1.1/users/{bob}/lines"), json!({"line_id": line}));
    let text = export(&mut api);
    let mut lines = text.split("\r\n");
    assert_eq!(lines.next(), Some(HEADER));
    let ann = format!(
        "{},1,Ann,\"Lee, Jr\",,\"\"\"Ann\"\" <1001>\",,30,5,1,1,\"two\nlines\",,,,0,Ann,1001,\
         default,,,1,0,1,sccp,",
        created[0]["user_uuid"].as_str().expect("uuid")
    );
    let first = lines.next().expect("Ann");
    assert!(first.starts_with(&ann), "{first}\n{ann}");
    assert!(first.ends_with(",default,,,1001,,"), "{first}");
    let second = lines.next().expect("Bob");
    assert!(
        second.ends_with(",30,5,1,1,,,,,0,,,,,,,,,,,,,,,,"),
        "{second}"
    );
    assert_eq!(lines.next(), Some(""), "every record ends with CRLF");
    assert_eq!(lines.next(), None);
}

#[test]
fn the_export_answers_what_clients_accept() {
    let mut api = Api::new();
    for accept in [
        Some("application/json"),
        None,
        Some("text/csv"),
        Some("*/*"),
    ] {
        let mut request = Request::get("/1.1/users/export");
        if let Some(accept) = accept {
            request = request.header("Accept", accept);
        }
        let response = api.send(request);
        assert_eq!(response.status, 200, "{accept:?}");
        assert_eq!(response.text(), format!("{HEADER}\r\n"), "{accept:?}");
    }
    let html = api.send(Request::get("/1.1/users/export").header("Accept", "text/html"));
    assert_eq!(html.status, 406);
    // the import takes CSV only, and answers JSON
    let json_body = api.send(Request::post("/1.1/users/import", r#"{"firstname": "A"}"#));
    assert_eq!(json_body.status, 415);
    assert_eq!(
        json_body.errors(),
        ["Input Error - the body must be sent with Content-Type: text/csv; charset=utf-8"]
    );
    let not_json = api.send(csv("POST", "firstname\r\nA\r\n").header("Accept", "text/html"));
    assert_eq!(not_json.status, 406);
    // the other routes keep to JSON
    let mut csv_to_users = Request::new("POST", "/1.1/users").header("Content-Type", "text/csv");
    csv_to_users.body = b"firstname\r\nA\r\n".to_vec();
    assert_eq!(api.send(csv_to_users).status, 415);
    let csv_accept = api.send(Request::get("/1.1/users").header("Accept", "text/csv"));
    assert_eq!(csv_accept.status, 406);
}

/// Everything the columns can say, exported, the database wiped, imported
/// back, and exported again: the same bytes.
#[test]
fn an_export_imports_back_to_the_same_export() {
    let mut api = Api::new();
    let voicemail = "voicemail_name,voicemail_number,voicemail_context,voicemail_password,\
                     voicemail_email,voicemail_attach_audio,voicemail_delete_messages,\
                     voicemail_ask_password";
    imported(
        &mut api,
        &format!(
            "firstname,lastname,mobile_phone_number,outgoing_caller_id,language,ring_seconds,\
             simultaneous_calls,supervision_enabled,call_transfer_enabled,userfield,username,\
             password,cti_profile_name,cti_profile_enabled,{voicemail},line_protocol,context,\
             sip_username,sip_secret,exten,incall_exten,incall_context\r\n\
             Rîchard,\"Lâpointe, \"\"Rich\"\"\",+4185551234,\"\"\"Rîchy\"\" <4185551234>\",fr_FR,\
             10,3,0,1,\"note\r\nsecond line\",richard,s3cret,Client,1,Rich,1001,default,1234,\
             r@example.com,1,1,0,sip,default,richsip,richsecret,1001,3002;3001,from-extern\r\n\
             Àlice,,,,,,,,,,alice,al1cepass,Agent,0,Shared,1002,default,,,,,,sccp,default,,,1002,\
             3003,from-extern\r\n\
             Bob,Kay,,,en_US,,,,,,,,,,Shared,1002,default,,,,,,,,,,,,\r\n\
             Zoé,,,,,,,,,,,,,,,,,,,,,,sip,default,,,,,\r\n"
        ),
    );
    let first = export(&mut api);
    assert_eq!(rows(&first).len(), 4);
    // wiped: a new, empty database
    let mut fresh = Api::new();
    let response = fresh.send(csv("POST", &first));
    assert_eq!(response.status, 201, "{}", response.text());
    let second = export(&mut fresh);
    assert_eq!(second, first);
    // the same file again as an update changes nothing
    let response = fresh.send(csv("PUT", &first));
    assert_eq!(response.status, 201, "{}", response.text());
    assert_eq!(export(&mut fresh), first);
    // and its users log in as before
    let login = fresh.server.auth_client().send(
        Request::post("/0.1/token", r#"{"backend": "xivo_user"}"#).basic("richard", "s3cret"),
    );
    assert_eq!(login.status, 200, "{}", login.text());
}

#[test]
fn imports_are_bounded_by_their_own_body_limit() {
    let server =
        TestServer::start_with("[limits]\nmax_body_bytes = 4096\nmax_import_bytes = 65536\n");
    let token = server.token();
    let mut client = server.https_client();
    let mut body = String::from("firstname,userfield\r\n");
    let mut row = 0;
    while body.len() < 8 * 1024 {
        row += 1;
        body.push_str(&format!("User {row},{}\r\n", "x".repeat(100)));
    }
    // more than max_body_bytes: an import takes it...
    let response = client.send(csv("POST", &body).token(&token));
    assert_eq!(response.status, 201, "{}", response.text());
    assert_eq!(
        response.json()["created"].as_array().map(Vec::len),
        Some(row)
    );
    // ...another route does not
    let mut big_json = Request::post("/1.1/users", "{}");
    big_json.body = format!(r#"{{"firstname": "{}"}}"#, "x".repeat(8 * 1024)).into_bytes();
    assert_eq!(client.send(big_json.token(&token)).status, 413);
    // and past max_import_bytes, an import is refused too
    let mut huge = body.clone();
    while huge.len() <= 65536 {
        huge.push_str(&body);
    }
    let mut client = server.https_client();
    let response = client.send(csv("POST", &huge).token(&token));
    assert_eq!(response.status, 413);
}

/// The export is read a page at a time: past a page, every user is there
/// once, in id order.
#[test]
fn an_export_of_many_users_has_each_once_in_order() {
    let mut api = Api::new();
    let mut body = String::from("firstname,lastname\r\n");
    for n in 0..1234 {
        body.push_str(&format!("User,{n:04}\r\n"));
    }
    let created = imported(&mut api, &body);
    assert_eq!(created.len(), 1234);
    let exported = rows(&export(&mut api));
    let lastnames: Vec<String> = exported
        .iter()
        .map(|row| row["lastname"].as_str().expect("lastname").to_string())
        .collect();
    let expected: Vec<String> = (0..1234).map(|n| format!("{n:04}")).collect();
    assert_eq!(lastnames, expected);
}
