//! Small text helpers shared by the modules that put text on the wire.

/// At most `max` characters, ending in `…` when cut (schemas bound string lengths in
/// characters, and a cut sentence should look cut).
pub fn clip(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(max.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

/// Luhn as Sweden uses it for personnummer, samordningsnummer and organisationsnummer:
/// weights 2,1,2,1,… from the left over the ten digit *values* (0–9); valid when the sum of
/// digit sums is a multiple of 10.
pub fn luhn_valid(ten: &[u8; 10]) -> bool {
    let sum: u32 = ten
        .iter()
        .enumerate()
        .map(|(i, &d)| {
            let v = u32::from(d) * if i % 2 == 0 { 2 } else { 1 };
            if v > 9 { v - 9 } else { v }
        })
        .sum();
    sum.is_multiple_of(10)
}

#[cfg(test)]
mod tests {
    use super::clip;

    #[test]
    fn clips_on_characters_and_marks_the_cut() {
        assert_eq!(clip("åäö", 3), "åäö");
        assert_eq!(clip("åäöx", 3), "åä…");
        assert_eq!(clip("abc", 0), "…");
    }
}
