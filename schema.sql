-- xivo-confd schema, in numbered steps (a line "-- step N: ..." opens
-- each). A database records in PRAGMA user_version how many it has, and
-- each missing one is applied once, in its own transaction (src/db/mod.rs).
-- Never edit an applied one: add a new one at the end.

-- step 1: instance, web-services users, tokens, users

-- Instance facts: the stable instance uuid, the Digest nonce secret.
CREATE TABLE infos (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;

-- Deprecated web-services access. The password is never stored: only the
-- Digest HA1 values for the configured realm (MD5 and SHA-256), which are
-- also what a Basic login is checked against.
CREATE TABLE webservice_users (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    login       TEXT NOT NULL UNIQUE,
    realm       TEXT NOT NULL,
    ha1_md5     TEXT NOT NULL,
    ha1_sha256  TEXT NOT NULL,
    host        TEXT,
    acls        TEXT NOT NULL DEFAULT '["confd.#"]',  -- JSON list of ACL patterns
    created_at  REAL NOT NULL
);

-- Tokens of the built-in xivo-auth API. Only a SHA-256 of the token is
-- stored: a copy of the file does not hand out live tokens.
CREATE TABLE tokens (
    token_hash  TEXT PRIMARY KEY,
    backend     TEXT NOT NULL,
    auth_id     TEXT NOT NULL,
    user_uuid   TEXT,
    user_id     INTEGER,
    acls        TEXT NOT NULL,  -- JSON list of ACL patterns
    issued_at   REAL NOT NULL,
    expires_at  REAL NOT NULL
) WITHOUT ROWID;
CREATE INDEX tokens_expires_at ON tokens (expires_at);

-- AUTOINCREMENT: ids are never reused after a delete.
CREATE TABLE users (
    id                     INTEGER PRIMARY KEY AUTOINCREMENT,
    uuid                   TEXT NOT NULL UNIQUE,
    firstname              TEXT NOT NULL,
    lastname               TEXT,
    timezone               TEXT,
    language               TEXT,
    description            TEXT,
    caller_id              TEXT,
    outgoing_caller_id     TEXT,
    mobile_phone_number    TEXT,
    username               TEXT UNIQUE,
    password_hash          TEXT,  -- PBKDF2-HMAC-SHA256, see src/auth/password.rs
    music_on_hold          TEXT,
    preprocess_subroutine  TEXT,
    userfield              TEXT,
    call_transfer_enabled  INTEGER NOT NULL DEFAULT 1 CHECK (call_transfer_enabled IN (0, 1)),
    supervision_enabled    INTEGER NOT NULL DEFAULT 1 CHECK (supervision_enabled IN (0, 1)),
    ring_seconds           INTEGER NOT NULL DEFAULT 30 CHECK (ring_seconds BETWEEN 0 AND 60),
    simultaneous_calls     INTEGER NOT NULL DEFAULT 5 CHECK (simultaneous_calls BETWEEN 1 AND 20),
    -- lowercased text of every searchable field, kept by the server on each
    -- write, so a case-insensitive search reads one column
    search_text            TEXT NOT NULL DEFAULT ''
);
CREATE INDEX users_lastname ON users (lastname, id);
CREATE INDEX users_firstname ON users (firstname, id);

-- step 2: contexts, lines, SIP/SCCP endpoints, extensions, associations

CREATE TABLE entities (
    id            INTEGER PRIMARY KEY,
    name          TEXT NOT NULL UNIQUE,
    display_name  TEXT
);
INSERT INTO entities (id, name, display_name) VALUES (1, 'xivo', 'XiVO');

CREATE TABLE contexts (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    name          TEXT NOT NULL UNIQUE,
    display_name  TEXT,
    type          TEXT NOT NULL DEFAULT 'internal'
                  CHECK (type IN ('internal', 'incall', 'outcall', 'services', 'others')),
    description   TEXT,
    entity_id     INTEGER NOT NULL DEFAULT 1 REFERENCES entities (id),
    -- JSON lists of {"start": "1000", "end": "1999"}, one per kind of number
    user_ranges             TEXT NOT NULL DEFAULT '[]',
    group_ranges            TEXT NOT NULL DEFAULT '[]',
    queue_ranges            TEXT NOT NULL DEFAULT '[]',
    conference_room_ranges  TEXT NOT NULL DEFAULT '[]',
    incall_ranges           TEXT NOT NULL DEFAULT '[]'
);
-- what a real install has, and what clients written for it assume
INSERT INTO contexts (name, display_name, type, user_ranges, incall_ranges) VALUES
    ('default', 'Default', 'internal', '[{"start": "1000", "end": "1999"}]', '[]'),
    ('from-extern', 'Incalls', 'incall', '[]', '[{"start": "1000", "end": "4999"}]'),
    ('to-extern', 'Outcalls', 'outcall', '[]', '[]');

-- what a context includes (the default context reaches the outside through to-extern)
CREATE TABLE context_includes (
    context   TEXT NOT NULL REFERENCES contexts (name) ON UPDATE CASCADE ON DELETE CASCADE,
    includes  TEXT NOT NULL REFERENCES contexts (name) ON UPDATE CASCADE ON DELETE CASCADE,
    PRIMARY KEY (context, includes)
) WITHOUT ROWID;
INSERT INTO context_includes (context, includes) VALUES ('default', 'to-extern');

CREATE TABLE endpoints_sip (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    username  TEXT NOT NULL UNIQUE,
    secret    TEXT NOT NULL,
    type      TEXT NOT NULL DEFAULT 'friend' CHECK (type IN ('friend', 'peer', 'user')),
    host      TEXT NOT NULL DEFAULT 'dynamic',
    options   TEXT NOT NULL DEFAULT '[]',  -- JSON list of [key, value]
    -- kept by the server from the line's main user (caller id propagation)
    callerid  TEXT,
    setvar    TEXT
);

CREATE TABLE endpoints_sccp (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    options   TEXT NOT NULL DEFAULT '[]',  -- JSON list of [key, value]: allow, disallow
    -- caller id: set through options, or kept from the line's main user
    cid_name  TEXT NOT NULL DEFAULT '',
    cid_num   TEXT NOT NULL DEFAULT ''
);

-- A line has at most one endpoint; an endpoint serves at most one line
-- (UNIQUE); deleting an endpoint clears it from its line.
CREATE TABLE lines (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    context            TEXT NOT NULL REFERENCES contexts (name) ON UPDATE CASCADE,
    position           INTEGER NOT NULL DEFAULT 1 CHECK (position >= 1),
    provisioning_code  TEXT NOT NULL UNIQUE,
    device_id          TEXT,
    registrar          TEXT NOT NULL DEFAULT 'default',
    endpoint_sip_id    INTEGER UNIQUE REFERENCES endpoints_sip (id) ON DELETE SET NULL,
    endpoint_sccp_id   INTEGER UNIQUE REFERENCES endpoints_sccp (id) ON DELETE SET NULL,
    CHECK (endpoint_sip_id IS NULL OR endpoint_sccp_id IS NULL)
);

CREATE TABLE extensions (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    exten      TEXT NOT NULL,
    context    TEXT NOT NULL REFERENCES contexts (name) ON UPDATE CASCADE,
    commented  INTEGER NOT NULL DEFAULT 0 CHECK (commented IN (0, 1)),
    UNIQUE (exten, context)
);
CREATE INDEX extensions_context ON extensions (context, exten);

-- An extension is on at most one line. No cascade: a line or an extension
-- still linked cannot be deleted.
CREATE TABLE line_extensions (
    line_id       INTEGER NOT NULL REFERENCES lines (id),
    extension_id  INTEGER NOT NULL UNIQUE REFERENCES extensions (id),
    PRIMARY KEY (line_id, extension_id)
) WITHOUT ROWID;

-- A user has at most one line (UNIQUE user_id); a line has one main user
-- and any number of secondary ones.
CREATE TABLE user_lines (
    user_id    INTEGER NOT NULL UNIQUE REFERENCES users (id),
    line_id    INTEGER NOT NULL REFERENCES lines (id),
    main_user  INTEGER NOT NULL CHECK (main_user IN (0, 1)),
    main_line  INTEGER NOT NULL DEFAULT 1 CHECK (main_line IN (0, 1)),
    PRIMARY KEY (user_id, line_id)
) WITHOUT ROWID;
CREATE INDEX user_lines_line ON user_lines (line_id);
CREATE UNIQUE INDEX user_lines_one_main_user ON user_lines (line_id) WHERE main_user = 1;

-- step 3: indexes for sorted paging and for search

-- Sorting by name follows the list's collation (NOCASE): these let the
-- server read users in list order from an index instead of sorting them.
-- The BINARY ones of step 1 served no query and cost every write.
DROP INDEX users_lastname;
DROP INDEX users_firstname;
CREATE INDEX users_lastname_nocase ON users (lastname COLLATE NOCASE, id);
CREATE INDEX users_firstname_nocase ON users (firstname COLLATE NOCASE, id);

-- Search: a case-insensitive substring of the text below (the kept search
-- text, already case-folded by the server, and the number of the user's
-- line; users::SEARCH in src/resources/users.rs says the same). Two FTS5
-- trigram indexes answer it exactly; the server checks them against a plain
-- scan in its tests. A text holding NUL (which the tokenizer skips) or \x01
-- (the separator below) is not indexed but listed in
-- user_search_unindexed, whose few rows the server scans.
CREATE VIEW user_search_source AS
SELECT id, text, instr(text, char(0)) = 0 AND instr(text, char(1)) = 0 AS indexable
FROM (SELECT users.id AS id,
             users.search_text || char(10) || coalesce(
                 (SELECT extensions.exten FROM extensions WHERE extensions.id =
                     (SELECT min(line_extensions.extension_id) FROM line_extensions
                      WHERE line_extensions.line_id = user_lines.line_id)), '') AS text
      FROM users LEFT JOIN user_lines ON user_lines.user_id = users.id);
CREATE TABLE user_search_unindexed (id INTEGER PRIMARY KEY);

-- The search indexes this step first made (FTS5 tables kept by triggers that
-- called casefold and used group_concat(... ORDER BY) and contentless_delete,
-- SQLite 3.43-3.44) are made by step 6 now, in a form any SQLite from 3.37
-- reads and writes; step 6 drops them from a database made before.

-- step 4: voicemails, their time zones and languages, and the user<->voicemail association

-- time zones a voicemail announces its messages' times in (asterisk
-- `zonemessages`); a new install has the reference's one
CREATE TABLE voicemail_zones (
    name      TEXT PRIMARY KEY,
    messages  TEXT NOT NULL
) WITHOUT ROWID;
INSERT INTO voicemail_zones (name, messages) VALUES
    ('eu-fr', 'Europe/Paris|''vm-received'' q ''digits/at'' kM');

