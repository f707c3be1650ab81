#!/usr/bin/env python3
"""Makes the phone-database fixtures of tests/data/comms/sqlite: no real mmssms.db, calllog.db
or sms.db with a usable licence was found (tests/data/comms/SOURCES.md), so these follow the
real schemas (AOSP TelephonyProvider's sms/threads/canonical_addresses and CallLogProvider's
calls tables; iOS sms.db's message/handle/chat/chat_message_join, columns as forensic
references document them) with invented content.

  python3 scripts/make_phone_dbs.py tests/data/comms/sqlite
"""
import os, sqlite3, sys

out = sys.argv[1]
os.makedirs(out, exist_ok=True)

def make(name, ddl, rows):
    path = os.path.join(out, name)
    if os.path.exists(path):
        os.remove(path)
    c = sqlite3.connect(path)
    c.executescript(ddl)
    for sql, values in rows:
        c.executemany(sql, values)
    c.commit()
    c.execute("PRAGMA journal_mode=DELETE")
    c.close()

make("mmssms.db", """
CREATE TABLE canonical_addresses (_id INTEGER PRIMARY KEY AUTOINCREMENT, address TEXT);
CREATE TABLE threads (_id INTEGER PRIMARY KEY AUTOINCREMENT, date INTEGER DEFAULT 0, message_count INTEGER DEFAULT 0,
  recipient_ids TEXT, snippet TEXT, snippet_cs INTEGER DEFAULT 0, read INTEGER DEFAULT 1, archived INTEGER DEFAULT 0,
  type INTEGER DEFAULT 0, error INTEGER DEFAULT 0, has_attachment INTEGER DEFAULT 0);
CREATE TABLE sms (_id INTEGER PRIMARY KEY, thread_id INTEGER, address TEXT, person INTEGER, date INTEGER,
  date_sent INTEGER DEFAULT 0, protocol INTEGER, read INTEGER DEFAULT 0, status INTEGER DEFAULT -1, type INTEGER,
  reply_path_present INTEGER, subject TEXT, body TEXT, service_center TEXT, locked INTEGER DEFAULT 0,
  sub_id INTEGER DEFAULT -1, error_code INTEGER DEFAULT -1, creator TEXT, seen INTEGER DEFAULT 0);
""", [
    ("INSERT INTO canonical_addresses(address) VALUES (?)", [("+31612345678",), ("0687654321",)]),
    ("INSERT INTO threads(date, message_count, recipient_ids, snippet) VALUES (?,?,?,?)",
     [(1700000300000, 3, "1", "ok"), (1700000400000, 1, "2", "where")]),
    ("INSERT INTO sms(thread_id, address, date, date_sent, protocol, read, type, body, service_center, creator) VALUES (?,?,?,?,?,?,?,?,?,?)",
     [(1, "+31612345678", 1700000000000, 1699999999000, 0, 1, 1, "Package arrives at 10", "+31653131313", None),
      (1, "+31612345678", 1700000100000, 0, None, 1, 2, "ok, Parking P3", None, "com.google.android.apps.messaging"),
      (1, "+31612345678", 1700000300000, 1700000299000, 0, 1, 1, "Bring 2 bags", "+31653131313", None),
      (2, "0687654321", 1700000400000, 1700000399000, 0, 0, 1, "where are you?", "+31653131313", None)]),
])

make("calllog.db", """
CREATE TABLE calls (_id INTEGER PRIMARY KEY AUTOINCREMENT, number TEXT, presentation INTEGER NOT NULL DEFAULT 1,
  date INTEGER, duration INTEGER, data_usage INTEGER, type INTEGER, features INTEGER NOT NULL DEFAULT 0,
  subscription_component_name TEXT, subscription_id TEXT, new INTEGER, name TEXT, numbertype INTEGER,
  numberlabel TEXT, countryiso TEXT, voicemail_uri TEXT, is_read INTEGER, geocoded_location TEXT,
  lookup_uri TEXT, matched_number TEXT, normalized_number TEXT, photo_id INTEGER NOT NULL DEFAULT 0,
  formatted_number TEXT, last_modified INTEGER DEFAULT 0);
""", [
    ("INSERT INTO calls(number, date, duration, type, name, countryiso) VALUES (?,?,?,?,?,?)",
     [("+31612345678", 1700000050000, 62, 1, "Bram", "NL"),
      ("0687654321", 1700000500000, 0, 3, None, "NL"),
      ("+31612345678", 1700000600000, 305, 2, "Bram", "NL")]),
])

