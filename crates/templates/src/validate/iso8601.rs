//! A strict reader of the ISO 8601 forms openEHR allows for DV_DATE, DV_TIME, DV_DATE_TIME and
//! DV_DURATION values, the template patterns that restrict them, and an ordering for ranges.
//!
//! Both the extended format (`2020-05-01`, `10:30:00`) and the compact one (`20200501`,
//! `103000`) are accepted, as the openEHR BASE Foundation Types (time types overview) require
//! implementations to support both; a date-time uses one of them throughout. Partial dates
//! (`2020`, `2020-05`) and partial times (`10`, `10:30`) are valid, and `,` is accepted as the
//! decimal sign beside `.`.

/// The components of a date; month and day are absent in partial dates.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Date {
    pub year: i32,
    pub month: Option<u32>,
    pub day: Option<u32>,
}

/// The components of a time of day; minutes and seconds are absent in partial times.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Time {
    pub hour: u32,
    pub minute: Option<u32>,
    pub second: Option<f64>,
    /// The offset from UTC in minutes, when the value has a zone (`Z` is zero).
    pub offset_minutes: Option<i32>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DateTime {
    pub date: Date,
    pub time: Option<Time>,
}

/// Duration components in designator order: years, months, weeks, days, hours, minutes, seconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Duration {
    pub negative: bool,
    pub components: [Option<f64>; 7],
}

/// The designators of [`Duration::components`], in order.
const DURATION_DESIGNATORS: [u8; 7] = *b"YMWDHMS";

fn digits(text: &[u8], count: usize) -> Option<u32> {
    if text.len() < count || !text[..count].iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(
        text[..count]
            .iter()
            .fold(0, |number, digit| number * 10 + u32::from(digit - b'0')),
    )
}

