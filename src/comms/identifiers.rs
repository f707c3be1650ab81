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
