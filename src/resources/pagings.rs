//! `/1.1/pagings`: paging (intercom) numbers, shaped as Wazo's later confd
//! has them (the 15.20 reference had no paging API).

use super::fields::{Field, digits};
use super::resource::Resource;
use crate::db::list::ListSpec;

pub const FIELDS: &[Field] = &[
    Field::text("number", 32)
        .required()
        .sorted()
        .searched()
        .check(|value| digits(value, 32))
        .doc("The paging's number, 1 to 32 digits; unique."),
    Field::text("name", 128)
        .sorted()
        .searched()
        .doc("The name people see."),
    Field::boolean("announce_caller").doc("Whether the called phones hear who pages."),
    Field::text("announce_sound", 64).doc("Sound played before the page; null for none."),
    Field::boolean("caller_notification").doc("Whether the caller hears a beep when it starts."),
    Field::boolean("duplex").doc("Whether the called phones may answer back."),
    Field::boolean("ignore_forward").doc("Whether the called phones' forwards are ignored."),
    Field::boolean("record").doc("Whether the page is recorded."),
    Field::boolean("enabled").doc("Whether the paging takes calls."),
];

pub static PAGINGS: Resource = Resource {
    name: "Paging",
    collection: "pagings",
    rel: "pagings",
    table: "pagings",
    fields: FIELDS,
    list: ListSpec::derived("number"),
    param: "paging",
    param_doc: "The paging's id.",
    tag: "pagings",
    unique: &[&["number"]],
    example: r#"{"number": "9{unique}", "name": "Paging {unique}"}"#,
    ..Resource::BASE
};
