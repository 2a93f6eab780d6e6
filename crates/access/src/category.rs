//! Data categories: named sets of templates and composition archetypes (mental health,
//! sexual health, safeguarding...) that consent directives refer to, some of them sensitive.
//!
//! A composition belongs to every category that lists its template id or its root
//! archetype id; data in no category is general data. Sensitive categories are read only
//! with the person's explicit permission (see the policy module).
//!
//! Configuration JSON ([`DataCategories::from_json`]):
//!
//! ```json
//! {
//!   "categories": {
//!     "mental-health": {
//!       "sensitive": true,
//!       "templates": ["Mental health care plan"],
//!       "archetypes": ["openEHR-EHR-COMPOSITION.mental_health_assessment.v0"]
//!     },
//!     "end-of-life": { "templates": ["ReSPECT-3"] }
//!   }
//! }
//! ```
//!
//! Names are lowercase letters, digits and single hyphens; `sensitive` defaults to false and
//! the lists to empty; unknown fields are refused, so a misspelt `sensitve` is not silently
//! a non-sensitive category.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

/// One named category of data.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataCategory {
    /// Whether reading it needs the person's explicit permission.
    #[serde(default)]
    pub sensitive: bool,
    /// Template ids whose compositions belong to the category.
    #[serde(default)]
    pub templates: BTreeSet<String>,
    /// Composition archetype ids whose compositions belong to the category.
    #[serde(default)]
    pub archetypes: BTreeSet<String>,
}

/// The categories a node knows, by name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataCategories {
    categories: BTreeMap<String, DataCategory>,
}

/// Why a category configuration was refused.
#[derive(Debug, thiserror::Error)]
pub enum DataCategoryError {
    /// Not JSON of the documented shape.
    #[error("data category configuration: {0}")]
    Json(#[from] serde_json::Error),
    /// A name that is not lowercase letters, digits and single hyphens.
    #[error(
        "data category name {0:?} must be lowercase letters, digits and single hyphens, like \"mental-health\""
    )]
    InvalidName(String),
    /// An empty or padded template or archetype id.
    #[error("data category {category:?} lists an empty or space-padded {what} id {id:?}")]
    InvalidMember {
        /// The category.
        category: String,
        /// "template" or "archetype".
        what: &'static str,
        /// The offending id.
        id: String,
    },
}

/// The sensitive categories every node starts with, so that directives can name them before
/// anyone has configured which templates they hold.
pub const DEFAULT_SENSITIVE_CATEGORIES: [&str; 3] =
    ["mental-health", "sexual-health", "safeguarding"];

fn is_valid_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('-')
        && !name.ends_with('-')
        && !name.contains("--")
        && name.chars().all(|character| {
            character.is_ascii_lowercase() || character.is_ascii_digit() || character == '-'
        })
}

impl Default for DataCategories {
    /// The three sensitive categories, with no members yet.
    fn default() -> DataCategories {
        DataCategories {
            categories: DEFAULT_SENSITIVE_CATEGORIES
                .iter()
                .map(|name| {
                    (
                        (*name).to_owned(),
                        DataCategory {
                            sensitive: true,
                            ..DataCategory::default()
                        },
                    )
                })
                .collect(),
        }
    }
}

impl DataCategories {
    /// Categories from named definitions, checked as [`DataCategories::from_json`] checks them.
    pub fn new(
        categories: impl IntoIterator<Item = (String, DataCategory)>,
    ) -> Result<DataCategories, DataCategoryError> {
        let categories = DataCategories {
            categories: categories.into_iter().collect(),
        };
        categories.check()?;
        Ok(categories)
    }

    /// Categories from the configuration JSON documented in the module.
    pub fn from_json(json: &str) -> Result<DataCategories, DataCategoryError> {
        let categories: DataCategories = serde_json::from_str(json)?;
        categories.check()?;
        Ok(categories)
    }

    fn check(&self) -> Result<(), DataCategoryError> {
        for (name, category) in &self.categories {
            if !is_valid_name(name) {
                return Err(DataCategoryError::InvalidName(name.clone()));
            }
            for (what, ids) in [
                ("template", &category.templates),
                ("archetype", &category.archetypes),
            ] {
                if let Some(id) = ids
                    .iter()
                    .find(|id| id.trim().is_empty() || id.trim() != id.as_str())
                {
                    return Err(DataCategoryError::InvalidMember {
                        category: name.clone(),
                        what,
                        id: id.clone(),
                    });
                }
            }
        }
        Ok(())
    }

