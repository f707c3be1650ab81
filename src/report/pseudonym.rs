//! `--pseudonymize KEYFILE`: reports shared beyond the case team name people by pseudonyms.
//! Every identifier, label and display name of the case's network, and every entity value a
//! lead rests on (IBAN, phone number, address, wallet), becomes `P-` and 10 hex digits of
//! HMAC-SHA256(key, the value): the same person has the same pseudonym in every report made
//! with the same key, and no one without the key can go back. Reviewers and examiners keep
//! their names (they sign the case). Digests of files are not personal and stay.

use serde_json::Value;

use crate::graph::export::Pseudonyms;

pub struct Pseudonymizer {
    keyed: Pseudonyms,
    /// The key's SHA-256, recorded in the audit entry (never the key).
    pub key_sha256: String,
    terms: Vec<(String, String)>,
    matcher: Option<regex::Regex>,
}

impl Pseudonymizer {
    /// The key file `spoor graph export --pseudonymize` takes: the same key gives the same
    /// pseudonyms in reports and network exports.
    pub fn from_file(path: &std::path::Path) -> Result<Pseudonymizer, String> {
        let keyed = Pseudonyms::from_file(path).map_err(|e| format!("--pseudonymize {e}"))?;
        let key = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(Pseudonymizer {
            keyed,
            key_sha256: crate::store::audit::digest_hex(&key),
            terms: Vec::new(),
            matcher: None,
        })
    }

    pub fn pseudonym(&self, value: &str) -> String {
        self.keyed.of(value)
    }

    /// Adds the values to hide: an identifier `tel:+316…` hides as itself and its bare value;
    /// names shorter than two characters are left (they would hide letters of words).
    pub fn hide(&mut self, values: impl IntoIterator<Item = String>) {
        for v in values {
            let v = v.trim().to_string();
            let bare = v.split_once(':').map(|(_, b)| b.trim().to_string());
            // As the network export names it: the whole identifier (`tel:+316…`).
            let person = self.pseudonym(&v);
            for term in [Some(v), bare].into_iter().flatten() {
                if term.chars().count() >= 2 && !self.terms.iter().any(|(t, _)| *t == term) {
                    self.terms.push((term, person.clone()));
                }
            }
        }
        self.terms
            .sort_by(|a, b| b.0.len().cmp(&a.0.len()).then_with(|| a.0.cmp(&b.0)));
        let pattern = self
            .terms
            .iter()
            .map(|(t, _)| regex::escape(t))
            .collect::<Vec<_>>()
            .join("|");
        self.matcher = (!self.terms.is_empty())
            .then(|| {
                regex::RegexBuilder::new(&pattern)
                    .size_limit(1 << 28)
                    .build()
                    .ok()
            })
            .flatten();
    }

    /// The text with every hidden value replaced, where it stands as a whole word (not
    /// inside a longer word or number).
    pub fn text(&self, s: &str) -> String {
        let Some(re) = &self.matcher else {
            return s.to_string();
        };
        let mut out = String::with_capacity(s.len());
        let mut last = 0;
        let word = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
        for m in re.find_iter(s) {
            let before = s[..m.start()].chars().next_back();
            let after = s[m.end()..].chars().next();
            let starts_word = word(m.as_str().chars().next());
            let ends_word = word(m.as_str().chars().next_back());
            if (starts_word && word(before)) || (ends_word && word(after)) {
                continue;
            }
            out.push_str(&s[last..m.start()]);
            let (_, p) = self
                .terms
                .iter()
                .find(|(t, _)| t == m.as_str())
                .expect("a match is one of the terms");
            out.push_str(p);
            last = m.end();
        }
        out.push_str(&s[last..]);
        out
    }

    /// Every string of the value, keys included.
    pub fn value(&self, v: &mut Value) {
        match v {
            Value::String(s) => *s = self.text(s),
            Value::Array(a) => a.iter_mut().for_each(|x| self.value(x)),
            Value::Object(o) => {
                let old = std::mem::take(o);
                for (k, mut x) in old {
                    self.value(&mut x);
                    o.insert(self.text(&k), x);
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keyed(key: &[u8]) -> Pseudonymizer {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("key");
        std::fs::write(&path, key).unwrap();
        Pseudonymizer::from_file(&path).unwrap()
    }

    #[test]
    fn values_become_stable_pseudonyms_only_as_whole_words() {
        let mut p = keyed(b"0123456789abcdef");
        p.hide([
            "tel:+31612345678".to_string(),
            "Anna".to_string(),
            "Mo".to_string(),
        ]);
        let a = p.pseudonym("tel:+31612345678");
        let text =
            p.text("Anna called +31612345678 (tel:+31612345678); Annabel and Mode stay; Mo goes");
        assert_eq!(
            text,
            format!(
                "{} called {a} ({a}); Annabel and Mode stay; {} goes",
                p.pseudonym("Anna"),
                p.pseudonym("Mo")
            )
        );
        assert_ne!(
            keyed(b"fedcba9876543210").pseudonym("Anna"),
            p.pseudonym("Anna")
        );
        let mut v = serde_json::json!({"label": "Anna", "list": ["x Anna y"]});
        p.value(&mut v);
        assert!(!v.to_string().contains("Anna"), "{v}");
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("short"), b"short").unwrap();
        assert!(Pseudonymizer::from_file(&dir.path().join("short")).is_err());
    }
}
