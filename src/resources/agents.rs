//! `/1.1/agents`: call center agents, shaped as Wazo's later confd has them
//! (the 15.20 reference had no agent API). An agent's queues are
//! `queues::QUEUE_MEMBERS`; deleting an agent ends its memberships.

use super::fields::{Field, digits};
use super::resource::Resource;
use super::users::LANGUAGES;
use crate::db::list::ListSpec;

pub const FIELDS: &[Field] = &[
    Field::text("number", 40)
        .required()
        .sorted()
        .searched()
        .check(|value| digits(value, 40))
        .doc("The agent's number, 1 to 40 digits; unique. Agents log in with it."),
    Field::text("firstname", 128)
        .sorted()
        .searched()
        .doc("First name."),
    Field::text("lastname", 128)
        .sorted()
        .searched()
        .doc("Last name."),
    Field::text("password", 128)
        .check(|value| digits(value, 128))
        .doc("Digits asked when the agent logs in; null for none."),
    Field::text("language", 20)
        .one_of(LANGUAGES)
        .doc("Language of the prompts the agent hears."),
    Field::text("preprocess_subroutine", 39).doc("Dialplan subroutine run first."),
    Field::text("description", 4096)
        .searched()
        .doc("Free text about the agent."),
];

pub static AGENTS: Resource = Resource {
    name: "Agent",
    collection: "agents",
    rel: "agents",
    table: "agents",
    fields: FIELDS,
    list: ListSpec::derived("number"),
    param: "agent",
    param_doc: "The agent's id.",
    tag: "agents",
    unique: &[&["number"]],
    example: r#"{"number": "7{unique}", "firstname": "Agent", "lastname": "{unique}"}"#,
    ..Resource::BASE
};
