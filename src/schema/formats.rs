//! Custom `format` checks for Swedish identifiers that a regular expression cannot express.
//!
//! The hub enforces the Luhn check digit of organisation numbers and HSA-ids: a mistyped
//! organisation number is caught at the border instead of surfacing as an unknown partner later.
//! The published schemas do not name these formats, because a generic validator in strict mode
//! (ajv's default) refuses to compile a schema with a format it does not know; their patterns
//! carry everything a regular expression can. The hub adds the formats to the `$defs` in
//! [`CUSTOM`] as it loads the schemas, so its rules are the published ones plus the check digit.

use serde_json::Value;

/// Format name for a Swedish organisationsnummer.
pub const ORGANISATIONSNUMMER: &str = "se-organisationsnummer";
/// Format name for an HSA-id.
pub const HSA_ID: &str = "se-hsa-id";

/// Where the custom formats apply: schema file, `$defs` entry, format.
pub(super) const CUSTOM: [(&str, &str, &str); 2] = [
    ("common.v1.json", "organisationsnummer", ORGANISATIONSNUMMER),
    ("common.v1.json", "hsaId", HSA_ID),
];

/// `schema` (the contents of `file`) with the custom formats of [`CUSTOM`] added; `Err` names
/// a `$defs` entry that is missing, so a renamed definition cannot silently lose its check.
pub(super) fn with_custom_formats(file: &str, mut schema: Value) -> Result<Value, String> {
    for (_, def, format) in CUSTOM.iter().filter(|(f, _, _)| *f == file) {
        let entry = schema
            .get_mut("$defs")
            .and_then(|defs| defs.get_mut(*def))
            .and_then(Value::as_object_mut)
            .ok_or_else(|| format!("{file} has no $defs/{def} for format {format}"))?;
        entry.insert("format".to_owned(), Value::from(*format));
    }
    Ok(schema)
}

/// `NNNNNN-NNNN` or ten digits, the third digit ≥ 2 (so it can never read as a birth date),
/// Luhn-valid.
pub fn is_organisationsnummer(s: &str) -> bool {
    let digits: Vec<u8> = match s.as_bytes() {
        [head @ .., b'-', a, b, c, d] if head.len() == 6 => {
            head.iter().chain([a, b, c, d]).copied().collect()
        }
        all if all.len() == 10 => all.to_vec(),
        _ => return false,
    };
    orgnr_digits_valid(&digits)
}

fn orgnr_digits_valid(digits: &[u8]) -> bool {
    let Ok(ascii) = <[u8; 10]>::try_from(digits) else {
        return false;
    };
    ascii.iter().all(u8::is_ascii_digit)
        && ascii[2] >= b'2'
        && crate::text::luhn_valid(&ascii.map(|d| d - b'0'))
}

/// `SE` + organisationsnummer of the catalogue owner (10 digits, or 12 with the `16` prefix) +
/// `-` + one or more ASCII letters or digits; at most 31 characters; Luhn-valid owner number.
pub fn is_hsa_id(s: &str) -> bool {
    let Some(rest) = s.strip_prefix("SE") else {
        return false;
    };
    let Some((owner, local)) = rest.split_once('-') else {
        return false;
    };
    let owner = match owner.len() {
        12 if owner.starts_with("16") => &owner[2..],
        10 => owner,
        _ => return false,
    };
    s.len() <= 31
        && !local.is_empty()
        && local.bytes().all(|b| b.is_ascii_alphanumeric())
        && orgnr_digits_valid(owner.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_custom_formats_land_on_their_defs_or_the_load_fails() {
        let common = serde_json::json!({"$defs": {"organisationsnummer": {}, "hsaId": {}}});
        let common = with_custom_formats("common.v1.json", common).unwrap();
        assert_eq!(common["$defs"]["hsaId"]["format"], HSA_ID);
        assert_eq!(
            common["$defs"]["organisationsnummer"]["format"],
            ORGANISATIONSNUMMER
        );
        let renamed = serde_json::json!({"$defs": {"orgnr": {}, "hsaId": {}}});
        let err = with_custom_formats("common.v1.json", renamed).unwrap_err();
        assert!(err.contains("$defs/organisationsnummer"), "{err}");
        let other = serde_json::json!({"x": 1});
        assert_eq!(
            with_custom_formats("need.v1.json", other.clone()),
            Ok(other)
        );
    }

    #[test]
    fn organisationsnummer_needs_luhn_and_digit_three() {
        assert!(is_organisationsnummer("232100-0131")); // Västra Götalandsregionen
        assert!(is_organisationsnummer("2321000131"));
        assert!(is_organisationsnummer("552901-0174"));
        assert!(!is_organisationsnummer("232100-0132")); // wrong check digit
        assert!(!is_organisationsnummer("850522-9891")); // a (test) personnummer: month 05
        assert!(!is_organisationsnummer("23210-00131"));
        assert!(!is_organisationsnummer(""));
    }

    #[test]
    fn hsa_ids_check_owner_and_local_part() {
        assert!(is_hsa_id("SE2321000131-E999000000101"));
        assert!(is_hsa_id("SE162321000131-E1"));
        assert!(!is_hsa_id("SE2321000132-E999000000101"));
        assert!(!is_hsa_id("SE2321000131-"));
        assert!(!is_hsa_id("SE2321000131-Å1"));
        assert!(!is_hsa_id("SE2321000131-E99900000010100000001"));
        assert!(!is_hsa_id("TSTNMT2321000156-1077"));
    }
}