fn is_leap_year(year: i32) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i32, month: u32) -> u32 {
    match month {
        2 if is_leap_year(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

pub fn parse_date(text: &str) -> Option<Date> {
    let bytes = text.as_bytes();
    let year = i32::try_from(digits(bytes, 4)?).ok()?;
    let mut date = Date {
        year,
        month: None,
        day: None,
    };
    let rest = &bytes[4..];
    if rest.is_empty() {
        return Some(date);
    }
    // The compact form has no partial month precision (`YYYYMM` is not ISO 8601).
    if rest.len() == 4 && rest.iter().all(u8::is_ascii_digit) {
        let month = digits(rest, 2)?;
        let day = digits(&rest[2..], 2)?;
        if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
            return None;
        }
        date.month = Some(month);
        date.day = Some(day);
        return Some(date);
    }
    if rest[0] != b'-' || rest.len() < 3 {
        return None;
    }
    let month = digits(&rest[1..], 2)?;
    if !(1..=12).contains(&month) {
        return None;
    }
    date.month = Some(month);
    let rest = &rest[3..];
    if rest.is_empty() {
        return Some(date);
    }
    if rest.len() != 3 || rest[0] != b'-' {
        return None;
    }
    let day = digits(&rest[1..], 2)?;
    if day == 0 || day > days_in_month(year, month) {
        return None;
    }
    date.day = Some(day);
    Some(date)
}

/// Reads `,fff` or `.fff` at the start of `text`, returning the fraction and the bytes used.
fn fraction(text: &[u8]) -> Option<(f64, usize)> {
    if text
        .first()
        .is_none_or(|sign| *sign != b'.' && *sign != b',')
    {
        return Some((0.0, 0));
    }
    let count = text[1..]
        .iter()
        .take_while(|byte| byte.is_ascii_digit())
        .count();
    if count == 0 {
        return None;
    }
    let mut value = 0.0;
    let mut scale = 0.1;
    for digit in &text[1..=count] {
        value += f64::from(digit - b'0') * scale;
        scale /= 10.0;
    }
    Some((value, count + 1))
}

fn parse_zone(text: &[u8]) -> Option<Option<i32>> {
    match text {
        [] => Some(None),
        [b'Z'] => Some(Some(0)),
        [sign @ (b'+' | b'-'), rest @ ..] => {
            let hours = digits(rest, 2)?;
            let minutes = match &rest[2..] {
                [] => 0,
                [b':', minutes @ ..] if minutes.len() == 2 => digits(minutes, 2)?,
                minutes if minutes.len() == 2 => digits(minutes, 2)?,
                _ => return None,
            };
            if hours > 14 || minutes > 59 {
                return None;
            }
            let offset = i32::try_from(hours * 60 + minutes).ok()?;
            Some(Some(if *sign == b'-' { -offset } else { offset }))
        }
        _ => None,
    }
}

pub fn parse_time(text: &str) -> Option<Time> {
    let bytes = text.as_bytes();
    let hour = digits(bytes, 2)?;
    let mut time = Time {
        hour,
        minute: None,
        second: None,
        offset_minutes: None,
    };
    let mut rest = &bytes[2..];
    if rest.first().is_some_and(u8::is_ascii_digit) {
        // The compact form: hhmm or hhmmss.
        let minute = digits(rest, 2)?;
        if minute > 59 {
            return None;
        }
        time.minute = Some(minute);
        rest = &rest[2..];
        if rest.first().is_some_and(u8::is_ascii_digit) {
            let second = digits(rest, 2)?;
            if second > 59 {
                return None;
            }
            let (fraction, used) = fraction(&rest[2..])?;
            time.second = Some(f64::from(second) + fraction);
            rest = &rest[2 + used..];
        }
    } else if rest.first() == Some(&b':') {
        let minute = digits(&rest[1..], 2)?;
        if minute > 59 {
            return None;
        }
        time.minute = Some(minute);
        rest = &rest[3..];
        if rest.first() == Some(&b':') {
            let second = digits(&rest[1..], 2)?;
            if second > 59 {
                return None;
            }
            let (fraction, used) = fraction(&rest[3..])?;
            time.second = Some(f64::from(second) + fraction);
            rest = &rest[3 + used..];
        }
    }
    time.offset_minutes = parse_zone(rest)?;
    // 24:00:00 is the end of a day (openEHR BASE `valid_hour`); any other hour past 23 is not.
    let end_of_day = hour == 24
        && time.minute.unwrap_or(0) == 0
        && time.second.is_none_or(|second| second == 0.0);
    if hour > 23 && !end_of_day {
        return None;
    }
    Some(time)
}

pub fn parse_date_time(text: &str) -> Option<DateTime> {
    match text.split_once('T') {
        None => Some(DateTime {
            date: parse_date(text)?,
            time: None,
        }),
        Some((date, time)) => {
            // One format throughout: a compact date with a compact time, or both extended.
            // (an hour alone is the same in both).
            let clock = &time[..time.len() - zone_length(time)];
            if clock.len() > 2 && date.contains('-') != clock.contains(':') {
                return None;
            }
            let date = parse_date(date)?;
            // A time of day needs a complete date to be anchored to.
            date.day?;
            Some(DateTime {
                date,
                time: Some(parse_time(time)?),
            })
        }
    }
}

/// The length of a trailing zone designator (`Z`, `+01`, `+0100`, `+01:00`), 0 when none.
fn zone_length(time: &str) -> usize {
    if time.ends_with('Z') {
        return 1;
    }
    time.rfind(['+', '-'])
        .map_or(0, |position| time.len() - position)
}

pub fn parse_duration(text: &str) -> Option<Duration> {
    let (negative, text) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let body = text.strip_prefix('P')?.as_bytes();
    let mut duration = Duration {
        negative,
        components: [None; 7],
    };
    let mut in_time = false;
    // Designators must come in order; `next` is the first index still allowed.
    let mut next = 0;
    let mut position = 0;
    let mut fractional = false;
    while position < body.len() {
        if body[position] == b'T' {
            if in_time {
                return None;
            }
            in_time = true;
            next = next.max(4);
            position += 1;
            if position == body.len() {
                return None;
            }
            continue;
        }
        // A fraction is only allowed on the last component.
        if fractional {
            return None;
        }
        let count = body[position..]
            .iter()
            .take_while(|byte| byte.is_ascii_digit())
            .count();
        if count == 0 {
            return None;
        }
        let whole: f64 = std::str::from_utf8(&body[position..position + count])
            .ok()?
            .parse()
            .ok()?;
        position += count;
        let (part, used) = fraction(&body[position..])?;
        fractional = used > 0;
        position += used;
        let designator = *body.get(position)?;
        position += 1;
        let range = if in_time { 4..7 } else { 0..4 };
        let index = range
            .clone()
            .find(|index| DURATION_DESIGNATORS[*index] == designator && *index >= next)?;
        duration.components[index] = Some(whole + part);
        next = index + 1;
    }
    if duration.components.iter().all(Option::is_none) {
        return None;
    }
    Some(duration)
}

/// Days from 1970-01-01 to a civil date (proleptic Gregorian calendar).
fn days_from_civil(year: i32, month: u32, day: u32) -> i64 {
    let year = i64::from(year) - i64::from(month <= 2);
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month = i64::from(month);
    let day_of_year =
        (153 * (if month > 2 { month - 3 } else { month + 9 }) + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// Seconds since the epoch, missing components taken as their start (a partial date is its
/// first day), so that ranges order partial values by their earliest instant.
#[allow(clippy::cast_precision_loss)]
pub fn date_key(date: &Date) -> f64 {
    days_from_civil(date.year, date.month.unwrap_or(1), date.day.unwrap_or(1)) as f64 * 86_400.0
}

pub fn time_key(time: &Time) -> f64 {
    f64::from(time.hour) * 3600.0 + f64::from(time.minute.unwrap_or(0)) * 60.0
        - f64::from(time.offset_minutes.unwrap_or(0)) * 60.0
        + time.second.unwrap_or(0.0)
}

pub fn date_time_key(value: &DateTime) -> f64 {
    date_key(&value.date) + value.time.as_ref().map_or(0.0, time_key)
}

/// Nominal seconds, a year being 365.2425 days and a month a twelfth of that, as
/// comparisons of durations with different designators need some common measure.
pub fn duration_key(duration: &Duration) -> f64 {
    const SECONDS: [f64; 7] = [
        31_556_952.0,
        2_629_746.0,
        604_800.0,
        86_400.0,
        3600.0,
        60.0,
        1.0,
    ];
    let total: f64 = duration
        .components
        .iter()
        .zip(SECONDS)
        .map(|(component, seconds)| component.unwrap_or(0.0) * seconds)
        .sum();
    if duration.negative { -total } else { total }
}

/// How a template pattern treats one component: `YYYY`/`MM` required, `??` optional, `XX`
/// forbidden.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Presence {
    Required,
    Optional,
    Forbidden,
}

fn presence(component: &str) -> Option<Presence> {
    match component {
        "??" => Some(Presence::Optional),
        "XX" | "xx" => Some(Presence::Forbidden),
        "" => None,
        _ if component.bytes().all(|byte| byte.is_ascii_alphabetic()) => Some(Presence::Required),
        _ => None,
    }
}

fn presence_allows(presence: Option<Presence>, present: bool) -> bool {
    match presence {
        Some(Presence::Required) => present,
        Some(Presence::Optional) => true,
        Some(Presence::Forbidden) | None => !present,
    }
}

/// Whether a date matches a pattern such as `YYYY-MM-DD`, `YYYY-MM-??` or `YYYY-??-XX`.
pub fn date_matches(pattern: &str, date: &Date) -> bool {
    let mut parts = pattern.split('-');
    let _year = parts.next();
    let month = parts.next().and_then(presence);
    let day = parts.next().and_then(presence);
    presence_allows(month, date.month.is_some()) && presence_allows(day, date.day.is_some())
}

/// Whether a time matches a pattern such as `HH:MM:SS`, `HH:MM:??` or `HH:??:XX`.
pub fn time_matches(pattern: &str, time: &Time) -> bool {
    let mut parts = pattern.split(':');
    let _hour = parts.next();
    let minute = parts.next().and_then(presence);
    let second = parts.next().and_then(presence);
    presence_allows(minute, time.minute.is_some()) && presence_allows(second, time.second.is_some())
}

/// Whether a date-time matches a pattern such as `YYYY-MM-DDTHH:MM:SS` or `YYYY-MM-DDTHH:??:??`.
pub fn date_time_matches(pattern: &str, value: &DateTime) -> bool {
    let (date_pattern, time_pattern) = pattern.split_once('T').unwrap_or((pattern, ""));
    if !date_matches(date_pattern, &value.date) {
        return false;
    }
    let hour = time_pattern.split(':').next().and_then(presence);
    match &value.time {
        None => hour != Some(Presence::Required),
        Some(time) => {
            hour.is_some_and(|hour| hour != Presence::Forbidden) && time_matches(time_pattern, time)
        }
    }
}

/// Whether a duration uses only the designators a pattern such as `PYMWDTHMS` or `PDTH`
/// allows (an ADL interval after `/` is not part of the pattern).
pub fn duration_matches(pattern: &str, duration: &Duration) -> bool {
    let pattern = pattern.split('/').next().unwrap_or_default().trim();
    let Some(body) = pattern.strip_prefix('P') else {
        return true;
    };
    let (date_part, time_part) = body.split_once('T').unwrap_or((body, ""));
    duration
        .components
        .iter()
        .enumerate()
        .all(|(index, component)| {
            let designator = char::from(DURATION_DESIGNATORS[index]);
            component.is_none()
                || if index < 4 {
                    date_part.contains(designator)
                } else {
                    time_part.contains(designator)
                }
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_partial_and_complete() {
        for valid in [
            "2020",
            "2020-05",
            "2020-05-31",
            "2024-02-29",
            "2000-02-29",
            "20200501",
        ] {
            assert!(parse_date(valid).is_some(), "{valid}");
        }
        for invalid in [
            "",
            "20",
            "2020-5",
            "2020-13",
            "2020-00",
            "2021-02-29",
            "1900-02-29",
            "2020-04-31",
            "2020-05-01T",
            "2020-05-1",
            "2020/05/01",
            "２０２０",
        ] {
            assert!(parse_date(invalid).is_none(), "{invalid}");
        }
    }

    #[test]
    fn times_with_fractions_and_zones() {
        for valid in [
            "10",
            "10:30",
            "10:30:15",
            "10:30:15.123",
            "10:30:15,5",
            "10:30:15Z",
            "10:30:15+01:00",
            "10:30-05",
            "23:59:59.999+0530",
            "24:00:00",
        ] {
            assert!(parse_time(valid).is_some(), "{valid}");
        }
        for invalid in [
            "",
            "1",
            "25:00",
            "24:00:01",
            "10:60",
            "10:30:60",
            "10:30:15.",
            "10:30:15+1",
            "10:30:15+15:00",
            "10:30:15 ",
            "10:30:15ZZ",
        ] {
            assert!(parse_time(invalid).is_none(), "{invalid}");
        }
    }

    #[test]
    fn date_times_need_a_full_date_before_a_time() {
        for valid in [
            "2020-05-01T10:30:00Z",
            "2020-05-01T10",
            "2020-05",
            "2020-05-01T10:30:00.000+02:00",
        ] {
            assert!(parse_date_time(valid).is_some(), "{valid}");
        }
        for invalid in [
            "2020-05T10:00",
            "2020-05-01T",
            "2020-05-01 10:00:00",
            "T10:00",
        ] {
            assert!(parse_date_time(invalid).is_none(), "{invalid}");
        }
    }

    #[test]
    fn compact_forms_are_iso_8601_too() {
        for valid in ["1030", "103015", "103015,5Z", "103015+0100"] {
            assert!(parse_time(valid).is_some(), "{valid}");
        }
        for valid in ["20200501T103000Z", "20200501T10", "2020-05-01T10+01:00"] {
            assert!(parse_date_time(valid).is_some(), "{valid}");
        }
        for invalid in ["10:3015", "103", "20200501T10:30", "2020-05-01T1030"] {
            assert!(
                parse_time(invalid).is_none() || parse_date_time(invalid).is_none(),
                "{invalid}"
            );
        }
        assert!(parse_date_time("20200501T10:30").is_none());
        assert!(parse_date_time("2020-05-01T1030").is_none());
    }

    #[test]
    fn durations_in_designator_order() {
        for valid in [
            "P1Y",
            "P1Y2M3W4DT5H6M7S",
            "PT0.5S",
            "PT1,5H",
            "-P3D",
            "P0D",
            "PT36H",
        ] {
            assert!(parse_duration(valid).is_some(), "{valid}");
        }
        for invalid in [
            "", "P", "PT", "1Y", "P1H", "PT1D", "P1M1Y", "P1.5Y2M", "P1YT", "P1Y1Y", "PY",
        ] {
            assert!(parse_duration(invalid).is_none(), "{invalid}");
        }
        assert_eq!(duration_key(&parse_duration("PT1H30M").unwrap()), 5400.0);
        assert!(duration_key(&parse_duration("-P1D").unwrap()) < 0.0);
    }

    #[test]
    fn patterns_require_allow_and_forbid_components() {
        let date = |text| parse_date(text).unwrap();
        assert!(date_matches("YYYY-MM-DD", &date("2020-05-01")));
        assert!(!date_matches("YYYY-MM-DD", &date("2020-05")));
        assert!(date_matches("YYYY-MM-??", &date("2020-05")));
        assert!(!date_matches("YYYY-MM-XX", &date("2020-05-01")));
        assert!(date_matches("YYYY-??-??", &date("2020")));
        let time = |text| parse_time(text).unwrap();
        assert!(time_matches("HH:MM:SS", &time("10:30:00")));
        assert!(!time_matches("HH:MM:SS", &time("10:30")));
        assert!(!time_matches("HH:MM:XX", &time("10:30:00")));
        let date_time = |text| parse_date_time(text).unwrap();
        assert!(date_time_matches(
            "YYYY-MM-DDTHH:MM:SS",
            &date_time("2020-05-01T10:30:00Z")
        ));
        assert!(!date_time_matches(
            "YYYY-MM-DDTHH:MM:SS",
            &date_time("2020-05-01")
        ));
        assert!(date_time_matches(
            "YYYY-MM-DDTHH:??:??",
            &date_time("2020-05-01T10")
        ));
        assert!(date_time_matches(
            "YYYY-MM-??T??:??:??",
            &date_time("2020-05")
        ));
        let duration = |text| parse_duration(text).unwrap();
        assert!(duration_matches("PYMWDTHMS", &duration("P1Y2DT3H")));
        assert!(!duration_matches("PDTH", &duration("PT30M")));
        assert!(duration_matches("PDTH/|P0D..P7D|", &duration("P2DT3H")));
    }

    #[test]
    fn keys_order_instants_across_zones() {
        let instant = |text| date_time_key(&parse_date_time(text).unwrap());
        assert_eq!(
            instant("2020-05-01T10:00:00Z"),
            instant("2020-05-01T12:00:00+02:00")
        );
        assert!(instant("2020-05-01") < instant("2020-05-01T00:00:01"));
        assert!(instant("1969-12-31") < instant("1970-01-01"));
        assert_eq!(instant("1970-01-02"), 86_400.0);
    }
}