-- languages prompts exist in
CREATE TABLE languages (name TEXT PRIMARY KEY) WITHOUT ROWID;
INSERT INTO languages (name) VALUES
    ('de_DE'), ('en_US'), ('es_ES'), ('fr_FR'), ('fr_CA'), ('it_IT'), ('nl_NL');

CREATE TABLE voicemails (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    name             TEXT NOT NULL,
    number           TEXT NOT NULL,
    context          TEXT NOT NULL REFERENCES contexts (name) ON UPDATE CASCADE,
    password         TEXT,
    email            TEXT,
    pager            TEXT,
    language         TEXT REFERENCES languages (name),
    timezone         TEXT REFERENCES voicemail_zones (name) ON UPDATE CASCADE,
    max_messages     INTEGER,
    attach_audio     INTEGER CHECK (attach_audio IN (0, 1)),
    delete_messages  INTEGER NOT NULL DEFAULT 0 CHECK (delete_messages IN (0, 1)),
    ask_password     INTEGER NOT NULL DEFAULT 1 CHECK (ask_password IN (0, 1)),
    enabled          INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
    options          TEXT NOT NULL DEFAULT '[]',  -- JSON list of [key, value]
    UNIQUE (number, context)
);
-- the list's sort orders (see db::list: the order index is read in one pass)
CREATE INDEX voicemails_name ON voicemails (name COLLATE NOCASE);
CREATE INDEX voicemails_email ON voicemails (email COLLATE NOCASE);
CREATE INDEX voicemails_context ON voicemails (context);

-- A user has at most one voicemail; a voicemail may serve several users.
-- No cascade: a voicemail or a user still linked cannot be deleted.
CREATE TABLE user_voicemail (
    user_id       INTEGER PRIMARY KEY REFERENCES users (id),
    voicemail_id  INTEGER NOT NULL REFERENCES voicemails (id),
    enabled       INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1))
);
CREATE INDEX user_voicemail_voicemail ON user_voicemail (voicemail_id);

-- step 5: search indexes for lines, extensions and voicemails

-- For each list: a view of (id, text, indexable) giving exactly the list's
-- search text (`search_text` of LINES, EXTENSIONS and VOICEMAILS in
-- src/resources; only the server reads it: it calls casefold), two plain
-- FTS5 trigram tables (the text, and the text with \x01 around every
-- character, for terms of 1-2 characters; trigram needs SQLite 3.34), a
-- table of the ids whose text has NUL or \x01, and a table of the ids whose
-- entries are to be rewritten. Triggers only note those ids, in plain SQL
-- (NOT EXISTS, not INSERT OR IGNORE: the ON UPDATE CASCADE of a rename makes
-- that an abort), so any SQLite from 3.37 writes these tables; the server
-- rewrites the noted entries (db::search) and, until it has, reads the
-- noted objects' texts through the source view. Its tests check each index
-- against a plain scan.

-- lines: reads the line and its SIP endpoint's username
CREATE VIEW line_search_source AS
SELECT id, text, instr(text, char(0)) = 0 AND instr(text, char(1)) = 0 AS indexable
FROM (SELECT lines.id AS id,
             casefold(lines.context || char(10) || lines.provisioning_code || char(10) ||
                 lines.position || char(10) || coalesce(lines.device_id, '') || char(10) ||
                 coalesce(endpoints_sip.username, '') || char(10) ||
                 CASE WHEN lines.endpoint_sip_id IS NOT NULL THEN 'sip'
                 WHEN lines.endpoint_sccp_id IS NOT NULL THEN 'sccp' ELSE '' END) AS text
      FROM lines LEFT JOIN endpoints_sip ON endpoints_sip.id = lines.endpoint_sip_id);
