//! Identifiers of people and accounts, normalised so that the same person on two devices is the
//! same string: phone numbers in E.164 (`tel:+31612345678`, through `phonenumber`, Google
//! libphonenumber's metadata), e-mail addresses lower-cased (`email:a@b.nl`), app handles
//! namespaced (`whatsapp:`, `telegram:` …). A display name is kept as a name
//! (`whatsapp-name:Alice`), never taken for an identity.

/// The region (`NL`) of `--region`, checked.
pub fn parse_region(region: &str) -> Result<phonenumber::country::Id, String> {
    region
        .trim()
        .to_ascii_uppercase()
        .parse::<phonenumber::country::Id>()
        .map_err(|_| {
            format!("--region {region:?}: not an ISO 3166 country code that has phone numbers")
        })
}

/// `tel:+E164` for a phone number libphonenumber can place; numbers written without a country code need the
/// default region. None when it is not a valid number.
pub fn phone(raw: &str, region: Option<&str>) -> Option<String> {
    let digits = raw.chars().filter(|c| c.is_ascii_digit()).count();
    if !(5..=17).contains(&digits) {
        return None;
    }
    // Only what a phone number is written with.
    if !raw
        .chars()
        .all(|c| c.is_ascii_digit() || " +-().\u{a0}\u{202f}/".contains(c))
    {
        return None;
    }
    let country = region.and_then(|r| parse_region(r).ok());
    let number = phonenumber::parse(country, raw.trim()).ok()?;
    // Parsed, not necessarily valid: fictional 555 numbers, new ranges and short codes occur in
    // real data and must still meet themselves across devices.
    Some(format!(
        "tel:{}",
        number.format().mode(phonenumber::Mode::E164)
    ))
}

/// Whether libphonenumber's metadata calls `number` valid: the same decision as
/// `phonenumber::is_valid` (region chosen by leading digits, then the general pattern and one
/// number type must match at the start, with the type's possible lengths), made with our own
/// compiled copies of the metadata's patterns.
///
/// Why not `phonenumber::is_valid` itself: the crate keeps its patterns in one `Mutex`ed LRU
/// cache of 100 regexes, hashes the pattern text on every use and searches under the lock, so
/// threads queue on it and patterns are recompiled when evicted. On 66,118 candidates from the
/// text benchmark it took 12 µs per number and two threads ran no faster than one; this takes
/// well under 1 µs and scales. `tests::validity_equals_phonenumbers_on_every_region` checks it
/// against the crate on each region's example numbers and their mutations.
pub fn phone_valid(number: &phonenumber::PhoneNumber) -> bool {
    let code = number.country().code();
    let national = number.national().to_string();
    let Some(regions) = compiled_metadata().get(&code) else {
        return false;
    };
    fn compiled(
        (id, slot): &'static (String, std::sync::OnceLock<CompiledMetadata>),
        code: u16,
    ) -> &'static CompiledMetadata {
        slot.get_or_init(|| CompiledMetadata::of(id, code))
    }
    let chosen = match regions.as_slice() {
        [(id, _)] if id != "001" && id.parse::<phonenumber::country::Id>().is_err() => None,
        [only] => Some(compiled(only, code)),
        several => several
            .iter()
            .map(|r| compiled(r, code))
            .find(|m| match &m.leading_digits {
                Some(p) => p.is_match(&national),
                None => m.any_type(&national),
            }),
    };
    chosen.is_some_and(|m| m.any_type(&national))
}

struct CompiledDescriptor {
    possible_length: Vec<u16>,
    /// The national-number pattern anchored at the start, as the crate's `find` + `start == 0`.
    pattern: regex::Regex,
}

impl CompiledDescriptor {
    fn of(d: &phonenumber::metadata::Descriptor) -> CompiledDescriptor {
        CompiledDescriptor {
            possible_length: d.possible_length().to_vec(),
            pattern: anchored(d.national_number().as_str()),
        }
    }
    fn is_match(&self, national: &str) -> bool {
        (self.possible_length.is_empty() || self.possible_length.contains(&(national.len() as u16)))
            && self.pattern.is_match(national)
    }
}

struct CompiledMetadata {
    leading_digits: Option<regex::Regex>,
    general: CompiledDescriptor,
    /// Every number type the crate's `number_type` tries (premium rate … mobile).
    types: Vec<CompiledDescriptor>,
}

impl CompiledMetadata {
    fn of(id: &str, code: u16) -> CompiledMetadata {
        use phonenumber::metadata::DATABASE;
        let meta = if id == "001" {
            DATABASE.by_code(&code).and_then(|m| m.into_iter().next())
        } else {
            DATABASE.by_id(id)
        }
        .expect("a region listed for its code has metadata");
        let d = meta.descriptors();
        let types = [
            d.premium_rate(),
            d.toll_free(),
            d.shared_cost(),
            d.voip(),
            d.personal_number(),
            d.pager(),
            d.uan(),
            d.voicemail(),
            d.fixed_line(),
            d.mobile(),
        ];
        CompiledMetadata {
            leading_digits: meta.leading_digits().map(|p| anchored(p.as_str())),
            general: CompiledDescriptor::of(d.general()),
            types: types
                .into_iter()
                .flatten()
                .map(CompiledDescriptor::of)
                .collect(),
        }
    }
    fn any_type(&self, national: &str) -> bool {
        self.general.is_match(national) && self.types.iter().any(|t| t.is_match(national))
    }
}

