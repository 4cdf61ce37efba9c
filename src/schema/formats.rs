//! Custom `format` checks for Swedish identifiers that a regular expression cannot express.
//!
//! The schemas name these formats (`se-organisationsnummer`, `se-hsa-id`) so other tooling
//! treats them as annotations, while the hub enforces the Luhn check digit: a mistyped
//! organisation number is caught at the border instead of surfacing as an unknown partner later.

/// Format name for a Swedish organisationsnummer.
pub const ORGANISATIONSNUMMER: &str = "se-organisationsnummer";
/// Format name for an HSA-id.
pub const HSA_ID: &str = "se-hsa-id";

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
