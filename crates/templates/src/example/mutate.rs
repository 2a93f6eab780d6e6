//! Single-constraint mutations of a valid composition.

use openehr_rm::RmObject;

use crate::model::Template;

/// Which constraint a [`Mutation`] breaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MutationKind {
    WrongRmType,
}

/// A valid composition with exactly one constraint broken, and where `validate` must say so.
#[derive(Debug, Clone)]
pub struct Mutation {
    pub kind: MutationKind,
    /// The path `validate` reports the violation at.
    pub path: String,
    pub description: String,
    pub composition: RmObject,
}

pub fn mutations(_template: &Template, _composition: &RmObject) -> Vec<Mutation> {
    Vec::new()
}

pub fn random_mutations(template: &Template, composition: &RmObject, _seed: u64) -> Vec<Mutation> {
    mutations(template, composition)
}
