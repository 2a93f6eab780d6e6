//! Typed helpers for the identifiers the server builds and compares (version ids, UUIDs).

use std::fmt;
use std::str::FromStr;

use crate::{RmError, RmErrorKind};

/// `object_id::creating_system_id::version_tree_id`, e.g. `8849182c-...::kith.local::1` or
/// `...::kith.local::1.2.3` for a branch.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ObjectVersionId {
    pub object_id: String,
    pub creating_system_id: String,
    pub version_tree_id: String,
}

impl ObjectVersionId {
    /// A trunk version.
    pub fn new(
        object_id: impl Into<String>,
        creating_system_id: impl Into<String>,
        version: u32,
    ) -> Self {
        ObjectVersionId {
            object_id: object_id.into(),
            creating_system_id: creating_system_id.into(),
            version_tree_id: version.to_string(),
        }
    }

    pub fn parse(text: &str) -> Result<ObjectVersionId, RmError> {
        let invalid = |reason: &str| RmError {
            kind: RmErrorKind::InvalidValue,
            path: "/".to_owned(),
            message: format!("invalid object version id \"{text}\": {reason}"),
        };
        let mut parts = text.split("::");
        let (Some(object_id), Some(creating_system_id), Some(version_tree_id), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(invalid(
                "expected object_id::creating_system_id::version_tree_id",
            ));
        };
        if object_id.is_empty() || object_id.chars().any(char::is_whitespace) {
            return Err(invalid("empty or blank object id"));
        }
        if creating_system_id.is_empty() || creating_system_id.chars().any(char::is_whitespace) {
            return Err(invalid("empty or blank creating system id"));
        }
        if !is_version_tree_id(version_tree_id) {
            return Err(invalid(
                "the version tree id must be N or N.B.V with N, B, V positive integers",
            ));
        }
        Ok(ObjectVersionId {
            object_id: object_id.to_owned(),
            creating_system_id: creating_system_id.to_owned(),
            version_tree_id: version_tree_id.to_owned(),
        })
    }

    /// The trunk version number; `None` for a branch (`1.2.3`).
    pub fn version_number(&self) -> Option<u32> {
        positive_number(&self.version_tree_id)
    }
}

impl fmt::Display for ObjectVersionId {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            formatter,
            "{}::{}::{}",
            self.object_id, self.creating_system_id, self.version_tree_id
        )
    }
}

impl FromStr for ObjectVersionId {
    type Err = RmError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        ObjectVersionId::parse(text)
    }
}

/// Digits only, no sign, no leading zero, at least 1.
fn positive_number(text: &str) -> Option<u32> {
    if text.is_empty() || !text.bytes().all(|byte| byte.is_ascii_digit()) || text.starts_with('0') {
        return None;
    }
    text.parse().ok()
}

fn is_version_tree_id(text: &str) -> bool {
    let mut parts = text.split('.');
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(trunk), None, None, None) => positive_number(trunk).is_some(),
        (Some(trunk), Some(branch), Some(version), None) => [trunk, branch, version]
            .iter()
            .all(|part| positive_number(part).is_some()),
        _ => false,
    }
}

/// Whether `text` is a UUID in the 8-4-4-4-12 hexadecimal form (either case).
pub fn is_uuid(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.len() == 36
        && bytes.iter().enumerate().all(|(index, byte)| match index {
            8 | 13 | 18 | 23 => *byte == b'-',
            _ => byte.is_ascii_hexdigit(),
        })
}

/// Splits a UID_BASED_ID value into its root and optional extension (`root::extension`),
/// the form of HIER_OBJECT_ID values.
pub fn split_uid_based_id(text: &str) -> (&str, Option<&str>) {
    match text.split_once("::") {
        Some((root, extension)) => (root, Some(extension)),
        None => (text, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuid_shape() {
        assert!(is_uuid("8849182c-82ad-4088-a07f-48ead4180515"));
        assert!(!is_uuid("8849182c-82ad-4088-a07f-48ead418051"));
        assert!(!is_uuid("8849182c_82ad-4088-a07f-48ead4180515"));
        assert_eq!(split_uid_based_id("a::b"), ("a", Some("b")));
        assert_eq!(split_uid_based_id("a"), ("a", None));
    }
}