    /// The names of the categories a composition with this template id and root archetype
    /// id belongs to, in name order; empty for general data.
    pub fn categories_of(&self, template_id: &str, archetype_id: &str) -> Vec<&str> {
        self.categories
            .iter()
            .filter(|(_, category)| {
                category.templates.contains(template_id)
                    || category.archetypes.contains(archetype_id)
            })
            .map(|(name, _)| name.as_str())
            .collect()
    }

    /// Whether a category of this name exists.
    pub fn contains(&self, name: &str) -> bool {
        self.categories.contains_key(name)
    }

    /// Whether the named category is sensitive; an unknown name is not.
    pub fn is_sensitive(&self, name: &str) -> bool {
        self.categories
            .get(name)
            .is_some_and(|category| category.sensitive)
    }

    /// The category of this name.
    pub fn get(&self, name: &str) -> Option<&DataCategory> {
        self.categories.get(name)
    }

    /// Every category with its name, in name order (for the query filter, which needs each
    /// category's templates and archetypes).
    pub fn iter(&self) -> impl Iterator<Item = (&str, &DataCategory)> {
        self.categories
            .iter()
            .map(|(name, category)| (name.as_str(), category))
    }

    /// The names, in order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.categories.keys().map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONFIG: &str = r#"{
        "categories": {
            "mental-health": {
                "sensitive": true,
                "templates": ["Mental health care plan"],
                "archetypes": ["openEHR-EHR-COMPOSITION.mental_health_assessment.v0"]
            },
            "end-of-life": { "templates": ["ReSPECT-3", "Mental health care plan"] },
            "sexual-health": { "sensitive": true }
        }
    }"#;

    #[test]
    fn categories_of_matches_templates_and_archetypes() {
        let categories = DataCategories::from_json(CONFIG).unwrap();
        let cases: &[(&str, &str, &[&str])] = &[
            (
                "Mental health care plan",
                "openEHR-EHR-COMPOSITION.care_plan.v1",
                &["end-of-life", "mental-health"],
            ),
            (
                "Some other template",
                "openEHR-EHR-COMPOSITION.mental_health_assessment.v0",
                &["mental-health"],
            ),
            (
                "ReSPECT-3",
                "openEHR-EHR-COMPOSITION.care_plan.v1",
                &["end-of-life"],
            ),
            ("Vital signs", "openEHR-EHR-COMPOSITION.encounter.v1", &[]),
            // Ids are exact: no case folding, no prefix matching.
            (
                "respect-3",
                "openEHR-EHR-COMPOSITION.mental_health_assessment.v1",
                &[],
            ),
        ];
        for (template, archetype, expected) in cases {
            assert_eq!(
                categories.categories_of(template, archetype),
                *expected,
                "{template} {archetype}"
            );
        }
        assert!(categories.is_sensitive("mental-health"));
        assert!(categories.is_sensitive("sexual-health"));
        assert!(!categories.is_sensitive("end-of-life"));
        assert!(!categories.is_sensitive("unknown"));
        assert!(!categories.contains("safeguarding"));
    }

    #[test]
    fn default_has_the_three_sensitive_categories() {
        let categories = DataCategories::default();
        assert_eq!(
            categories.names().collect::<Vec<_>>(),
            ["mental-health", "safeguarding", "sexual-health"]
        );
        assert!(
            DEFAULT_SENSITIVE_CATEGORIES
                .iter()
                .all(|name| categories.is_sensitive(name))
        );
        assert!(categories.categories_of("anything", "anything").is_empty());
    }

    #[test]
    fn bad_configurations_are_refused_with_the_reason() {
        let cases = [
            (
                r#"{"categories": {"Mental Health": {}}}"#,
                "data category name \"Mental Health\" must be lowercase",
            ),
            (
                r#"{"categories": {"mental--health": {}}}"#,
                "data category name \"mental--health\"",
            ),
            (r#"{"categories": {"-x": {}}}"#, "data category name \"-x\""),
            (
                r#"{"categories": {"x": {"sensitve": true}}}"#,
                "unknown field `sensitve`",
            ),
            (
                r#"{"categories": {"x": {"templates": [""]}}}"#,
                "data category \"x\" lists an empty or space-padded template id \"\"",
            ),
            (
                r#"{"categories": {"x": {"archetypes": [" a"]}}}"#,
                "space-padded archetype id \" a\"",
            ),
            (
                r#"{"categories": []}"#,
                "data category configuration: invalid type",
            ),
        ];
        for (json, message) in cases {
            let error = DataCategories::from_json(json).unwrap_err().to_string();
            assert!(error.contains(message), "{json}: {error}");
        }
    }

    #[test]
    fn new_checks_names_too() {
        assert!(DataCategories::new([("ok-1".to_owned(), DataCategory::default())]).is_ok());
        assert!(DataCategories::new([("not ok".to_owned(), DataCategory::default())]).is_err());
    }
}