CREATE TABLE line_search_unindexed (id INTEGER PRIMARY KEY);

-- extensions: reads the extension only (the join to its context narrows
-- the list, which the order index does)
CREATE VIEW extension_search_source AS
SELECT id, text, instr(text, char(0)) = 0 AND instr(text, char(1)) = 0 AS indexable
FROM (SELECT extensions.id AS id,
             casefold(extensions.exten || char(10) || extensions.context) AS text
      FROM extensions);
CREATE TABLE extension_search_unindexed (id INTEGER PRIMARY KEY);

-- voicemails: reads the voicemail only
CREATE VIEW voicemail_search_source AS
SELECT id, text, instr(text, char(0)) = 0 AND instr(text, char(1)) = 0 AS indexable
FROM (SELECT voicemails.id AS id,
             casefold(voicemails.name || char(10) || voicemails.number || char(10) ||
                 coalesce(voicemails.email, '')) AS text
      FROM voicemails);
CREATE TABLE voicemail_search_unindexed (id INTEGER PRIMARY KEY);

CREATE VIRTUAL TABLE line_search USING fts5 (text, tokenize = 'trigram case_sensitive 1');
CREATE VIRTUAL TABLE line_search_pairs USING fts5 (
    text, tokenize = 'trigram case_sensitive 1', detail = none
);
CREATE VIRTUAL TABLE extension_search USING fts5 (text, tokenize = 'trigram case_sensitive 1');
CREATE VIRTUAL TABLE extension_search_pairs USING fts5 (
    text, tokenize = 'trigram case_sensitive 1', detail = none
);
CREATE VIRTUAL TABLE voicemail_search USING fts5 (text, tokenize = 'trigram case_sensitive 1');
CREATE VIRTUAL TABLE voicemail_search_pairs USING fts5 (
    text, tokenize = 'trigram case_sensitive 1', detail = none
);
CREATE TABLE line_search_dirty (id INTEGER PRIMARY KEY);
CREATE TABLE extension_search_dirty (id INTEGER PRIMARY KEY);
CREATE TABLE voicemail_search_dirty (id INTEGER PRIMARY KEY);
INSERT INTO line_search_dirty (id) SELECT id FROM lines;
INSERT INTO extension_search_dirty (id) SELECT id FROM extensions;
INSERT INTO voicemail_search_dirty (id) SELECT id FROM voicemails;

-- lines: the line and its SIP endpoint's username
CREATE TRIGGER lines_search_insert AFTER INSERT ON lines BEGIN
    INSERT INTO line_search_dirty (id)
        SELECT new.id WHERE NOT EXISTS (SELECT 1 FROM line_search_dirty WHERE id = new.id);
END;
CREATE TRIGGER lines_search_update AFTER UPDATE OF id, context, provisioning_code, position,
    device_id, endpoint_sip_id, endpoint_sccp_id ON lines BEGIN
    INSERT INTO line_search_dirty (id)
        SELECT old.id WHERE NOT EXISTS (SELECT 1 FROM line_search_dirty WHERE id = old.id);
    INSERT INTO line_search_dirty (id)
        SELECT new.id WHERE NOT EXISTS (SELECT 1 FROM line_search_dirty WHERE id = new.id);
END;
CREATE TRIGGER lines_search_delete AFTER DELETE ON lines BEGIN
    INSERT INTO line_search_dirty (id)
        SELECT old.id WHERE NOT EXISTS (SELECT 1 FROM line_search_dirty WHERE id = old.id);
END;
CREATE TRIGGER endpoints_sip_search_insert AFTER INSERT ON endpoints_sip BEGIN
    INSERT INTO line_search_dirty (id)
        SELECT DISTINCT id FROM lines WHERE endpoint_sip_id = new.id
        AND id NOT IN (SELECT id FROM line_search_dirty);
END;
CREATE TRIGGER endpoints_sip_search_update AFTER UPDATE OF id, username ON endpoints_sip BEGIN
    INSERT INTO line_search_dirty (id)
        SELECT DISTINCT id FROM lines WHERE endpoint_sip_id IN (old.id, new.id)
        AND id NOT IN (SELECT id FROM line_search_dirty);
END;
CREATE TRIGGER endpoints_sip_search_delete AFTER DELETE ON endpoints_sip BEGIN
    INSERT INTO line_search_dirty (id)
        SELECT DISTINCT id FROM lines WHERE endpoint_sip_id = old.id
        AND id NOT IN (SELECT id FROM line_search_dirty);
END;

-- extensions: the extension only
CREATE TRIGGER extensions_search_insert AFTER INSERT ON extensions BEGIN
    INSERT INTO extension_search_dirty (id)
        SELECT new.id WHERE NOT EXISTS (SELECT 1 FROM extension_search_dirty WHERE id = new.id);
END;
CREATE TRIGGER extensions_search_text_update AFTER UPDATE OF id, exten, context ON extensions BEGIN
    INSERT INTO extension_search_dirty (id)
        SELECT old.id WHERE NOT EXISTS (SELECT 1 FROM extension_search_dirty WHERE id = old.id);
    INSERT INTO extension_search_dirty (id)
        SELECT new.id WHERE NOT EXISTS (SELECT 1 FROM extension_search_dirty WHERE id = new.id);
END;
CREATE TRIGGER extensions_search_delete AFTER DELETE ON extensions BEGIN
    INSERT INTO extension_search_dirty (id)
        SELECT old.id WHERE NOT EXISTS (SELECT 1 FROM extension_search_dirty WHERE id = old.id);
END;

-- voicemails: the voicemail only
CREATE TRIGGER voicemails_search_insert AFTER INSERT ON voicemails BEGIN
    INSERT INTO voicemail_search_dirty (id)
        SELECT new.id WHERE NOT EXISTS (SELECT 1 FROM voicemail_search_dirty WHERE id = new.id);
END;
CREATE TRIGGER voicemails_search_update AFTER UPDATE OF id, name, number, email ON voicemails BEGIN
    INSERT INTO voicemail_search_dirty (id)
        SELECT old.id WHERE NOT EXISTS (SELECT 1 FROM voicemail_search_dirty WHERE id = old.id);
    INSERT INTO voicemail_search_dirty (id)
        SELECT new.id WHERE NOT EXISTS (SELECT 1 FROM voicemail_search_dirty WHERE id = new.id);
END;
CREATE TRIGGER voicemails_search_delete AFTER DELETE ON voicemails BEGIN
    INSERT INTO voicemail_search_dirty (id)
        SELECT old.id WHERE NOT EXISTS (SELECT 1 FROM voicemail_search_dirty WHERE id = old.id);
END;

-- step 6: the users' search index, in the form of step 5

