//! The NHS number: ten digits whose last is a Modulus 11 check digit over the first nine.
//!
//! The check: multiply the first nine digits by the weights 10 down to 2, add the products,
//! take the remainder of the sum divided by 11 and subtract it from 11. A result of 11 means a
//! check digit of 0; a result of 10 means that no valid NHS number begins with these nine
//! digits; any other result must equal the tenth digit.
//!
//! Written forms accepted by [`NhsNumber::parse`]: ten digits (`9434765919`), or the same
//! grouped 3-3-4 with single spaces (`943 476 5919`) or single hyphens (`943-476-5919`), the
//! same separator both times. Nothing else: no surrounding whitespace, no other grouping, so
//! that what is stored and compared is never ambiguous.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The FHIR identifier system of the NHS number (also the namespace of the EHR subject's
/// external reference).
pub const NHS_NUMBER_NAMESPACE: &str = "https://fhir.nhs.uk/Id/nhs-number";

/// A valid NHS number: ten digits with a correct check digit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NhsNumber {
    digits: [u8; 10],
}

/// Why a text is not an NHS number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NhsNumberError {
    /// Not ten digits (after removing a 3-3-4 grouping).
    #[error(
        "an NHS number has 10 digits, found {found} (it may be grouped 3-3-4 with single spaces or hyphens)"
    )]
    WrongLength {
        /// How many digits the text has.
        found: usize,
    },
    /// A character that is neither a digit nor part of a 3-3-4 grouping.
    #[error(
        "an NHS number has only digits, found {character:?} at character {position} (it may be grouped 3-3-4 with single spaces or hyphens)"
    )]
    NotADigit {
        /// The first offending character.
        character: char,
        /// Its position in the text, counting characters from 1.
        position: usize,
    },
    /// The tenth digit is not the one the first nine give.
    #[error("the check digit of an NHS number beginning {first_nine} is {expected}, found {found}")]
    CheckDigitMismatch {
        /// The first nine digits.
        first_nine: String,
        /// The check digit the first nine digits give.
        expected: u8,
        /// The tenth digit of the text.
        found: u8,
    },
    /// The first nine digits give a check result of 10: no valid number begins with them.
    #[error("no valid NHS number begins with {first_nine}: their Modulus 11 check result is 10")]
    CheckResultTen {
        /// The first nine digits.
        first_nine: String,
    },
}

/// The check digit of nine digits, or `None` when the check result is 10.
fn check_digit(first_nine: &[u8; 9]) -> Option<u8> {
    let sum: u32 = first_nine
        .iter()
        .zip((2..=10u32).rev())
        .map(|(digit, weight)| u32::from(*digit) * weight)
        .sum();
    match 11 - sum % 11 {
        11 => Some(0),
        10 => None,
        // The subtraction above is at most 11 and we handled 11 and 10, so this fits a digit.
        check => Some(check as u8),
    }
}

fn digits_text(digits: &[u8]) -> String {
    digits
        .iter()
        .map(|digit| char::from(b'0' + digit))
        .collect()
}

impl NhsNumber {
    /// Parses ten digits, optionally grouped 3-3-4 by single spaces or single hyphens, and
    /// checks the check digit.
    pub fn parse(text: &str) -> Result<NhsNumber, NhsNumberError> {
        let characters: Vec<char> = text.chars().collect();
        let grouped = characters.len() == 12
            && matches!(characters[3], ' ' | '-')
            && characters[7] == characters[3];
        let mut digits = Vec::with_capacity(10);
        for (index, character) in characters.iter().enumerate() {
            if grouped && (index == 3 || index == 7) {
                continue;
            }
            // `to_digit` knows only ASCII digits, so other scripts' digits are refused here.
            match character.to_digit(10) {
                Some(digit) => digits.push(digit as u8),
                _ => {
                    return Err(NhsNumberError::NotADigit {
                        character: *character,
                        position: index + 1,
                    });
                }
            }
        }
        let digits: [u8; 10] =
            digits
                .as_slice()
                .try_into()
                .map_err(|_| NhsNumberError::WrongLength {
                    found: digits.len(),
                })?;
        let first_nine: [u8; 9] = digits[..9].try_into().expect("ten digits have nine first");
        match check_digit(&first_nine) {
            None => Err(NhsNumberError::CheckResultTen {
                first_nine: digits_text(&first_nine),
            }),
            Some(expected) if expected != digits[9] => Err(NhsNumberError::CheckDigitMismatch {
                first_nine: digits_text(&first_nine),
                expected,
                found: digits[9],
            }),
            Some(_) => Ok(NhsNumber { digits }),
        }
    }

    /// The NHS number whose first nine digits are `first_nine` (written with leading zeros),
    /// with its check digit appended; `None` when `first_nine` has more than nine digits or
    /// its check result is 10. For seeding synthetic populations and for tests.
    pub fn from_nine_digits(first_nine: u32) -> Option<NhsNumber> {
        if first_nine > 999_999_999 {
            return None;
        }
        let mut nine = [0u8; 9];
        let mut rest = first_nine;
        for slot in nine.iter_mut().rev() {
            *slot = (rest % 10) as u8;
            rest /= 10;
        }
        let check = check_digit(&nine)?;
        let mut digits = [0u8; 10];
        digits[..9].copy_from_slice(&nine);
        digits[9] = check;
        Some(NhsNumber { digits })
    }