fn anchored(pattern: &str) -> regex::Regex {
    regex::RegexBuilder::new(&format!("^(?:{pattern})"))
        .ignore_whitespace(true)
        .build()
        .expect("libphonenumber's metadata patterns compile, as in the crate")
}

/// By calling code, its regions in the metadata's order, each compiled on first use (a scan
/// meets a handful of regions; compiling all 250 up front would cost every run for nothing).
type MetadataTable =
    std::collections::HashMap<u16, Vec<(String, std::sync::OnceLock<CompiledMetadata>)>>;

fn compiled_metadata() -> &'static MetadataTable {
    static TABLE: std::sync::OnceLock<MetadataTable> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| {
        let db = &phonenumber::metadata::DATABASE;
        db.iter()
            .map(|m| m.country_code())
            .map(|code| {
                let regions = db.region(&code).unwrap_or_default();
                let slots = regions
                    .into_iter()
                    .map(|id| (id.to_string(), std::sync::OnceLock::new()))
                    .collect();
                (code, slots)
            })
            .collect()
    })
}

/// `email:` and the address lower-cased, for something that looks like one address.
pub fn email(raw: &str) -> Option<String> {
    let s = raw.trim().trim_start_matches("mailto:");
    let s = s
        .strip_prefix('<')
        .and_then(|s| s.strip_suffix('>'))
        .unwrap_or(s);
    let (local, domain) = s.split_once('@')?;
    let ok = !local.is_empty()
        && domain.contains('.')
        && !s.contains(char::is_whitespace)
        && !domain.starts_with('.')
        && !domain.ends_with('.');
    ok.then(|| format!("email:{}", s.to_lowercase()))
}

/// The namespace of a phone-number field that holds no number libphonenumber can place (an
/// SMS sender ID, a pseudonymised CDR party, a number without its country code and no
/// `--region`): one namespace whatever the field or format, so that an SMS address, a call
/// log's number, a CDR subscriber and a contact's phone meet when they are the same text.
pub const PHONE_FIELD: &str = "tel-raw";

/// The identifier for an address as a source wrote it: a phone number, an e-mail address, or
/// else the raw text in the app's namespace (`app:raw`).
pub fn identify(raw: &str, app: &str, region: Option<&str>) -> String {
    phone(raw, region)
        .or_else(|| email(raw))
        .unwrap_or_else(|| format!("{app}:{}", raw.trim()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validity_equals_phonenumbers_on_every_region() {
        use phonenumber::metadata::DATABASE;
        let (mut checked, mut valid) = (0, 0);
        for meta in DATABASE.iter() {
            let d = meta.descriptors();
            let examples = [d.general(), d.fixed_line().unwrap_or(d.general())]
                .into_iter()
                .chain(
                    [d.mobile(), d.toll_free(), d.premium_rate(), d.voip()]
                        .into_iter()
                        .flatten(),
                )
                .filter_map(|x| x.example().map(str::to_string));
            for example in examples {
                // The example, and mutations that are sometimes valid and sometimes not.
                let mut variants = vec![
                    example.clone(),
                    format!("{example}7"),
                    format!("9{example}"),
                ];
                if example.len() > 2 {
                    variants.push(example[..example.len() - 1].to_string());
                    variants.push(format!(
                        "{}{}",
                        &example[..1],
                        example[1..].replace(['1', '2'], "8")
                    ));
                }
                for v in variants {
                    let Ok(n) = phonenumber::parse(None, format!("+{}{}", meta.country_code(), v))
                    else {
                        continue;
                    };
                    let theirs = phonenumber::is_valid(&n);
                    assert_eq!(
                        phone_valid(&n),
                        theirs,
                        "{} +{} {v}",
                        meta.id(),
                        meta.country_code()
                    );
                    checked += 1;
                    valid += theirs as usize;
                }
            }
        }
        assert!(
            checked > 2000 && valid > 500 && checked - valid > 500,
            "{checked} checked, {valid} valid"
        );
    }

    #[test]
    fn phone_numbers_become_e164_with_the_default_region_only_where_needed() {
        assert_eq!(
            phone("06 1234 5678", Some("NL")).as_deref(),
            Some("tel:+31612345678")
        );
        assert_eq!(
            phone("+31 6 12345678", None).as_deref(),
            Some("tel:+31612345678")
        );
        assert_eq!(
            phone("+1 (555) 123-4567", Some("NL")).as_deref(),
            Some("tel:+15551234567")
        );
        assert_eq!(
            phone("+1 650-253-0000", Some("NL")).as_deref(),
            Some("tel:+16502530000")
        );
        // Without a region a national number cannot be placed.
        assert_eq!(phone("06 1234 5678", None), None);
        assert_eq!(phone("John Doe", Some("NL")), None);
        assert!(parse_region("xx").is_err());
    }

    #[test]
    fn email_addresses_are_lower_cased_and_other_handles_namespaced() {
        assert_eq!(
            email("<Jan.Jansen@Example.NL>").as_deref(),
            Some("email:jan.jansen@example.nl")
        );
        assert_eq!(email("not an address"), None);
        assert_eq!(
            identify("Alice", "whatsapp-name", None),
            "whatsapp-name:Alice"
        );
        assert_eq!(identify("+31612345678", "sms", None), "tel:+31612345678");
    }
}