-- Step 3 first kept the users' index with triggers that called casefold (a
-- function only the server has) and used group_concat(... ORDER BY) and
-- contentless_delete (SQLite 3.44 and 3.43): Debian's sqlite3 could not
-- even read the schema, and any write from it to users failed. Step 3 now
-- makes only what still stands; this step drops what a database made
-- before still has (IF EXISTS: a newer one has none of it), then keeps the
-- users' index as step 5 keeps the others': triggers only note ids, the
-- server rewrites the entries (db::search: in the transaction of each write
-- request, when it notices another connection's commit, and at start-up).
DROP TRIGGER IF EXISTS user_search_reindex_one;
DROP VIEW IF EXISTS user_search_reindex;
DROP TRIGGER IF EXISTS users_search_insert;
DROP TRIGGER IF EXISTS users_search_update;
DROP TRIGGER IF EXISTS users_search_delete;
DROP TRIGGER IF EXISTS user_lines_search_insert;
DROP TRIGGER IF EXISTS user_lines_search_delete;
DROP TRIGGER IF EXISTS user_lines_search_update;
DROP TRIGGER IF EXISTS line_extensions_search_insert;
DROP TRIGGER IF EXISTS line_extensions_search_delete;
DROP TRIGGER IF EXISTS line_extensions_search_update;
DROP TRIGGER IF EXISTS extensions_search_update;
DROP VIEW IF EXISTS user_search_pairs_source;
DROP TABLE IF EXISTS search_positions;
DROP TABLE IF EXISTS user_search;
DROP TABLE IF EXISTS user_search_pairs;

-- the text (a term of 3+ characters is a phrase of its
-- trigrams) and the text with \x01 around every character (built by the
-- server; a term of 1-2 characters is one token of it), as plain FTS5
-- tables keeping their own copy of the text, so an entry is deleted by
-- rowid. Trigram tokenizer: SQLite 3.34.
CREATE VIRTUAL TABLE user_search USING fts5 (text, tokenize = 'trigram case_sensitive 1');
CREATE VIRTUAL TABLE user_search_pairs USING fts5 (
    text, tokenize = 'trigram case_sensitive 1', detail = none
);

-- the objects whose index entries are to be rewritten: all of them, now
CREATE TABLE user_search_dirty (id INTEGER PRIMARY KEY);
INSERT INTO user_search_dirty (id) SELECT id FROM users;

-- users.search_text as the server computes it (SEARCH_TEXT in
-- src/resources/users.rs), for a user written by another program: the
-- server refreshes the column of each noted user from this view
CREATE VIEW user_search_text (id, text) AS
SELECT users.id,
       casefold(trim(users.firstname || ' ' || coalesce(users.lastname, '')) || char(10) ||
           coalesce(users.caller_id, '') || char(10) || coalesce(users.description, '') ||
           char(10) || coalesce(users.userfield, '') || char(10) ||
           coalesce(users.mobile_phone_number, '') || char(10) ||
           coalesce(users.music_on_hold, '') || char(10) ||
           coalesce(users.preprocess_subroutine, '') || char(10) ||
           coalesce(users.outgoing_caller_id, '') || char(10) || coalesce(users.username, ''))
FROM users;

-- users: the user's own fields, its line, the line's extensions
CREATE TRIGGER users_search_insert AFTER INSERT ON users BEGIN
    INSERT INTO user_search_dirty (id)
        SELECT new.id WHERE NOT EXISTS (SELECT 1 FROM user_search_dirty WHERE id = new.id);
END;
CREATE TRIGGER users_search_update AFTER UPDATE OF id, firstname, lastname, caller_id,
    description, userfield, mobile_phone_number, music_on_hold, preprocess_subroutine,
    outgoing_caller_id, username, search_text ON users BEGIN
    INSERT INTO user_search_dirty (id)
        SELECT old.id WHERE NOT EXISTS (SELECT 1 FROM user_search_dirty WHERE id = old.id);
    INSERT INTO user_search_dirty (id)
        SELECT new.id WHERE NOT EXISTS (SELECT 1 FROM user_search_dirty WHERE id = new.id);
END;
CREATE TRIGGER users_search_delete AFTER DELETE ON users BEGIN
    INSERT INTO user_search_dirty (id)
        SELECT old.id WHERE NOT EXISTS (SELECT 1 FROM user_search_dirty WHERE id = old.id);
END;
CREATE TRIGGER user_lines_search_insert AFTER INSERT ON user_lines BEGIN
    INSERT INTO user_search_dirty (id)
        SELECT new.user_id WHERE NOT EXISTS (SELECT 1 FROM user_search_dirty WHERE id = new.user_id);
END;
CREATE TRIGGER user_lines_search_delete AFTER DELETE ON user_lines BEGIN
    INSERT INTO user_search_dirty (id)
        SELECT old.user_id WHERE NOT EXISTS (SELECT 1 FROM user_search_dirty WHERE id = old.user_id);
END;
CREATE TRIGGER user_lines_search_update AFTER UPDATE ON user_lines BEGIN
    INSERT INTO user_search_dirty (id)
        SELECT old.user_id WHERE NOT EXISTS (SELECT 1 FROM user_search_dirty WHERE id = old.user_id);
    INSERT INTO user_search_dirty (id)
        SELECT new.user_id WHERE NOT EXISTS (SELECT 1 FROM user_search_dirty WHERE id = new.user_id);
END;
CREATE TRIGGER line_extensions_search_insert AFTER INSERT ON line_extensions BEGIN
    INSERT INTO user_search_dirty (id)
        SELECT DISTINCT user_id FROM user_lines WHERE line_id = new.line_id
        AND user_id NOT IN (SELECT id FROM user_search_dirty);
END;
CREATE TRIGGER line_extensions_search_delete AFTER DELETE ON line_extensions BEGIN
    INSERT INTO user_search_dirty (id)
        SELECT DISTINCT user_id FROM user_lines WHERE line_id = old.line_id
        AND user_id NOT IN (SELECT id FROM user_search_dirty);
END;
CREATE TRIGGER line_extensions_search_update AFTER UPDATE ON line_extensions BEGIN
    INSERT INTO user_search_dirty (id)
        SELECT DISTINCT user_id FROM user_lines WHERE line_id IN (old.line_id, new.line_id)
        AND user_id NOT IN (SELECT id FROM user_search_dirty);
END;
CREATE TRIGGER extensions_search_update AFTER UPDATE OF id, exten ON extensions BEGIN
    INSERT INTO user_search_dirty (id)
        SELECT DISTINCT user_lines.user_id FROM line_extensions
        JOIN user_lines ON user_lines.line_id = line_extensions.line_id
        WHERE line_extensions.extension_id IN (old.id, new.id)
        AND user_lines.user_id NOT IN (SELECT id FROM user_search_dirty);
END;

-- step 7: groups, queues, agents and queue members, conferences, pagings, call filters and their members, the extensions of groups, queues and conferences

-- Names as Wazo's later confd has them. In Asterisk a group is a queue too
-- (both are sections of queues.conf): the server keeps the names of groups
-- and queues apart (src/resources/groups.rs).
CREATE TABLE groups (
    id                     INTEGER PRIMARY KEY AUTOINCREMENT,
    name                   TEXT NOT NULL UNIQUE,
    caller_id_mode         TEXT CHECK (caller_id_mode IN ('prepend', 'overwrite', 'append')),
    caller_id_name         TEXT,
    timeout                INTEGER CHECK (timeout >= 0),
    music_on_hold          TEXT,
    preprocess_subroutine  TEXT,
    ring_strategy          TEXT NOT NULL DEFAULT 'all' CHECK (ring_strategy IN ('all', 'random',
                               'least_recent', 'linear', 'fewest_calls',
                               'memorized_round_robin', 'weight_random')),
    user_timeout           INTEGER DEFAULT 15 CHECK (user_timeout >= 0),
    retry_delay            INTEGER DEFAULT 5 CHECK (retry_delay >= 0),
    ring_in_use            INTEGER NOT NULL DEFAULT 1 CHECK (ring_in_use IN (0, 1)),
    enabled                INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1))
);
CREATE INDEX groups_name ON groups (name COLLATE NOCASE);