    /// The number grouped 3-3-4 with spaces, as people read it: `943 476 5919`.
    pub fn grouped(&self) -> String {
        let text = self.to_string();
        format!("{} {} {}", &text[..3], &text[3..6], &text[6..])
    }
}

impl fmt::Display for NhsNumber {
    /// The ten digits, ungrouped: the form stored and compared.
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&digits_text(&self.digits))
    }
}

impl FromStr for NhsNumber {
    type Err = NhsNumberError;

    fn from_str(text: &str) -> Result<NhsNumber, NhsNumberError> {
        NhsNumber::parse(text)
    }
}

impl Serialize for NhsNumber {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for NhsNumber {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<NhsNumber, D::Error> {
        let text = String::deserialize(deserializer)?;
        NhsNumber::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_accepts_and_rejects() {
        use NhsNumberError::*;
        let cases: &[(&str, Result<&str, NhsNumberError>)] = &[
            ("9434765919", Ok("9434765919")),
            ("943 476 5919", Ok("9434765919")),
            ("943-476-5919", Ok("9434765919")),
            ("4010232137", Ok("4010232137")),
            // 4 x 10 + 2 x 2 = 44, remainder 0: 11 - 0 = 11 means a check digit of 0.
            ("4000000020", Ok("4000000020")),
            (
                "9434765918",
                Err(CheckDigitMismatch {
                    first_nine: "943476591".into(),
                    expected: 9,
                    found: 8,
                }),
            ),
            // 6 x 2 = 12, remainder 1: 11 - 1 = 10, so no number begins 000000006.
            (
                "0000000060",
                Err(CheckResultTen {
                    first_nine: "000000006".into(),
                }),
            ),
            (
                "943 476-5919",
                Err(NotADigit {
                    character: ' ',
                    position: 4,
                }),
            ),
            (
                "943  476 5919",
                Err(NotADigit {
                    character: ' ',
                    position: 4,
                }),
            ),
            (
                " 9434765919",
                Err(NotADigit {
                    character: ' ',
                    position: 1,
                }),
            ),
            (
                "9434765919 ",
                Err(NotADigit {
                    character: ' ',
                    position: 11,
                }),
            ),
            (
                "94347659a9",
                Err(NotADigit {
                    character: 'a',
                    position: 9,
                }),
            ),
            (
                "943.476.5919",
                Err(NotADigit {
                    character: '.',
                    position: 4,
                }),
            ),
            (
                "943476591٩",
                Err(NotADigit {
                    character: '٩',
                    position: 10,
                }),
            ),
            ("943476591", Err(WrongLength { found: 9 })),
            ("94347659190", Err(WrongLength { found: 11 })),
            (
                "943 476 591",
                Err(NotADigit {
                    character: ' ',
                    position: 4,
                }),
            ),
            ("", Err(WrongLength { found: 0 })),
        ];
        for (text, expected) in cases {
            let parsed = NhsNumber::parse(text).map(|number| number.to_string());
            let expected = expected.clone().map(str::to_owned);
            assert_eq!(parsed, expected, "parsing {text:?}");
        }
    }

    #[test]
    fn error_messages_name_what_is_wrong() {
        let cases = [
            (
                "9434765918",
                "the check digit of an NHS number beginning 943476591 is 9, found 8",
            ),
            (
                "0000000060",
                "no valid NHS number begins with 000000006: their Modulus 11 check result is 10",
            ),
            (
                "94347659a9",
                "an NHS number has only digits, found 'a' at character 9 (it may be grouped 3-3-4 with single spaces or hyphens)",
            ),
            (
                "12345",
                "an NHS number has 10 digits, found 5 (it may be grouped 3-3-4 with single spaces or hyphens)",
            ),
        ];
        for (text, message) in cases {
            assert_eq!(NhsNumber::parse(text).unwrap_err().to_string(), message);
        }
    }

    #[test]
    fn from_nine_digits_appends_the_check_digit() {
        let cases: &[(u32, Option<&str>)] = &[
            (943_476_591, Some("9434765919")),
            (401_023_213, Some("4010232137")),
            (6, None),
            (0, Some("0000000000")),
            (1_000_000_000, None),
        ];
        for (first_nine, expected) in cases {
            assert_eq!(
                NhsNumber::from_nine_digits(*first_nine)
                    .map(|number| number.to_string())
                    .as_deref(),
                *expected,
                "{first_nine}"
            );
        }
        // Every number it makes parses back, and roughly one in eleven starts is refused.
        let made: Vec<NhsNumber> = (400_000_000..400_000_110)
            .filter_map(NhsNumber::from_nine_digits)
            .collect();
        assert_eq!(made.len(), 100);
        for number in made {
            assert_eq!(NhsNumber::parse(&number.to_string()), Ok(number));
        }
    }

    #[test]
    fn display_grouped_and_serde() {
        let number = NhsNumber::parse("943-476-5919").unwrap();
        assert_eq!(number.to_string(), "9434765919");
        assert_eq!(number.grouped(), "943 476 5919");
        assert_eq!(
            serde_json::to_value(number).unwrap(),
            serde_json::json!("9434765919")
        );
        let back: NhsNumber = serde_json::from_str("\"943 476 5919\"").unwrap();
        assert_eq!(back, number);
        let refused = serde_json::from_str::<NhsNumber>("\"9434765918\"").unwrap_err();
        assert!(refused.to_string().contains("is 9, found 8"), "{refused}");
        assert!(serde_json::from_str::<NhsNumber>("9434765919").is_err());
    }
}
