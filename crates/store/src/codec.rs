//! Encodings both backends share: zstd frames for documents, instants split into
//! microseconds and an offset, the text codes of enums, and semantic version order.

use std::cmp::Ordering;

use time::{OffsetDateTime, UtcOffset};

use crate::{
    ChangeType, LifecycleState, NewContribution, ObjectKind, Result, StoreError, StoredQuery,
};

/// zstd level 3: the library default, several times faster than higher levels for a few
/// per cent of size on documents of a few kilobytes.
const ZSTD_LEVEL: i32 = 3;

thread_local! {
    /// One compression context per thread, reused: creating one allocates and clears about a
    /// megabyte of tables, which cost more than compressing a small document (`kith seed`
    /// spent 4 % of its CPU in `ZSTD_createCCtx`, more in the allocator behind it). The frames
    /// are the same as a fresh context's, since every call uses the same parameters.
    static COMPRESSOR: std::cell::RefCell<Option<zstd::bulk::Compressor<'static>>> =
        const { std::cell::RefCell::new(None) };
}

pub(crate) fn compress(data: &[u8]) -> Result<Vec<u8>> {
    let failed = |error: std::io::Error| {
        StoreError::Database(format!("cannot compress a document: {error}"))
    };
    COMPRESSOR.with(|cell| {
        let mut cell = cell.borrow_mut();
        let compressor = match cell.as_mut() {
            Some(compressor) => compressor,
            None => cell.insert(zstd::bulk::Compressor::new(ZSTD_LEVEL).map_err(failed)?),
        };
        compressor.compress(data).map_err(failed)
    })
}

pub(crate) fn decompress(data: &[u8]) -> Result<Vec<u8>> {
    zstd::stream::decode_all(data)
        .map_err(|error| StoreError::Corrupt(format!("cannot decompress a document: {error}")))
}

/// Replaces each version's data by its zstd frame. Done by the caller's task, before the
/// contribution reaches a writer, so compression runs in parallel and outside transactions.
pub(crate) fn compress_contribution(mut contribution: NewContribution) -> Result<NewContribution> {
    for version in &mut contribution.versions {
        version.data = compress(&version.data)?;
    }
    Ok(contribution)
}

/// Drops sub-microsecond digits: both databases keep microseconds, and truncating before
/// writing makes what is read back equal to what was written.
pub(crate) fn truncate_to_micros(instant: OffsetDateTime) -> OffsetDateTime {
    let nanosecond = instant.nanosecond() / 1_000 * 1_000;
    instant.replace_nanosecond(nanosecond).unwrap_or(instant)
}

/// Microseconds since the Unix epoch (floored) and the UTC offset in seconds.
pub(crate) fn split_time(instant: OffsetDateTime) -> (i64, i32) {
    let micros = instant.unix_timestamp_nanos().div_euclid(1_000);
    // Every representable OffsetDateTime (years -9999..=9999) fits in i64 microseconds.
    (micros as i64, instant.offset().whole_seconds())
}

/// The inverse of [`split_time`].
pub(crate) fn join_time(micros: i64, offset_seconds: i32) -> Result<OffsetDateTime> {
    let instant = OffsetDateTime::from_unix_timestamp_nanos(i128::from(micros) * 1_000)
        .map_err(|error| StoreError::Corrupt(format!("bad instant {micros}: {error}")))?;
    with_offset(instant, offset_seconds)
}

/// Puts an instant back into the offset it was written with.
pub(crate) fn with_offset(instant: OffsetDateTime, offset_seconds: i32) -> Result<OffsetDateTime> {
    let offset = UtcOffset::from_whole_seconds(offset_seconds).map_err(|error| {
        StoreError::Corrupt(format!("bad utc offset {offset_seconds}: {error}"))
    })?;
    instant
        .checked_to_offset(offset)
        .ok_or_else(|| StoreError::Corrupt(format!("instant {instant} out of range")))
}

pub(crate) fn parse_kind(text: &str) -> Result<ObjectKind> {
    ObjectKind::parse(text)
        .ok_or_else(|| StoreError::Corrupt(format!("unknown object kind {text}")))
}