make("sms.db", """
CREATE TABLE handle (ROWID INTEGER PRIMARY KEY AUTOINCREMENT UNIQUE, id TEXT NOT NULL, country TEXT,
  service TEXT NOT NULL, uncanonicalized_id TEXT, person_centric_id TEXT, UNIQUE (id, service));
CREATE TABLE chat (ROWID INTEGER PRIMARY KEY AUTOINCREMENT, guid TEXT UNIQUE NOT NULL, style INTEGER, state INTEGER,
  account_id TEXT, properties BLOB, chat_identifier TEXT, service_name TEXT, room_name TEXT, account_login TEXT,
  is_archived INTEGER DEFAULT 0, display_name TEXT);
CREATE TABLE message (ROWID INTEGER PRIMARY KEY AUTOINCREMENT, guid TEXT UNIQUE NOT NULL, text TEXT, replace INTEGER DEFAULT 0,
  service_center TEXT, handle_id INTEGER DEFAULT 0, subject TEXT, country TEXT, attributedBody BLOB, version INTEGER DEFAULT 0,
  type INTEGER DEFAULT 0, service TEXT, account TEXT, account_guid TEXT, error INTEGER DEFAULT 0, date INTEGER,
  date_read INTEGER, date_delivered INTEGER, is_delivered INTEGER DEFAULT 0, is_finished INTEGER DEFAULT 0,
  is_from_me INTEGER DEFAULT 0, is_read INTEGER DEFAULT 0, cache_roomnames TEXT);
CREATE TABLE chat_message_join (chat_id INTEGER REFERENCES chat (ROWID) ON DELETE CASCADE,
  message_id INTEGER REFERENCES message (ROWID) ON DELETE CASCADE, message_date INTEGER DEFAULT 0, PRIMARY KEY (chat_id, message_id));
CREATE TABLE chat_handle_join (chat_id INTEGER REFERENCES chat (ROWID) ON DELETE CASCADE,
  handle_id INTEGER REFERENCES handle (ROWID) ON DELETE CASCADE, UNIQUE(chat_id, handle_id));
""", [
    ("INSERT INTO handle(id, country, service) VALUES (?,?,?)",
     [("+31612345678", "nl", "SMS"), ("anna@example.nl", "nl", "iMessage")]),
    ("INSERT INTO chat(guid, style, chat_identifier, service_name) VALUES (?,?,?,?)",
     [("SMS;-;+31612345678", 45, "+31612345678", "SMS"), ("iMessage;-;anna@example.nl", 45, "anna@example.nl", "iMessage")]),
    # iOS 11+ dates: nanoseconds since 2001-01-01 UTC (721692800 s = 2023-11-14T22:13:20Z).
    ("INSERT INTO message(guid, text, handle_id, service, date, is_from_me) VALUES (?,?,?,?,?,?)",
     [("A1", "Package arrives at 10", 1, "SMS", 721692800 * 10**9, 0),
      ("A2", "ok", 1, "SMS", 721692900 * 10**9, 1),
      ("A3", "see you at the hotel", 2, "iMessage", 721693000 * 10**9, 0)]),
    ("INSERT INTO chat_message_join(chat_id, message_id) VALUES (?,?)", [(1, 1), (1, 2), (2, 3)]),
    ("INSERT INTO chat_handle_join(chat_id, handle_id) VALUES (?,?)", [(1, 1), (2, 2)]),
])