CREATE TABLE queues (
    id                            INTEGER PRIMARY KEY AUTOINCREMENT,
    name                          TEXT NOT NULL UNIQUE,
    label                         TEXT,
    data_quality                  INTEGER NOT NULL DEFAULT 0 CHECK (data_quality IN (0, 1)),
    dtmf_hangup_callee_enabled    INTEGER NOT NULL DEFAULT 0 CHECK (dtmf_hangup_callee_enabled IN (0, 1)),
    dtmf_hangup_caller_enabled    INTEGER NOT NULL DEFAULT 0 CHECK (dtmf_hangup_caller_enabled IN (0, 1)),
    dtmf_transfer_callee_enabled  INTEGER NOT NULL DEFAULT 0 CHECK (dtmf_transfer_callee_enabled IN (0, 1)),
    dtmf_transfer_caller_enabled  INTEGER NOT NULL DEFAULT 0 CHECK (dtmf_transfer_caller_enabled IN (0, 1)),
    dtmf_record_callee_enabled    INTEGER NOT NULL DEFAULT 0 CHECK (dtmf_record_callee_enabled IN (0, 1)),
    dtmf_record_caller_enabled    INTEGER NOT NULL DEFAULT 0 CHECK (dtmf_record_caller_enabled IN (0, 1)),
    retry_on_timeout              INTEGER NOT NULL DEFAULT 1 CHECK (retry_on_timeout IN (0, 1)),
    ring_on_hold                  INTEGER NOT NULL DEFAULT 0 CHECK (ring_on_hold IN (0, 1)),
    timeout                       INTEGER DEFAULT 0 CHECK (timeout >= 0),
    announce_hold_time_on_entry   INTEGER NOT NULL DEFAULT 0 CHECK (announce_hold_time_on_entry IN (0, 1)),
    ignore_forward                INTEGER NOT NULL DEFAULT 0 CHECK (ignore_forward IN (0, 1)),
    preprocess_subroutine         TEXT,
    music_on_hold                 TEXT,
    caller_id_mode                TEXT CHECK (caller_id_mode IN ('prepend', 'overwrite', 'append')),
    caller_id_name                TEXT,
    enabled                       INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
    options                       TEXT NOT NULL DEFAULT '[]'  -- JSON list of [key, value]
);
CREATE INDEX queues_name ON queues (name COLLATE NOCASE);
CREATE INDEX queues_label ON queues (label COLLATE NOCASE);

CREATE TABLE agents (
    id                     INTEGER PRIMARY KEY AUTOINCREMENT,
    number                 TEXT NOT NULL UNIQUE,
    firstname              TEXT,
    lastname               TEXT,
    password               TEXT,
    language               TEXT,
    preprocess_subroutine  TEXT,
    description            TEXT
);
CREATE INDEX agents_firstname ON agents (firstname COLLATE NOCASE);
CREATE INDEX agents_lastname ON agents (lastname COLLATE NOCASE);

-- An agent is in a queue once at most. Deleting the queue or the agent
-- ends its memberships, as Wazo did.
CREATE TABLE queue_members (
    queue_id  INTEGER NOT NULL REFERENCES queues (id) ON DELETE CASCADE,
    agent_id  INTEGER NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    penalty   INTEGER NOT NULL DEFAULT 0 CHECK (penalty >= 0),
    UNIQUE (queue_id, agent_id)
);
CREATE INDEX queue_members_agent ON queue_members (agent_id);

CREATE TABLE conferences (
    id                     INTEGER PRIMARY KEY AUTOINCREMENT,
    name                   TEXT,
    preprocess_subroutine  TEXT,
    max_users              INTEGER NOT NULL DEFAULT 50 CHECK (max_users >= 0),
    record                 INTEGER NOT NULL DEFAULT 0 CHECK (record IN (0, 1)),
    pin                    TEXT,
    admin_pin              TEXT,
    quiet_join_leave       INTEGER NOT NULL DEFAULT 0 CHECK (quiet_join_leave IN (0, 1)),
    announce_join_leave    INTEGER NOT NULL DEFAULT 0 CHECK (announce_join_leave IN (0, 1)),
    announce_user_count    INTEGER NOT NULL DEFAULT 0 CHECK (announce_user_count IN (0, 1)),
    announce_only_user     INTEGER NOT NULL DEFAULT 1 CHECK (announce_only_user IN (0, 1)),
    music_on_hold          TEXT
);
CREATE INDEX conferences_name ON conferences (name COLLATE NOCASE);

CREATE TABLE pagings (
    id                   INTEGER PRIMARY KEY AUTOINCREMENT,
    number               TEXT NOT NULL UNIQUE,
    name                 TEXT,
    announce_caller      INTEGER NOT NULL DEFAULT 1 CHECK (announce_caller IN (0, 1)),
    announce_sound       TEXT,
    caller_notification  INTEGER NOT NULL DEFAULT 1 CHECK (caller_notification IN (0, 1)),
    duplex               INTEGER NOT NULL DEFAULT 0 CHECK (duplex IN (0, 1)),
    ignore_forward       INTEGER NOT NULL DEFAULT 0 CHECK (ignore_forward IN (0, 1)),
    record               INTEGER NOT NULL DEFAULT 0 CHECK (record IN (0, 1)),
    enabled              INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1))
);
CREATE INDEX pagings_name ON pagings (name COLLATE NOCASE);

-- Boss / secretary filters: the bosses are the filter's recipients, the
-- secretaries its surrogates.
CREATE TABLE callfilters (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    name                TEXT NOT NULL UNIQUE,
    strategy            TEXT NOT NULL CHECK (strategy IN ('all-recipients-then-linear-surrogates',
                            'all-recipients-then-all-surrogates', 'all-surrogates-then-all-recipients',
                            'linear-surrogates-then-all-recipients', 'all')),
    source              TEXT NOT NULL CHECK (source IN ('internal', 'external', 'all')),
    caller_id_mode      TEXT CHECK (caller_id_mode IN ('prepend', 'overwrite', 'append')),
    caller_id_name      TEXT,
    surrogates_timeout  INTEGER CHECK (surrogates_timeout >= 0),
    description         TEXT,
    enabled             INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1))
);
CREATE INDEX callfilters_name ON callfilters (name COLLATE NOCASE);

-- A user is in a filter once (as boss or as secretary). A member's id stays
-- while the user stays in the filter (function keys name it); deleting the
-- filter or the user ends the membership.
CREATE TABLE callfilter_members (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    callfilter_id  INTEGER NOT NULL REFERENCES callfilters (id) ON DELETE CASCADE,
    user_id        INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role           TEXT NOT NULL CHECK (role IN ('boss', 'secretary')),
    -- how long a boss rings (seconds); null: as long as the filter lets it
    timeout        INTEGER CHECK (timeout >= 0),
    -- order of the secretaries (a linear strategy rings them in it)
    position       INTEGER NOT NULL DEFAULT 0,
    UNIQUE (callfilter_id, user_id)
);
CREATE INDEX callfilter_members_user ON callfilter_members (user_id);

