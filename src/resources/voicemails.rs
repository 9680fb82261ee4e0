//! `/1.1/voicemails` and a user's voicemail (`/1.1/users/{user}/voicemail`,
//! `/1.1/voicemails/{voicemail}/users`). Everything but the field checks is
//! the generic handlers' work: the number is unique in its context, the
//! context, language and time zone must exist, and neither a voicemail nor
//! a user still associated can be deleted.

use super::association::{Association, PairChange, PairEvents, Reverse, Shape};
use super::fields::{CONTEXT, Field, Item, Refers, digits};
use super::resource::Resource;
use super::users::USERS;
use crate::db::list::ListSpec;

const LANGUAGE: Refers = Refers {
    name: "Language",
    table: "languages",
    column: "name",
    shows_value: true,
};

const TIMEZONE: Refers = Refers {
    name: "Timezone",
    table: "voicemail_zones",
    column: "name",
    shows_value: true,
};

/// The reference's words for a wrong text type.
const TEXT: &str = "a unicode string";

pub const FIELDS: &[Field] = &[
    Field::text("name", 80)
        .sorted()
        .searched()
        .required()
        .expects(TEXT)
        .doc("Shown in the voicemail menu and the directory."),
    Field::text("number", 4096)
        .sorted()
        .searched()
        .required()
        .expects(TEXT)
        .check(|value| digits(value, 40))
        .doc("The mailbox number, 1 to 40 digits; unique in its context."),
    Field::text("context", 39)
        .sorted()
        .required()
        .expects(TEXT)
        .refers(CONTEXT)
        .doc("An existing context."),
    Field::text("password", 4096)
        .expects(TEXT)
        .check(|value| digits(value, 80))
        .doc("1 to 80 digits asked before the messages are played; null for none."),
    Field::text("email", 80)
        .sorted()
        .searched()
        .expects(TEXT)
        .doc("Where notifications and recorded messages are sent."),
    Field::text("pager", 80)
        .expects(TEXT)
        .doc("Where short notifications are sent."),
    Field::text("language", 20)
        .sorted()
        .expects(TEXT)
        .refers(LANGUAGE)
        .doc("Language of the menu: de_DE, en_US, es_ES, fr_FR, fr_CA, it_IT or nl_NL."),
    Field::text("timezone", 128)
        .sorted()
        .expects(TEXT)
        .refers(TIMEZONE)
        .doc("A voicemail time zone (a new install has `eu-fr`), for the time of messages."),
    Field::integer("max_messages", i32::MIN as i64, i32::MAX as i64, 1)
        .nullable()
        .doc("Most messages kept; null for the system's default."),
    Field::boolean("attach_audio")
        .nullable()
        .doc("Whether the recording is attached to the email; null for the system's default."),
    Field::boolean("delete_messages").doc("Whether a message is deleted once emailed."),
    Field::boolean("ask_password").doc("Whether the password is asked."),
    Field::boolean("enabled").doc("Whether the voicemail answers at all."),
    Field::list("options", Item::Pair)
        .expects("a list of paired string tuples")
        .doc("`[key, value]` pairs appended to the mailbox's line in voicemail.conf."),
];

pub static VOICEMAILS: Resource = Resource {
    name: "Voicemail",
    collection: "voicemails",
    rel: "voicemails",
    table: "voicemails",
    fields: FIELDS,
    list: ListSpec::derived("number"),
    // schema step 5, view `voicemail_search_source`: the same text
    search_index: Some(crate::db::search::VOICEMAILS),
    param: "voicemail",
    param_doc: "The voicemail's id.",
    tag: "voicemails",
    unique: &[&["number", "context"]],
    example: r#"{"name": "Voicemail {unique}", "number": "8{unique}", "context": "default"}"#,
    ..Resource::BASE
};

/// A user has one voicemail at most; a voicemail may serve several users.
pub static USER_VOICEMAIL: Association = Association {
    name: "UserVoicemail",
    owner: &USERS,
    target: &VOICEMAILS,
    table: "user_voicemail",
    owner_key: "user_id",
    target_key: "voicemail_id",
    path: "voicemail",
    shape: Shape::Single,
    reverse: Reverse::List("users"),
    fields: &[Field::boolean("enabled").doc("Whether the user may use the voicemail.")],
    order: "user_id",
    doc: "A user has one voicemail at most; several users may share one.",
    events: PairEvents {
        associated: Some("voicemail_associated"),
        dissociated: Some("voicemail_dissociated"),
        data: Some(|change, data| {
            // the reference told a dissociation with `enabled: false`
            if change == PairChange::Dissociated {
                data.insert("enabled".into(), serde_json::Value::Bool(false));
            }
        }),
        ..PairEvents::DERIVED
    },
    ..Association::BASE
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_passwords_are_digits_within_their_length() {
        assert!(digits("1000", 40).is_ok());
        assert!(digits(&"9".repeat(40), 40).is_ok());
        for bad in ["", "one", "#1234", "*1234", "12 3", "１２"] {
            assert_eq!(
                digits(bad, 40),
                Err("wrong type. Should be a numeric string (max length: 40)".into()),
                "{bad:?}"
            );
        }
        assert!(digits(&"9".repeat(41), 40).is_err());
    }

    /// The list is made from the fields: the reference's order columns and
    /// search fields, and the very text the search index (schema step 5)
    /// holds.
    #[test]
    fn the_list_comes_from_the_fields() {
        let spec = VOICEMAILS.list_spec();
        let columns: Vec<&str> = spec.columns.iter().map(|(name, _)| *name).collect();
        assert_eq!(
            columns,
            [
                "id", "name", "number", "context", "email", "language", "timezone"
            ]
        );
        assert_eq!(spec.default_order, "number");
        assert_eq!(
            spec.search_text,
            Some(
                "casefold(voicemails.name || char(10) || voicemails.number || char(10) || \
                 coalesce(voicemails.email, ''))"
            )
        );
        assert!(
            spec.select
                .starts_with("voicemails.id, voicemails.name, voicemails.number")
        );
    }
}
