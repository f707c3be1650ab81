#!/usr/bin/env python3
"""Makes the phone-database fixtures of tests/data/comms/sqlite: no real mmssms.db, calllog.db
or sms.db with a usable licence was found (tests/data/comms/SOURCES.md), so these follow the
real schemas (AOSP TelephonyProvider's sms/threads/canonical_addresses/pdu/addr/part and CallLogProvider's
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
CREATE TABLE pdu (_id INTEGER PRIMARY KEY AUTOINCREMENT, thread_id INTEGER, date INTEGER, date_sent INTEGER DEFAULT 0,
  msg_box INTEGER, read INTEGER DEFAULT 0, m_id TEXT, sub TEXT, sub_cs INTEGER, ct_t TEXT, ct_l TEXT, exp INTEGER,
  m_cls TEXT, m_type INTEGER, v INTEGER, m_size INTEGER, pri INTEGER, rr INTEGER, rpt_a INTEGER, resp_st INTEGER,
  st INTEGER, tr_id TEXT, retr_st INTEGER, retr_txt TEXT, retr_txt_cs INTEGER, read_status INTEGER, ct_cls INTEGER,
  resp_txt TEXT, d_tm INTEGER, d_rpt INTEGER, locked INTEGER DEFAULT 0, sub_id INTEGER DEFAULT -1, seen INTEGER DEFAULT 0,
  creator TEXT, text_only INTEGER DEFAULT 0);
CREATE TABLE addr (_id INTEGER PRIMARY KEY, msg_id INTEGER, contact_id INTEGER, address TEXT, type INTEGER, charset INTEGER);
CREATE TABLE part (_id INTEGER PRIMARY KEY AUTOINCREMENT, mid INTEGER, seq INTEGER DEFAULT 0, ct TEXT, name TEXT,
  chset INTEGER, cd TEXT, fn TEXT, cid TEXT, cl TEXT, ctt_s INTEGER, ctt_t TEXT, _data TEXT, text TEXT);
""", [
    ("INSERT INTO canonical_addresses(address) VALUES (?)", [("+31612345678",), ("0687654321",)]),
    ("INSERT INTO threads(date, message_count, recipient_ids, snippet) VALUES (?,?,?,?)",
     [(1700000300000, 3, "1", "ok"), (1700000400000, 1, "2", "where")]),
    ("INSERT INTO sms(thread_id, address, date, date_sent, protocol, read, type, body, service_center, creator) VALUES (?,?,?,?,?,?,?,?,?,?)",
     [(1, "+31612345678", 1700000000000, 1699999999000, 0, 1, 1, "Package arrives at 10", "+31653131313", None),
      (1, "+31612345678", 1700000100000, 0, None, 1, 2, "ok, Parking P3", None, "com.google.android.apps.messaging"),
      (1, "+31612345678", 1700000300000, 1700000299000, 0, 1, 1, "Bring 2 bags", "+31653131313", None),
      (2, "0687654321", 1700000400000, 1700000399000, 0, 0, 1, "where are you?", "+31653131313", None)]),
    # MMS: a received picture with text, and a sent group message (dates in seconds).
    ("INSERT INTO pdu(thread_id, date, date_sent, msg_box, read, m_id, sub, sub_cs, ct_t, m_cls, m_type, v, pri, tr_id, d_rpt, rr, seen) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
     [(1, 1700000700, 1700000695, 1, 1, "mid-1", None, None, "application/vnd.wap.multipart.related", "personal", 132, 18, 129, "T1", 129, 129, 1),
      (2, 1700000800, 0, 2, 1, None, "plan", 106, "application/vnd.wap.multipart.related", "personal", 128, 18, 129, "T2", 129, 129, 1)]),
    ("INSERT INTO addr(msg_id, contact_id, address, type, charset) VALUES (?,?,?,?,?)",
     [(1, None, "+31612345678", 137, 106), (1, None, "insert-address-token", 151, 106),
      (2, None, "insert-address-token", 137, 106), (2, None, "0687654321", 151, 106), (2, None, "+31 6 11122233", 151, 106)]),
    ("INSERT INTO part(mid, seq, ct, name, chset, cd, fn, cid, cl, ctt_s, ctt_t, _data, text) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
     [(1, -1, "application/smil", None, None, None, None, "<smil>", "smil.xml", None, None, None, "<smil><body><par><img src=\"IMG_0042.jpg\"/></par></body></smil>"),
      (1, 0, "image/jpeg", "IMG_0042.jpg", None, None, None, "<img>", "IMG_0042.jpg", None, None, "/data/user_de/0/com.android.providers.telephony/app_parts/PART_1700000700000_IMG_0042.jpg", None),
      (1, 1, "text/plain", None, 106, None, None, "<text>", "text_0.txt", None, None, None, "the car, see picture"),
      (2, 0, "text/plain", None, 106, None, None, "<text>", "text_0.txt", None, None, None, "all three at the gate at 9")]),
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

def typed_int(n):
    """A typedstream integer: one signed byte, or 0x81 and an i16 (little-endian)."""
    return bytes([n]) if n < 0x80 else b"\x81" + n.to_bytes(2, "little")

def attributed_body(text):
    """`message.attributedBody` as Messages writes it for a plain text message: an NSArchiver
    typedstream of an NSMutableAttributedString holding an NSMutableString and one attribute run
    (the layout of real blobs; pytypedstream, an independent reader, is used to check it when
    it is installed)."""
    raw = text.encode("utf-8")
    blob = (b"\x04\x0bstreamtyped\x81\xe8\x03\x84\x01@\x84\x84\x84\x19NSMutableAttributedString\x00"
            b"\x84\x84\x12NSAttributedString\x00\x84\x84\x08NSObject\x00\x85\x92\x84\x84\x84\x0fNSMutableString"
            b"\x01\x84\x84\x08NSString\x01\x95\x84\x01+" + typed_int(len(raw)) + raw +
            b"\x86\x84\x02iI\x01" + typed_int(len(text.encode("utf-16-le")) // 2) +
            b"\x92\x84\x84\x84\x0cNSDictionary\x00\x95\x84\x01i\x01\x92\x84\x98\x98\x1d__kIMMessagePartAttributeName"
            b"\x86\x92\x84\x84\x84\x08NSNumber\x00\x84\x84\x07NSValue\x00\x95\x84\x01*\x84\x9b\x9b\x00\x86\x86\x86")
    try:
        import typedstream
        assert typedstream.unarchive_from_data(blob).contents[0].value.value == text
    except ImportError:
        pass
    return blob

GROUP_TEXT = ("Drop at the depot tonight, gate 4 \u2014 bring the keys and the van papers. "
              "Cash to NL91ABNA0417164300, not to the old account. Delete this after reading.")

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
CREATE TABLE attachment (ROWID INTEGER PRIMARY KEY AUTOINCREMENT, guid TEXT UNIQUE NOT NULL, created_date INTEGER DEFAULT 0,
  start_date INTEGER DEFAULT 0, filename TEXT, uti TEXT, mime_type TEXT, transfer_state INTEGER DEFAULT 0,
  is_outgoing INTEGER DEFAULT 0, user_info BLOB, transfer_name TEXT, total_bytes INTEGER DEFAULT 0);
CREATE TABLE message_attachment_join (message_id INTEGER REFERENCES message (ROWID) ON DELETE CASCADE,
  attachment_id INTEGER REFERENCES attachment (ROWID) ON DELETE CASCADE, UNIQUE(message_id, attachment_id));
""", [
    ("INSERT INTO handle(id, country, service) VALUES (?,?,?)",
     [("+31612345678", "nl", "SMS"), ("anna@example.nl", "nl", "iMessage"), ("+31687654321", "nl", "iMessage")]),
    # Style 45 one-to-one, 43 a group; account_login is the phone's own account (E: Apple ID).
    ("INSERT INTO chat(guid, style, chat_identifier, service_name, account_login, display_name) VALUES (?,?,?,?,?,?)",
     [("SMS;-;+31612345678", 45, "+31612345678", "SMS", "P:+31611111111", ""),
      ("iMessage;-;anna@example.nl", 45, "anna@example.nl", "iMessage", "E:owner@icloud.example", ""),
      ("iMessage;+;chat493817236", 43, "chat493817236", "iMessage", "E:owner@icloud.example", "Depot")]),
    # iOS 11+ dates: nanoseconds since 2001-01-01 UTC (721692800 s = 2023-11-14T22:13:20Z).
    ("INSERT INTO message(guid, text, handle_id, service, date, is_from_me) VALUES (?,?,?,?,?,?)",
     [("A1", "Package arrives at 10", 1, "SMS", 721692800 * 10**9, 0),
      ("A2", "ok", 1, "SMS", 721692900 * 10**9, 1),
      ("A3", "see you at the hotel", 2, "iMessage", 721693000 * 10**9, 0)]),
    # iOS 16+: the owner's message to the group, no handle, its text only in attributedBody
    # (over 127 bytes, so its length takes the typedstream's two-byte form); a member's reply
    # with a photo.
    ("INSERT INTO message(guid, text, attributedBody, handle_id, service, date, is_from_me) VALUES (?,?,?,?,?,?,?)",
     [("A4", None, attributed_body(GROUP_TEXT), 0, "iMessage", 721694000 * 10**9, 1),
      ("A5", "on my way \ufffc", None, 3, "iMessage", 721694100 * 10**9, 0)]),
    ("INSERT INTO attachment(guid, filename, mime_type, transfer_name, total_bytes) VALUES (?,?,?,?,?)",
     [("AT1", "~/Library/SMS/Attachments/4f/15/AT1/IMG_0042.HEIC", "image/heic", "IMG_0042.HEIC", 1834221)]),
    ("INSERT INTO message_attachment_join(message_id, attachment_id) VALUES (?,?)", [(5, 1)]),
    ("INSERT INTO chat_message_join(chat_id, message_id) VALUES (?,?)", [(1, 1), (1, 2), (2, 3), (3, 4), (3, 5)]),
    ("INSERT INTO chat_handle_join(chat_id, handle_id) VALUES (?,?)", [(1, 1), (2, 2), (3, 1), (3, 3)]),
])

# contacts2.db as Android 7+ writes it (AOSP ContactsDatabaseHelper: accounts, raw_contacts,
# mimetypes, data; the person's rows of each account are one raw contact).
make("contacts2.db", """
CREATE TABLE accounts (_id INTEGER PRIMARY KEY AUTOINCREMENT, account_name TEXT, account_type TEXT, data_set TEXT);
CREATE TABLE mimetypes (_id INTEGER PRIMARY KEY AUTOINCREMENT, mimetype TEXT NOT NULL);
CREATE TABLE raw_contacts (_id INTEGER PRIMARY KEY AUTOINCREMENT, account_id INTEGER REFERENCES accounts(_id),
  sourceid TEXT, backup_id TEXT, raw_contact_is_read_only INTEGER NOT NULL DEFAULT 0, version INTEGER NOT NULL DEFAULT 1,
  dirty INTEGER NOT NULL DEFAULT 0, deleted INTEGER NOT NULL DEFAULT 0, metadata_dirty INTEGER NOT NULL DEFAULT 0,
  contact_id INTEGER REFERENCES contacts(_id), aggregation_mode INTEGER NOT NULL DEFAULT 0,
  aggregation_needed INTEGER NOT NULL DEFAULT 1, custom_ringtone TEXT, send_to_voicemail INTEGER NOT NULL DEFAULT 0,
  times_contacted INTEGER NOT NULL DEFAULT 0, last_time_contacted INTEGER, starred INTEGER NOT NULL DEFAULT 0,
  pinned INTEGER NOT NULL DEFAULT 0, display_name TEXT, display_name_alt TEXT, display_name_source INTEGER NOT NULL DEFAULT 0,
  phonetic_name TEXT, phonetic_name_style TEXT, sort_key TEXT, phonebook_label TEXT, phonebook_bucket INTEGER,
  sort_key_alt TEXT, phonebook_label_alt TEXT, phonebook_bucket_alt INTEGER, name_verified INTEGER NOT NULL DEFAULT 0,
  sync1 TEXT, sync2 TEXT, sync3 TEXT, sync4 TEXT);
CREATE TABLE data (_id INTEGER PRIMARY KEY AUTOINCREMENT, package_id INTEGER, mimetype_id INTEGER REFERENCES mimetype(_id) NOT NULL,
  raw_contact_id INTEGER REFERENCES raw_contacts(_id) NOT NULL, hash_id TEXT, is_read_only INTEGER NOT NULL DEFAULT 0,
  is_primary INTEGER NOT NULL DEFAULT 0, is_super_primary INTEGER NOT NULL DEFAULT 0, data_version INTEGER NOT NULL DEFAULT 0,
  data1 TEXT, data2 TEXT, data3 TEXT, data4 TEXT, data5 TEXT, data6 TEXT, data7 TEXT, data8 TEXT, data9 TEXT, data10 TEXT,
  data11 TEXT, data12 TEXT, data13 TEXT, data14 TEXT, data15 TEXT, data_sync1 TEXT, data_sync2 TEXT, data_sync3 TEXT, data_sync4 TEXT,
  carrier_presence INTEGER NOT NULL DEFAULT 0, preferred_phone_account_component_name TEXT, preferred_phone_account_id TEXT);
""", [
    ("INSERT INTO accounts(account_name, account_type) VALUES (?,?)",
     [(None, None), ("bram.example@gmail.com", "com.google"), ("WhatsApp", "com.whatsapp")]),
    ("INSERT INTO mimetypes(mimetype) VALUES (?)",
     [("vnd.android.cursor.item/name",), ("vnd.android.cursor.item/phone_v2",), ("vnd.android.cursor.item/email_v2",),
      ("vnd.android.cursor.item/organization",), ("vnd.android.cursor.item/vnd.com.whatsapp.profile",),
      ("vnd.android.cursor.item/im",)]),
    # 1: the phone's own contact, two numbers and an address; 2: the same person from Google;
    # 3: WhatsApp's raw contact for the number; 4: deleted, still waiting for a sync.
    ("INSERT INTO raw_contacts(account_id, display_name, deleted, times_contacted, last_time_contacted, starred) VALUES (?,?,?,?,?,?)",
     [(1, "Bram", 0, 7, 1700000600000, 1), (2, "Bram de Vries", 0, 0, None, 0),
      (3, "Bram", 0, 0, None, 0), (1, "Kees", 1, 2, 1690000000000, 0)]),
    ("INSERT INTO data(mimetype_id, raw_contact_id, data1, data2, data3, data5) VALUES (?,?,?,?,?,?)",
     [(1, 1, "Bram", "Bram", None, None), (2, 1, "06 1234 5678", "2", None, None), (2, 1, "+31 20 123 4567", "1", None, None),
      (3, 1, "Bram@Example.nl", "1", None, None), (4, 1, "Transport BV", "1", None, None),
      (1, 2, "Bram de Vries", "Bram", "de Vries", None), (2, 2, "+31612345678", "2", None, None),
      (1, 3, "Bram", None, None, None), (2, 3, "+31 6 12345678", "2", None, None),
      (5, 3, "31612345678@s.whatsapp.net", "WhatsApp", "Message +31 6 12345678", None),
      (1, 4, "Kees", None, None, None), (2, 4, "0687654321", "2", None, None), (6, 4, "kees_77", None, None, "7")]),
])

# A database in WAL mode with its -wal, as seized from a running phone: two messages
# checkpointed into the main file; then, only in the -wal, a third message, the first one's
# body changed and the second deleted. The WAL's salts are random: this pair differs on every
# run (the other files do not).
import shutil
wal_dir = os.path.join(out, "wal")
os.makedirs(wal_dir, exist_ok=True)
tmp = os.path.join(wal_dir, "tmp.db")
for f in (tmp, tmp + "-wal", tmp + "-shm"):
    if os.path.exists(f):
        os.remove(f)
c = sqlite3.connect(tmp)
c.execute("PRAGMA journal_mode=WAL")
c.execute("PRAGMA wal_autocheckpoint=0")
c.executescript("""
CREATE TABLE threads (_id INTEGER PRIMARY KEY AUTOINCREMENT, date INTEGER DEFAULT 0, message_count INTEGER DEFAULT 0,
  recipient_ids TEXT, snippet TEXT);
CREATE TABLE sms (_id INTEGER PRIMARY KEY, thread_id INTEGER, address TEXT, person INTEGER, date INTEGER,
  date_sent INTEGER DEFAULT 0, protocol INTEGER, read INTEGER DEFAULT 0, status INTEGER DEFAULT -1, type INTEGER,
  reply_path_present INTEGER, subject TEXT, body TEXT, service_center TEXT, locked INTEGER DEFAULT 0);
""")
c.execute("INSERT INTO threads(date, recipient_ids) VALUES (1700000000000, '1')")
c.executemany("INSERT INTO sms(thread_id, address, date, type, body) VALUES (?,?,?,?,?)",
              [(1, "+31612345678", 1700000000000, 1, "meet at the depot"),
               (1, "+31612345678", 1700000100000, 2, "which gate?")])
c.commit()
c.execute("PRAGMA wal_checkpoint(TRUNCATE)")
c.execute("INSERT INTO sms(thread_id, address, date, type, body) VALUES (1, '+31612345678', 1700000200000, 1, 'gate 4, bring cash')")
c.execute("UPDATE sms SET body = 'meet at the depot at 9' WHERE _id = 1")
c.execute("DELETE FROM sms WHERE _id = 2")
c.commit()
shutil.copyfile(tmp, os.path.join(wal_dir, "mmssms.db"))
shutil.copyfile(tmp + "-wal", os.path.join(wal_dir, "mmssms.db-wal"))
c.close()
for f in (tmp, tmp + "-wal", tmp + "-shm"):
    if os.path.exists(f):
        os.remove(f)