-- The number of a group, a queue or a conference: one extension each, and
-- an extension serves one thing only (a line, a group, a queue or a
-- conference; the triggers below hold it for any writer). Deleting the
-- object frees its extension; an extension still linked cannot be deleted.
CREATE TABLE group_extensions (
    group_id      INTEGER NOT NULL UNIQUE REFERENCES groups (id) ON DELETE CASCADE,
    extension_id  INTEGER PRIMARY KEY REFERENCES extensions (id)
);
CREATE TABLE queue_extensions (
    queue_id      INTEGER NOT NULL UNIQUE REFERENCES queues (id) ON DELETE CASCADE,
    extension_id  INTEGER PRIMARY KEY REFERENCES extensions (id)
);
CREATE TABLE conference_extensions (
    conference_id  INTEGER NOT NULL UNIQUE REFERENCES conferences (id) ON DELETE CASCADE,
    extension_id   INTEGER PRIMARY KEY REFERENCES extensions (id)
);
-- every extension serving something, whatever it serves
CREATE VIEW extension_users (extension_id, kind, owner_id) AS
    SELECT extension_id, 'line', line_id FROM line_extensions
    UNION ALL SELECT extension_id, 'group', group_id FROM group_extensions
    UNION ALL SELECT extension_id, 'queue', queue_id FROM queue_extensions
    UNION ALL SELECT extension_id, 'conference', conference_id FROM conference_extensions;
CREATE TRIGGER line_extensions_one_use BEFORE INSERT ON line_extensions
WHEN EXISTS (SELECT 1 FROM extension_users WHERE extension_id = new.extension_id AND kind <> 'line')
BEGIN SELECT RAISE(ABORT, 'the extension serves something else'); END;
CREATE TRIGGER line_extensions_one_use_update BEFORE UPDATE OF extension_id ON line_extensions
WHEN EXISTS (SELECT 1 FROM extension_users WHERE extension_id = new.extension_id AND kind <> 'line')
BEGIN SELECT RAISE(ABORT, 'the extension serves something else'); END;
CREATE TRIGGER group_extensions_one_use BEFORE INSERT ON group_extensions
WHEN EXISTS (SELECT 1 FROM extension_users WHERE extension_id = new.extension_id AND kind <> 'group')
BEGIN SELECT RAISE(ABORT, 'the extension serves something else'); END;
CREATE TRIGGER group_extensions_one_use_update BEFORE UPDATE OF extension_id ON group_extensions
WHEN EXISTS (SELECT 1 FROM extension_users WHERE extension_id = new.extension_id AND kind <> 'group')
BEGIN SELECT RAISE(ABORT, 'the extension serves something else'); END;
CREATE TRIGGER queue_extensions_one_use BEFORE INSERT ON queue_extensions
WHEN EXISTS (SELECT 1 FROM extension_users WHERE extension_id = new.extension_id AND kind <> 'queue')
BEGIN SELECT RAISE(ABORT, 'the extension serves something else'); END;
CREATE TRIGGER queue_extensions_one_use_update BEFORE UPDATE OF extension_id ON queue_extensions
WHEN EXISTS (SELECT 1 FROM extension_users WHERE extension_id = new.extension_id AND kind <> 'queue')
BEGIN SELECT RAISE(ABORT, 'the extension serves something else'); END;
CREATE TRIGGER conference_extensions_one_use BEFORE INSERT ON conference_extensions
WHEN EXISTS (SELECT 1 FROM extension_users WHERE extension_id = new.extension_id AND kind <> 'conference')
BEGIN SELECT RAISE(ABORT, 'the extension serves something else'); END;
CREATE TRIGGER conference_extensions_one_use_update BEFORE UPDATE OF extension_id ON conference_extensions
WHEN EXISTS (SELECT 1 FROM extension_users WHERE extension_id = new.extension_id AND kind <> 'conference')
BEGIN SELECT RAISE(ABORT, 'the extension serves something else'); END;

-- step 8: function keys, their templates, and the stock features they dial

-- The stock extension features of XiVO 15.20 (its "extenfeatures"): the
-- services, forwards and agent actions a function key can point to, with
-- the pattern dialled. `enabled` is 0 where XiVO installs them commented.
CREATE TABLE feature_extensions (
    id       INTEGER PRIMARY KEY,
    feature  TEXT NOT NULL UNIQUE,
    exten    TEXT NOT NULL,
    enabled  INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1))
);
INSERT INTO feature_extensions (feature, exten, enabled) VALUES
    ('agentstaticlogin', '_*31.', 1),
    ('agentstaticlogoff', '_*32.', 1),
    ('agentstaticlogtoggle', '_*30.', 1),
    ('bsfilter', '_*37.', 1),
    ('callgroup', '_*664.', 1),
    ('calllistening', '*34', 0),
    ('callmeetme', '_*667.', 1),
    ('callqueue', '_*665.', 1),
    ('callrecord', '*26', 0),
    ('calluser', '_*666.', 1),
    ('directoryaccess', '*36', 1),
    ('enablednd', '*25', 1),
    ('enablevm', '*90', 1),
    ('enablevmslt', '_*90.', 1),
    ('fwdbusy', '_*23.', 1),
    ('fwdrna', '_*22.', 1),
    ('fwdunc', '_*21.', 1),
    ('fwdundoall', '*20', 1),
    ('autoprov', '*48378', 1),
    ('incallfilter', '*27', 1),
    ('phonestatus', '*10', 1),
    ('phoneprogfunckey', '_*735.', 1),
    ('pickup', '_*8.', 1),
    ('recsnd', '*9', 1),
    ('vmboxmsgslt', '_*99.', 1),
    ('vmboxpurgeslt', '_*93.', 0),
    ('vmboxslt', '_*97.', 1),
    ('vmusermsg', '*98', 1),
    ('vmuserpurge', '*92', 0),
    ('vmuserpurgeslt', '_*92.', 0),
    ('vmuserslt', '_*96.', 1),
    ('paging', '_*11.', 1),
    ('cctoggle', '*40', 1);

-- features.conf as XiVO 15.20 installs it: parking (the lot's extension
-- and its positions), transfers and the other call features.
CREATE TABLE features (
    id       INTEGER PRIMARY KEY,
    section  TEXT NOT NULL,
    name     TEXT NOT NULL,
    value    TEXT,
    enabled  INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
    UNIQUE (section, name)
);
INSERT INTO features (section, name, value, enabled) VALUES
    ('general', 'parkext', '700', 1),
    ('general', 'parkpos', '701-750', 1),
    ('general', 'context', 'parkedcalls', 1),
    ('general', 'parkinghints', 'no', 1),
    ('general', 'parkingtime', '45', 1),
    ('general', 'comebacktoorigin', 'yes', 1),
    ('general', 'courtesytone', NULL, 0),
    ('general', 'parkedplay', 'caller', 1),
    ('general', 'parkedcalltransfers', 'no', 1),
    ('general', 'parkedcallreparking', 'no', 1),
    ('general', 'parkedcallhangup', 'no', 1),
    ('general', 'parkedcallrecording', 'no', 1),
    ('general', 'parkeddynamic', 'no', 1),
    ('general', 'findslot', 'next', 1),
    ('general', 'parkedmusicclass', 'default', 1),
    ('general', 'transferdigittimeout', '5', 1),
    ('general', 'xfersound', NULL, 0),
    ('general', 'xferfailsound', NULL, 0),
    ('general', 'pickupexten', '*8', 1),
    ('general', 'featuredigittimeout', '1500', 1),
    ('general', 'atxfernoanswertimeout', '15', 1),
    ('general', 'atxferdropcall', 'no', 1),
    ('general', 'atxferloopdelay', '10', 1),
    ('general', 'atxfercallbackretries', '2', 1),
    ('featuremap', 'blindxfer', '*1', 1),
    ('featuremap', 'disconnect', '*0', 1),
    ('featuremap', 'automixmon', '*3', 1),
    ('featuremap', 'atxfer', '*2', 1);

