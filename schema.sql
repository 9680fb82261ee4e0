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