pub(crate) fn parse_change_type(code: &str) -> Result<ChangeType> {
    ChangeType::parse(code)
        .ok_or_else(|| StoreError::Corrupt(format!("unknown change type {code}")))
}

pub(crate) fn parse_lifecycle_state(code: &str) -> Result<LifecycleState> {
    LifecycleState::from_code(code)
        .ok_or_else(|| StoreError::Corrupt(format!("unknown lifecycle state {code}")))
}

pub(crate) fn parse_value_kind(code: u8) -> Result<aql::index::ValueKind> {
    aql::index::ValueKind::from_code(code)
        .ok_or_else(|| StoreError::Corrupt(format!("unknown value kind {code}")))
}

/// The RM class name as the static string the index rows carry.
pub(crate) fn rm_type_name(name: &str) -> Result<&'static str> {
    openehr_rm::model::class_by_name(name)
        .map(|class| class.name)
        .ok_or_else(|| StoreError::Corrupt(format!("unknown rm type {name}")))
}

pub(crate) fn parse_json(text: &str) -> Result<serde_json::Value> {
    serde_json::from_str(text).map_err(|error| StoreError::Corrupt(format!("bad json: {error}")))
}

pub(crate) fn corrupt_uuid(error: uuid::Error) -> StoreError {
    StoreError::Corrupt(format!("bad uuid: {error}"))
}

/// Orders semantic versions numerically (`1.10.0` after `1.9.0`); a component that is not
/// a number counts by its leading digits, and equal keys fall back to the text.
pub(crate) fn compare_versions(left: &str, right: &str) -> Ordering {
    fn key(version: &str) -> Vec<u64> {
        version
            .split('.')
            .map(|part| {
                let digits: String = part.chars().take_while(char::is_ascii_digit).collect();
                digits.parse().unwrap_or(0)
            })
            .collect()
    }
    key(left).cmp(&key(right)).then_with(|| left.cmp(right))
}

/// The highest semantic version among `queries` (all of one name).
pub(crate) fn highest_version(queries: Vec<StoredQuery>) -> Option<StoredQuery> {
    queries
        .into_iter()
        .max_by(|left, right| compare_versions(&left.version, &right.version))
}

/// Name, then semantic version: the order `list_stored_queries` promises.
pub(crate) fn sort_stored_queries(queries: &mut [StoredQuery]) {
    queries.sort_by(|left, right| {
        left.name
            .cmp(&right.name)
            .then_with(|| compare_versions(&left.version, &right.version))
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_compare_numerically() {
        assert_eq!(compare_versions("1.10.0", "1.9.0"), Ordering::Greater);
        assert_eq!(compare_versions("2.0.0", "10.0.0"), Ordering::Less);
        assert_eq!(compare_versions("1.0.0", "1.0.0"), Ordering::Equal);
    }

    #[test]
    fn time_round_trips_with_offset() {
        let instant = time::macros::datetime!(2024-03-01 10:20:30.123456 +01:30);
        let (micros, offset) = split_time(instant);
        let back = join_time(micros, offset).expect("valid time");
        assert_eq!(back, instant);
        assert_eq!(back.offset(), instant.offset());
        let before_epoch = time::macros::datetime!(1960-01-01 00:00:00.000001 -05:00);
        let (micros, offset) = split_time(before_epoch);
        assert_eq!(join_time(micros, offset).expect("valid time"), before_epoch);
    }

    #[test]
    fn compression_round_trips() {
        let document = br#"{"_type":"COMPOSITION","name":{"value":"x"}}"#.repeat(50);
        let frame = compress(&document).expect("compresses");
        assert!(frame.len() < document.len());
        assert_eq!(decompress(&frame).expect("decompresses"), document);
    }

    #[test]
    fn a_reused_context_writes_the_frames_of_a_fresh_one() {
        let documents = [
            br#"{"_type":"COMPOSITION","name":{"value":"x"}}"#.repeat(50),
            b"short".to_vec(),
            br#"{"_type":"EHR_STATUS","is_queryable":true}"#.repeat(7),
        ];
        for document in documents.iter().chain(documents.iter()) {
            let fresh = zstd::bulk::compress(document, ZSTD_LEVEL).expect("compresses");
            assert_eq!(compress(document).expect("compresses"), fresh);
        }
    }
}
