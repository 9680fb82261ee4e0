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