-- A template is a named set of keys. Every user has a private one
-- (private_user_id, made with the user and gone with it); a public one
-- (private_user_id NULL) may serve many users (users.func_key_template_id),
-- who then see its keys under their own.
CREATE TABLE func_key_templates (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    name             TEXT,
    private_user_id  INTEGER UNIQUE REFERENCES users (id) ON DELETE CASCADE
);
CREATE INDEX func_key_templates_name ON func_key_templates (name COLLATE NOCASE, id)
    WHERE private_user_id IS NULL;
ALTER TABLE users ADD COLUMN func_key_template_id INTEGER
    REFERENCES func_key_templates (id) ON DELETE SET NULL;
CREATE INDEX users_func_key_template ON users (func_key_template_id)
    WHERE func_key_template_id IS NOT NULL;
INSERT INTO func_key_templates (private_user_id) SELECT id FROM users;
CREATE TRIGGER users_private_template AFTER INSERT ON users BEGIN
    INSERT INTO func_key_templates (private_user_id) VALUES (new.id);
END;

-- One key: a template's position, its label and BLF flag, and where it
-- leads (`type` and the columns that type uses). A key whose object goes
-- (a user, a group, an agent...) goes with it.
CREATE TABLE func_keys (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    template_id       INTEGER NOT NULL REFERENCES func_key_templates (id) ON DELETE CASCADE,
    position          INTEGER NOT NULL CHECK (position > 0),
    label             TEXT,
    blf               INTEGER NOT NULL DEFAULT 1 CHECK (blf IN (0, 1)),
    type              TEXT NOT NULL CHECK (type IN ('user', 'group', 'queue', 'conference',
                          'custom', 'service', 'forward', 'transfer', 'agent', 'park_position',
                          'parking', 'onlinerec', 'paging', 'bsfilter')),
    user_id           INTEGER REFERENCES users (id) ON DELETE CASCADE,
    group_id          INTEGER REFERENCES groups (id) ON DELETE CASCADE,
    queue_id          INTEGER REFERENCES queues (id) ON DELETE CASCADE,
    conference_id     INTEGER REFERENCES conferences (id) ON DELETE CASCADE,
    paging_id         INTEGER REFERENCES pagings (id) ON DELETE CASCADE,
    agent_id          INTEGER REFERENCES agents (id) ON DELETE CASCADE,
    filter_member_id  INTEGER REFERENCES callfilter_members (id) ON DELETE CASCADE,
    -- the service, forward kind, transfer kind or agent action
    feature           TEXT,
    -- a custom key's number, a forward's destination
    exten             TEXT,
    park_position     INTEGER,
    UNIQUE (template_id, position)
);
CREATE INDEX func_keys_user ON func_keys (user_id) WHERE user_id IS NOT NULL;
CREATE INDEX func_keys_group ON func_keys (group_id) WHERE group_id IS NOT NULL;
CREATE INDEX func_keys_queue ON func_keys (queue_id) WHERE queue_id IS NOT NULL;
CREATE INDEX func_keys_conference ON func_keys (conference_id) WHERE conference_id IS NOT NULL;
CREATE INDEX func_keys_paging ON func_keys (paging_id) WHERE paging_id IS NOT NULL;
CREATE INDEX func_keys_agent ON func_keys (agent_id) WHERE agent_id IS NOT NULL;
CREATE INDEX func_keys_filter_member ON func_keys (filter_member_id)
    WHERE filter_member_id IS NOT NULL;
-- step 9: CTI profiles, users' CTI settings, call logs, live reload

-- The CTI client profiles a new XiVO 15.20 has (xivo-manage-db's
-- populate.sql), with the same ids; the API only reads them.
CREATE TABLE cti_profiles (
    id    INTEGER PRIMARY KEY AUTOINCREMENT,
    name  TEXT NOT NULL UNIQUE
);
INSERT INTO cti_profiles (id, name) VALUES
    (1, 'Supervisor'), (2, 'Agent'), (3, 'Client'), (4, 'Switchboard');

-- A user's CTI settings (`/1.1/users/{user}/cti`): the profile it logs in
-- with, and whether it may log in at all.
ALTER TABLE users ADD COLUMN cti_profile_id INTEGER REFERENCES cti_profiles (id);
ALTER TABLE users ADD COLUMN cti_enabled INTEGER NOT NULL DEFAULT 0
    CHECK (cti_enabled IN (0, 1));

-- Call records, as loaded from the reference's CSV export (no Asterisk
-- feeds this server). `date` is ISO 8601 without a zone, as the reference
-- wrote it ('2013-01-29T08:46:20', with '.ffffff' when it has
-- microseconds): one shape, so text order is time order. `duration` in
-- seconds.
CREATE TABLE call_logs (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    date               TEXT NOT NULL CHECK (date GLOB
        '[0-9][0-9][0-9][0-9]-[0-1][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-5][0-9]*'),
    source_name        TEXT,
    source_exten       TEXT,
    destination_exten  TEXT,
    duration           REAL NOT NULL,
    user_field         TEXT
);
-- the export reads in (date, id) order, a period as a range of it
CREATE INDEX call_logs_date ON call_logs (date);

-- Whether the CTI server reloads its configuration as it changes
-- (`/1.1/configuration/live_reload`): one row; on by default, as in the
-- reference's ctimain.
CREATE TABLE live_reload (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    enabled  INTEGER NOT NULL CHECK (enabled IN (0, 1))
);
INSERT INTO live_reload (id, enabled) VALUES (1, 1);

-- step 10: devices, their plugins and templates, and the line a device carries

-- What provisions a phone model (a provd plugin): devices name one by
-- `name`, and follow a rename. A new database has none; they are added
-- through the API (POST /1.1/devices/plugins).
CREATE TABLE device_plugins (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    name         TEXT NOT NULL UNIQUE,
    version      TEXT,
    description  TEXT
);

-- Settings shared by the devices that name the template (a provd config of
-- type "device"), known by a text id: the stock one's, or 32 hex
-- characters the server makes.
CREATE TABLE device_templates (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    public_id  TEXT NOT NULL UNIQUE,
    label      TEXT
);
INSERT INTO device_templates (public_id, label)
    VALUES ('defaultconfigdevice', 'Default config device');

