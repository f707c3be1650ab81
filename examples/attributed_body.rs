//! The text spoor reads from each `attributedBody` blob given, one JSON line per file:
//! `{"file": …, "text": …}` or `{"file": …, "error": …}`. scripts/typedstream_reference.py
//! compares these with pytypedstream's.
use spoor::comms::typedstream::attributed_text;

fn main() {
    for path in std::env::args().skip(1) {
        let line = match std::fs::read(&path)
            .map_err(|e| e.to_string())
            .and_then(|blob| attributed_text(&blob))
        {
            Ok(text) => serde_json::json!({"file": path, "text": text}),
            Err(error) => serde_json::json!({"file": path, "error": error}),
        };
        println!("{line}");
    }
}
