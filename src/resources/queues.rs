//! `/1.1/queues`, shaped as Wazo's later confd has them, their agent members
//! (`/1.1/queues/{queue}/members/agents`, as the 15.20 reference served
//! them) and a queue's number (`/1.1/queues/{queue}/extensions/{extension}`).

use super::Ctx;
use super::agents::AGENTS;
use super::association::{Association, AssociationHooks, PairChange, PairEvents, Reverse, Shape};
use super::extensions;
use super::fields::{Field, Item, Values};
use super::groups::{CALLER_ID_MODES, QUEUE_NAME, SECONDS_MAX, name_free_in};
use super::resource::{Hooks, Resource};
use crate::db::list::ListSpec;
use crate::error::{ApiError, ApiResult};
use rusqlite::Row;
use serde_json::{Value, json};

pub const FIELDS: &[Field] = &[
    QUEUE_NAME,
    Field::text("label", 128)
        .sorted()
        .searched()
        .doc("The name people see."),
    Field::boolean("data_quality").doc("Whether calls are recorded for quality control."),
    Field::boolean("dtmf_hangup_callee_enabled").doc("Whether the agent may hang up by DTMF."),
    Field::boolean("dtmf_hangup_caller_enabled").doc("Whether the caller may hang up by DTMF."),
    Field::boolean("dtmf_transfer_callee_enabled")
        .doc("Whether the agent may transfer the call by DTMF."),
    Field::boolean("dtmf_transfer_caller_enabled")
        .doc("Whether the caller may transfer the call by DTMF."),
    Field::boolean("dtmf_record_callee_enabled").doc("Whether the agent may record by DTMF."),
    Field::boolean("dtmf_record_caller_enabled").doc("Whether the caller may record by DTMF."),
    Field::boolean("retry_on_timeout")
        .doc("Whether the queue rings the agents again when the ring time is over."),
    Field::boolean("ring_on_hold").doc("Whether an agent on hold rings."),
    Field::integer("timeout", 0, SECONDS_MAX, 1)
        .nullable()
        .doc("Seconds a call may wait in the queue; 0 or null: no limit."),
    Field::boolean("announce_hold_time_on_entry")
        .doc("Whether the caller hears the expected wait on entering."),
    Field::boolean("ignore_forward").doc("Whether the agents' call forwards are ignored."),
    Field::text("preprocess_subroutine", 39).doc("Dialplan subroutine run first."),
    Field::text("music_on_hold", 128).doc("Music-on-hold category the caller hears."),
    Field::text("caller_id_mode", 16)
        .one_of(CALLER_ID_MODES)
        .doc("How `caller_id_name` is put with the caller's name; null: not at all."),
    Field::text("caller_id_name", 80).doc("Shown to the agents with the caller's name."),
    Field::boolean("enabled").doc("Whether the queue takes calls."),
    Field::list("options", Item::Pair)
        .doc("`[key, value]` pairs appended to the queue's section of queues.conf."),
];

pub static QUEUES: Resource = Resource {
    name: "Queue",
    collection: "queues",
    rel: "queues",
    table: "queues",
    fields: FIELDS,
    read_only: &["id", "links", "extensions", "members"],
    list: ListSpec::derived("name"),
    to_json: Some(queue_json),
    param: "queue",
    param_doc: "The queue's id.",
    tag: "queues",
    unique: &[&["name"]],
    example: r#"{"name": "queue{unique}", "label": "Queue {unique}"}"#,
    hooks: Hooks {
        before_write: Some(name_not_a_group),
        ..Hooks::NONE
    },
    ..Resource::BASE
};

/// An agent is in a queue once, with a penalty (agents of lower penalty are
/// rung first). Deleting the queue or the agent ends the membership.
pub static QUEUE_MEMBERS: Association = Association {
    name: "QueueMember",
    owner: &QUEUES,
    target: &AGENTS,
    table: "queue_members",
    owner_key: "queue_id",
    target_key: "agent_id",
    path: "members/agents",
    shape: Shape::Multiple,
    one_per_owner: false,
    reverse: Reverse::None,
    fields: &[Field::integer("penalty", 0, i32::MAX as i64, 1)
        .doc("Agents of a lower penalty are rung first; 0 when left out.")],
    order: "rowid",
    // schema step 7 cascades, as Wazo's deletes did
    guards_owner: false,
    guards_target: false,
    hooks: AssociationHooks {
        check: Some(not_yet_a_member),
        ..AssociationHooks::NONE
    },
    doc: "The queue's agents, each once, with a penalty. Deleting the queue or the agent \
          ends the membership.",
    pair_routes: true,
    keyed_not_found: true,
    target_first: true,
    // xivo-bus 15.20's agent/queue association events
    events: PairEvents {
        thing: Some("agent_queue"),
        edited: Some("agent_queue_association_edited"),
        dissociated: Some("agent_removed_from_queue"),
        data: Some(|change, data| {
            if change == PairChange::Dissociated {
                data.remove("penalty");
            }
        }),
        ..PairEvents::DERIVED
    },
    ..Association::BASE
};

/// A queue's number: one extension, in its context's queue ranges.
pub static QUEUE_EXTENSIONS: Association = extensions::number_of(
    "QueueExtension",
    &QUEUES,
    "queue_extensions",
    "queue_id",
    |ctx, _owner, extension| extensions::check_number(ctx, "queue", extension),
    "The queue's number: one extension of an internal context, within its queue \
          ranges, serving nothing else. Deleting the queue frees it.",
);

/// The queue with its `extensions` and, as Wazo shows them, its
/// `members`: `{"agents": [{"id", "number", "penalty", "links"}]}`.
fn queue_json(ctx: &Ctx, row: &Row) -> rusqlite::Result<Value> {
    let mut queue = extensions::with_numbers(ctx, &QUEUES, row, "queue_extensions", "queue_id")?;
    let id: i64 = row.get(0)?;
    let mut statement = ctx.conn.prepare_cached(
        "SELECT agents.id, agents.number, queue_members.penalty FROM queue_members \
         JOIN agents ON agents.id = queue_members.agent_id \
         WHERE queue_members.queue_id = ?1 ORDER BY queue_members.rowid",
    )?;
    let agents = statement
        .query_map([id], |row| {
            let agent_id: i64 = row.get(0)?;
            Ok(json!({
                "id": agent_id,
                "number": row.get::<_, String>(1)?,
                "penalty": row.get::<_, i64>(2)?,
                "links": AGENTS.links(ctx, agent_id),
            }))
        })?
        .collect::<rusqlite::Result<Vec<Value>>>()?;
    queue["members"] = json!({ "agents": agents });
    Ok(queue)
}

fn name_not_a_group(ctx: &Ctx, _id: Option<i64>, values: &mut Values) -> ApiResult<()> {
    name_free_in(ctx, values, "groups", "Group")
}

/// The reference's words for a second membership: no ids.
fn not_yet_a_member(ctx: &Ctx, queue_id: i64, agent_id: i64) -> ApiResult<()> {
    let member = ctx
        .conn
        .prepare_cached("SELECT 1 FROM queue_members WHERE queue_id = ?1 AND agent_id = ?2")?
        .exists([queue_id, agent_id])?;
    if member {
        return Err(ApiError::resource("Agent is associated with a Queue"));
    }
    Ok(())
}
