//! Example and random compositions generated from a template, and mutations that break one
//! constraint.
//!
//! [`example`] is what a form builder or a client developer wants to look at: every node the
//! template defines, once, with values that read like data. [`random`] explores the space the
//! template allows, reproducibly from a seed, so that property tests can check that
//! `validate` accepts everything the template allows. [`mutations`] takes a valid composition
//! and breaks one constraint at a time, naming the path `validate` must report, so that tests
//! can check that `validate` rejects what the template forbids, at the right place.
//!
//! # Decisions
//!
//! - Values that a template cannot fix are fixed here: the territory is `GB` (ISO 3166-1,
//!   the ReSPECT and IDCR templates are English NHS ones), the encoding UTF-8, the subject
//!   PARTY_SELF, the composer a PARTY_IDENTIFIED, and every time is 2024-01-15T09:30:00Z, so
//!   that the output is byte-for-byte reproducible. The language is the template's.
//! - The example includes every optional attribute and one of every optional node, and as
//!   many of a repeated mandatory node as its occurrences require; it takes the first
//!   alternative of a choice and the first code of a list.
//! - The example invents no archetypes: an optional archetype slot the template leaves
//!   unfilled stays empty. Whatever went into it would be an archetype the template does not
//!   define, with content nobody designed, and it has no node in the web template, so the
//!   FLAT and STRUCTURED forms of the example (`GET /definition/template/adl1.4/{id}/example`)
//!   could not carry it. A slot is filled only when it must be: its occurrences, or the
//!   container's cardinality that nothing else can make up, require a member. An optional
//!   node that only a slot filler could make RM-valid (a CLUSTER whose only items are an
//!   optional slot: the RM wants at least one item) is left out of the example instead;
//!   only if no enclosing node may be left out, because the template and the RM require
//!   them all up to the composition, does the slot get the filler.
//! - Random compositions do fill optional slots, now and then: they exist to exercise the
//!   validator (slot matching, `SlotArchetypeNotAllowed` mutations), not to be read. A
//!   filled slot, in either, holds an archetype id the slot admits
//!   (`openEHR-EHR-CLUSTER.example.v1`, or one sampled from the include pattern) and only
//!   RM-mandatory content, since the template says nothing about it.
//! - `COMPOSITION.context` is always generated when the template allows it: an event
//!   composition must have one (RM invariant), and clients expect it.
//! - Magnitudes of quantities are taken from a small table of plausible clinical values by
//!   unit when the template's range allows (120 mm[Hg], 37 Cel), otherwise from the range.
//! - Everything is built with `RmObject::set`, so a generated tree always conforms to the RM
//!   class table; the RM-mandatory attributes the template does not mention are filled from
//!   defaults, so `check_mandatory` holds at every node.
//! - The pseudo-random generator is SplitMix64, a dozen lines: the sequences only need to be
//!   reproducible and well spread, not secure, and the `rand` crate would be the only reason
//!   for a dependency.

mod generate;
mod mutate;

use openehr_rm::RmObject;

use crate::model::Template;

pub use mutate::{Mutation, MutationKind, mutations, random_mutations};

/// A deterministic, realistic composition that `validate` accepts: every node the template
/// defines once (optional ones too; repeated mandatory ones as often as required), the first
/// alternative of each choice, values inside every constraint, and every RM-mandatory
/// attribute. Optional archetype slots the template leaves open stay empty, so every
/// archetype in the example is one the template uses (see the module docs for the slots
/// that must be filled).
pub fn example(template: &Template) -> RmObject {
    generate::Generator::new(template, None).composition()
}

/// A random composition within the constraints, reproducible from `seed`: optional nodes
/// present or not, 0 to the maximum occurrences (repeats capped at 3), random alternatives,
/// values and codes. Unlike the example, it may fill optional open slots with an archetype
/// the slot admits, which the template does not define.
pub fn random(template: &Template, seed: u64) -> RmObject {
    generate::Generator::new(template, Some(Rng::new(seed))).composition()
}

/// SplitMix64 (Steele, Lea and Flood 2014): one 64-bit state, good enough spread for test
/// data and trivially reproducible.
#[derive(Debug, Clone)]
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..bound` (`bound` > 0); the modulo bias is irrelevant for test data.
    pub(crate) fn below(&mut self, bound: u64) -> u64 {
        self.next_u64() % bound.max(1)
    }

    /// An index into a slice of `length` items.
    #[allow(clippy::cast_possible_truncation)]
    pub(crate) fn index(&mut self, length: usize) -> usize {
        self.below(length as u64) as usize
    }

    pub(crate) fn chance(&mut self, numerator: u64, denominator: u64) -> bool {
        self.below(denominator) < numerator
    }

    /// A number in `[0, 1)`.
    #[allow(clippy::cast_precision_loss)]
    pub(crate) fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1_u64 << 53) as f64
    }
}
