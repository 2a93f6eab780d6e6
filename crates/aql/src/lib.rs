//! The Archetype Query Language: what the store derives from each committed object so that
//! queries never parse stored JSON ([`index`]).

pub mod index;