-- A phone, known by a text id (32 hex characters the server makes, as
-- provd did); its MAC address is unique whatever its case (stored lower
-- case). `options` is a JSON object or NULL. Its status is not stored: it
-- follows from its plugin and its lines (src/resources/devices.rs).
CREATE TABLE devices (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    public_id    TEXT NOT NULL UNIQUE,
    mac          TEXT UNIQUE COLLATE NOCASE,
    ip           TEXT,
    sn           TEXT,
    vendor       TEXT,
    model        TEXT,
    version      TEXT,
    plugin       TEXT REFERENCES device_plugins (name) ON UPDATE CASCADE,
    template_id  TEXT REFERENCES device_templates (public_id) ON UPDATE CASCADE,
    description  TEXT,
    options      TEXT,
    -- when the last synchronization was asked for (UTC, ISO 8601)
    synchronize_requested_at  TEXT
);

-- lines.device_id (step 2) names a device by its text id. The column is
-- older than devices, so the reference is kept by triggers, as a foreign
-- key would keep it: a line names an existing device, a device carrying
-- lines is not deleted, a new id reaches its lines. What a line named
-- before this step becomes a device of that id; an empty one is none.
INSERT INTO devices (public_id)
    SELECT DISTINCT device_id FROM lines WHERE device_id IS NOT NULL AND device_id <> '';
UPDATE lines SET device_id = NULL WHERE device_id = '';
CREATE INDEX lines_device ON lines (device_id) WHERE device_id IS NOT NULL;
CREATE TRIGGER lines_device_insert BEFORE INSERT ON lines
    WHEN new.device_id IS NOT NULL
        AND NOT EXISTS (SELECT 1 FROM devices WHERE public_id = new.device_id)
BEGIN SELECT RAISE(ABORT, 'FOREIGN KEY constraint failed: lines.device_id'); END;
CREATE TRIGGER lines_device_update BEFORE UPDATE OF device_id ON lines
    WHEN new.device_id IS NOT NULL
        AND NOT EXISTS (SELECT 1 FROM devices WHERE public_id = new.device_id)
BEGIN SELECT RAISE(ABORT, 'FOREIGN KEY constraint failed: lines.device_id'); END;
CREATE TRIGGER devices_delete_with_lines BEFORE DELETE ON devices
    WHEN EXISTS (SELECT 1 FROM lines WHERE device_id = old.public_id)
BEGIN SELECT RAISE(ABORT, 'FOREIGN KEY constraint failed: lines.device_id'); END;
CREATE TRIGGER devices_renamed AFTER UPDATE OF public_id ON devices
    WHEN new.public_id IS NOT old.public_id
BEGIN UPDATE lines SET device_id = new.public_id WHERE device_id = old.public_id; END;

-- step 11: change events, webhooks and their deliveries

-- Every committed change of a resource or an association, written in the
-- request's own transaction (a refused request leaves none). `seq` only
-- grows, even once old events are pruned (AUTOINCREMENT never reuses a
-- number): it is the stream's `id:` and what `Last-Event-ID` names.
-- `timestamp` is UTC, `YYYY-MM-DDTHH:MM:SS.ffffffZ`; `data` the payload's JSON.
CREATE TABLE events (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    name         TEXT NOT NULL,
    routing_key  TEXT NOT NULL,
    timestamp    TEXT NOT NULL,
    data         TEXT NOT NULL
);

-- Where events are POSTed. `events` is a JSON list of event names, or
-- ["*"] for all; `secret` signs each delivery (never shown).
CREATE TABLE webhooks (
    id                  INTEGER PRIMARY KEY,
    name                TEXT NOT NULL UNIQUE,
    url                 TEXT NOT NULL,
    events              TEXT NOT NULL DEFAULT '["*"]',
    secret              TEXT,
    verify_certificate  INTEGER NOT NULL DEFAULT 1 CHECK (verify_certificate IN (0, 1)),
    enabled             INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1))
);
CREATE INDEX webhooks_name ON webhooks (name COLLATE NOCASE, id);

-- One event to one webhook: made with the event, in the same transaction,
-- for every enabled webhook that wants it; `uuid` is its X-Xivo-Delivery,
-- the same on every attempt. A pending delivery keeps its event from being
-- pruned; a finished one goes with its event. Times are Unix seconds.
CREATE TABLE webhook_deliveries (
    id               INTEGER PRIMARY KEY,
    webhook_id       INTEGER NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    event_seq        INTEGER NOT NULL REFERENCES events (seq) ON DELETE CASCADE,
    uuid             TEXT NOT NULL UNIQUE,
    state            TEXT NOT NULL DEFAULT 'pending'
                         CHECK (state IN ('pending', 'delivered', 'failed')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    created_at       REAL NOT NULL,
    last_attempt_at  REAL,
    last_status      INTEGER,
    last_error       TEXT,
    next_attempt_at  REAL
);
-- a webhook's next delivery is its oldest pending one
CREATE INDEX webhook_deliveries_pending ON webhook_deliveries (webhook_id, id)
    WHERE state = 'pending';
CREATE INDEX webhook_deliveries_webhook ON webhook_deliveries (webhook_id, event_seq);
CREATE INDEX webhook_deliveries_event ON webhook_deliveries (event_seq);
-- step 12: users CSV import and export: a user's entity, an incall's ring time

-- The entity a user belongs to (a new database has entity 1 only). A
-- column added by ALTER TABLE cannot carry a foreign key with a default,
-- so triggers keep the reference, as a foreign key would: a user names an
-- existing entity, an entity with users is not deleted.
ALTER TABLE users ADD COLUMN entity_id INTEGER NOT NULL DEFAULT 1;
CREATE TRIGGER users_entity_insert BEFORE INSERT ON users
    WHEN NOT EXISTS (SELECT 1 FROM entities WHERE id = new.entity_id)
BEGIN SELECT RAISE(ABORT, 'FOREIGN KEY constraint failed: users.entity_id'); END;
CREATE TRIGGER users_entity_update BEFORE UPDATE OF entity_id ON users
    WHEN NOT EXISTS (SELECT 1 FROM entities WHERE id = new.entity_id)
BEGIN SELECT RAISE(ABORT, 'FOREIGN KEY constraint failed: users.entity_id'); END;
CREATE TRIGGER entities_delete_with_users BEFORE DELETE ON entities
    WHEN EXISTS (SELECT 1 FROM users WHERE entity_id = old.id)
BEGIN SELECT RAISE(ABORT, 'FOREIGN KEY constraint failed: users.entity_id'); END;

-- An incall is an extension of a context of type incall on a line: calls
-- to it ring the line's main user, for this many seconds (NULL: the
-- user's own ring time). Meaningless for the line's internal extension.
ALTER TABLE line_extensions ADD COLUMN ring_seconds INTEGER
    CHECK (ring_seconds IS NULL OR ring_seconds >= 0);

-- step 13: users listed by last name (the default order) read from one index

-- every column of a page of users (src/resources/users.rs SELECT), in the
-- list's order: a page at any offset is a few consecutive pages of this
-- index, where reading it from the table takes one page per user, each
-- somewhere else in the file
CREATE INDEX users_list_by_lastname ON users (
    lastname COLLATE NOCASE, id, uuid, firstname, timezone, language, description,
    caller_id, outgoing_caller_id, mobile_phone_number, username, music_on_hold,
    preprocess_subroutine, userfield, call_transfer_enabled, supervision_enabled,
    ring_seconds, simultaneous_calls
);
