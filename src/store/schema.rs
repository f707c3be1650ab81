//! Schema and migrations. Each migration runs once, in order, in a transaction;
//! `PRAGMA user_version` records how far a store has come.

use rusqlite::Connection;

const MIGRATIONS: &[&str] = &[
    // 1: the foundation.
    r#"
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE runs (
        id INTEGER PRIMARY KEY,
        started TEXT NOT NULL,
        finished TEXT,
        examiner TEXT NOT NULL,
        command TEXT NOT NULL,
        status TEXT NOT NULL,
        config_digest TEXT NOT NULL,
        rules_digest TEXT NOT NULL,
        summary TEXT
    );
    CREATE TABLE sources (
        id INTEGER PRIMARY KEY,
        label TEXT NOT NULL UNIQUE,
        root_path BLOB NOT NULL UNIQUE,
        examiner TEXT NOT NULL,
        first_started TEXT NOT NULL,
        last_started TEXT NOT NULL,
        finished TEXT,
        file_count INTEGER,
        dir_count INTEGER,
        other_count INTEGER,
        byte_count INTEGER,
        error_count INTEGER,
        root_digest TEXT
    );
    CREATE TABLE items (
        id INTEGER PRIMARY KEY,
        source_id INTEGER NOT NULL REFERENCES sources(id),
        path BLOB NOT NULL,
        kind TEXT NOT NULL,
        size INTEGER NOT NULL,
        mode INTEGER NOT NULL,
        uid INTEGER NOT NULL,
        gid INTEGER NOT NULL,
        inode INTEGER NOT NULL,
        nlink INTEGER NOT NULL,
        mtime TEXT, atime TEXT, ctime TEXT, btime TEXT,
        md5 BLOB, sha1 BLOB, sha256 BLOB,
        mime TEXT,
        link_target BLOB,
        UNIQUE (source_id, path)
    );
    CREATE TABLE observations (
        id INTEGER PRIMARY KEY,
        item_id INTEGER REFERENCES items(id),
        subject TEXT NOT NULL,
        kind TEXT NOT NULL,
        analyzer TEXT NOT NULL,
        analyzer_version TEXT NOT NULL,
        value TEXT NOT NULL,
        confidence REAL NOT NULL,
        provenance TEXT NOT NULL
    );
    CREATE INDEX observations_kind ON observations (kind);
    -- The same analyzer seeing the same thing on the same item is one observation, however
    -- often it runs (resume, a rescan with more hash sets).
    CREATE UNIQUE INDEX observations_item ON observations (item_id, kind, analyzer, analyzer_version, value);
    CREATE TABLE item_errors (
        id INTEGER PRIMARY KEY,
        source_id INTEGER REFERENCES sources(id),
        path BLOB NOT NULL,
        stage TEXT NOT NULL,
        reason TEXT NOT NULL,
        run_id INTEGER NOT NULL,
        UNIQUE (source_id, path, stage, reason)
    );
    CREATE TABLE crash_suspects (
        source_id INTEGER NOT NULL,
        path BLOB NOT NULL,
        crashes INTEGER NOT NULL,
        PRIMARY KEY (source_id, path)
    );
    CREATE TABLE hashsets (
        id INTEGER PRIMARY KEY,
        run_id INTEGER NOT NULL,
        name TEXT NOT NULL,
        path TEXT NOT NULL,
        format TEXT NOT NULL,
        status TEXT NOT NULL,
        category TEXT,
        file_sha256 TEXT NOT NULL,
        entries INTEGER NOT NULL,
        problems INTEGER NOT NULL
    );
    CREATE TABLE hashset_problems (
        hashset_id INTEGER NOT NULL REFERENCES hashsets(id),
        location TEXT NOT NULL,
        reason TEXT NOT NULL
    );
    CREATE TABLE leads (
        id TEXT PRIMARY KEY,
        subject TEXT NOT NULL,
        item_id INTEGER UNIQUE REFERENCES items(id),
        score REAL NOT NULL,
        rank INTEGER NOT NULL,
        hits TEXT NOT NULL,
        rules_digest TEXT NOT NULL,
        active INTEGER NOT NULL,
        state TEXT NOT NULL
    );
    CREATE TABLE reviews (
        id INTEGER PRIMARY KEY,
        lead_id TEXT NOT NULL REFERENCES leads(id),
        decision TEXT NOT NULL,
        reviewer TEXT NOT NULL,
        reason TEXT NOT NULL,
        at TEXT NOT NULL,
        audit_seq INTEGER NOT NULL
    );
    CREATE TABLE audit (
        seq INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        command TEXT NOT NULL,
        tool_version TEXT NOT NULL,
        rules_digest TEXT NOT NULL,
        config_digest TEXT NOT NULL,
        details TEXT NOT NULL,
        prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL
    );
    "#,
    // 2: items found inside other items (a video's keyframes; later, attachments). `path` is
    // the parent's path, "//" and a name no walked path can have (a file has no children);
    // `derivation` says how the child was made (JSON: what, where in the parent, by which tool).
    r#"
    ALTER TABLE items ADD COLUMN parent_id INTEGER REFERENCES items(id);
    ALTER TABLE items ADD COLUMN derivation TEXT;
    CREATE INDEX items_parent ON items (parent_id);
    "#,
    // 3: communication records parsed from exports (messages, calls, contacts, accounts), each
    // pointing back to its item and its place in it (`locator`, JSON). Times: `time_utc` only
    // when the source's zone is known; `time_local` as the source wrote it; `time_assumption`
    // says what was assumed to read it. `participants`: JSON [{role, identifier, raw, name}].
    r#"
    CREATE TABLE records (
        id INTEGER PRIMARY KEY,
        item_id INTEGER NOT NULL REFERENCES items(id),
        analyzer TEXT NOT NULL,
        analyzer_version TEXT NOT NULL,
        kind TEXT NOT NULL,
        format TEXT NOT NULL,
        locator TEXT NOT NULL,
        time_utc TEXT,
        time_local TEXT,
        time_offset TEXT,
        zone_known INTEGER NOT NULL,
        time_assumption TEXT,
        direction TEXT NOT NULL,
        participants TEXT NOT NULL,
        body TEXT,
        thread TEXT,
        extra TEXT NOT NULL,
        UNIQUE (item_id, analyzer, locator)
    );
    CREATE INDEX records_time ON records (time_utc);
    "#,
    // 4: a lead is about a subject of any kind (model::Subject): an item, an identity, a pair
    // of identities, a place, a cluster of pictures, the case. `subject` is the kind,
    // `subject_key` names it stably (`item:LABEL:PATH-HEX`, `identity:I3`, …); `item_id` stays for item leads. The
    // table is rebuilt because `item_id` was UNIQUE (and so one lead per item was all there
    // could be); run with foreign keys off, as SQLite's table-rebuild procedure asks, and
    // checked after (see `migrate`).
    r#"
    CREATE TABLE leads_v4 (
        id TEXT PRIMARY KEY,
        subject TEXT NOT NULL,
        subject_key TEXT NOT NULL,
        item_id INTEGER REFERENCES items(id),
        score REAL NOT NULL,
        rank INTEGER NOT NULL,
        hits TEXT NOT NULL,
        rules_digest TEXT NOT NULL,
        active INTEGER NOT NULL,
        state TEXT NOT NULL
    );
    INSERT INTO leads_v4 (id, subject, subject_key, item_id, score, rank, hits, rules_digest, active, state)
        SELECT l.id, l.subject, COALESCE('item:' || s.label || ':' || lower(hex(i.path)), 'item:' || l.id),
               l.item_id, l.score, l.rank, l.hits, l.rules_digest, l.active, l.state
        FROM leads l LEFT JOIN items i ON i.id = l.item_id LEFT JOIN sources s ON s.id = i.source_id;
    DROP TABLE leads;
    ALTER TABLE leads_v4 RENAME TO leads;
    CREATE INDEX leads_subject ON leads (subject, subject_key);
    CREATE INDEX leads_item ON leads (item_id);
    "#,
    // 5: investigators' decisions on identities (`spoor graph merge|split|undo`): the network
    // is rebuilt from the records each time, and these are applied on top, in order.
    r#"
    CREATE TABLE identity_decisions (
        id INTEGER PRIMARY KEY,
        action TEXT NOT NULL CHECK (action IN ('merge', 'split', 'undo')),
        identifiers TEXT NOT NULL,
        undoes INTEGER REFERENCES identity_decisions(id),
        reviewer TEXT NOT NULL,
        reason TEXT NOT NULL,
        at TEXT NOT NULL,
        audit_seq INTEGER NOT NULL
    );
    "#,
    // 6: observations about subjects other than items (the network's identities): which one,
    // by its key (`identity:KEY`); NULL for an item's, which its item_id names.
    r#"
    ALTER TABLE observations ADD COLUMN subject_key TEXT;
    CREATE INDEX observations_subject ON observations (subject, subject_key);
    "#,
    // 7: the network as the network pass built it (nodes with their metrics, edges, ledger),
    // so the analyst's commands read it instead of rebuilding it; `meta.network` holds the
    // rest and the inputs it was built from (records, decisions), to tell when it is stale.
    r#"
    CREATE TABLE network_nodes (idx INTEGER PRIMARY KEY, key TEXT NOT NULL UNIQUE, node TEXT NOT NULL, metrics TEXT NOT NULL);
    CREATE TABLE network_edges (id INTEGER PRIMARY KEY, from_idx INTEGER NOT NULL, to_idx INTEGER NOT NULL, kind TEXT NOT NULL, edge TEXT NOT NULL);
    CREATE INDEX network_edges_from ON network_edges (from_idx);
    CREATE INDEX network_edges_to ON network_edges (to_idx);
    CREATE TABLE network_ledger (id INTEGER PRIMARY KEY, node_idx INTEGER NOT NULL, merge TEXT NOT NULL);
    "#,
    // 8: what the review queue filters and sorts on, beside the hits it would otherwise parse
    // for every lead (100,000 leads of a few KB each): the rules that fired (comma-separated)
    // and the group a lead is gathered under (`part_of`), with an index in queue order.
    r#"
    ALTER TABLE leads ADD COLUMN rules TEXT NOT NULL DEFAULT '';
    ALTER TABLE leads ADD COLUMN part_of TEXT;
    UPDATE leads SET
        rules = COALESCE((SELECT group_concat(json_extract(h.value, '$.rule'), ',') FROM json_each(leads.hits, '$.hits') h), ''),
        part_of = json_extract(hits, '$.part_of');
    CREATE INDEX leads_queue ON leads (active, rank, part_of IS NOT NULL, score DESC, id);
    "#,
    // 9: each tie's number of contacts beside its JSON, so that the review UI walks a
    // neighbourhood without parsing every tie of a hub (20,000 ties of a few KB each).
    r#"
    ALTER TABLE network_edges ADD COLUMN contacts INTEGER NOT NULL DEFAULT 0;
    UPDATE network_edges SET contacts = COALESCE(json_extract(edge, '$.count'), 0);
    "#,
    // 10: covering indexes for what the review UI reads of large tables. A column after a
    // row's JSON (a lead's hits, a tie's contacts and times) is read through the JSON's
    // overflow pages; the index holds the short columns alone. Measured on 100,000 leads and
    // 985,000 ties (scripts/bench-web.sh): the rule statistics of a lead page and a hub's
    // ties of a neighbourhood each read several times faster.
    r#"
    CREATE INDEX leads_rules_state ON leads (rules, state);
    CREATE INDEX network_edges_from_to ON network_edges (from_idx, to_idx, contacts);
    CREATE INDEX network_edges_to_from ON network_edges (to_idx, from_idx, contacts);
    DROP INDEX network_edges_from;
    DROP INDEX network_edges_to;
    "#,
];

pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

pub fn migrate(conn: &Connection) -> rusqlite::Result<()> {
    let current: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if current > SCHEMA_VERSION {
        return Err(rusqlite::Error::InvalidParameterName(format!(
            "store has schema version {current}, this spoor knows up to {SCHEMA_VERSION}: use a newer spoor"
        )));
    }
    if current == SCHEMA_VERSION {
        return Ok(());
    }
    // Table rebuilds (migration 4) need foreign keys off while the old table is dropped; the
    // pragma is a no-op inside a transaction, so it is set around them, and every reference is
    // checked before the store is used.
    let keys_were_on: bool = conn.query_row("PRAGMA foreign_keys", [], |r| r.get(0))?;
    conn.pragma_update(None, "foreign_keys", false)?;
    let outcome = (|| {
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(current as usize) {
            let tx = conn.unchecked_transaction()?;
            tx.execute_batch(sql)?;
            let broken: i64 =
                tx.query_row("SELECT COUNT(*) FROM pragma_foreign_key_check", [], |r| {
                    r.get(0)
                })?;
            if broken > 0 {
                return Err(rusqlite::Error::InvalidParameterName(format!(
                    "migration {} would leave {broken} broken references; the store is left at version {}",
                    i + 1,
                    i
                )));
            }
            tx.pragma_update(None, "user_version", (i + 1) as i64)?;
            tx.commit()?;
        }
        Ok(())
    })();
    conn.pragma_update(None, "foreign_keys", keys_were_on)?;
    outcome
}
