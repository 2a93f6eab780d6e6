//! Who may do what to whose record: the vocabulary of callers (roles, organisations,
//! purposes of use), people's identifiers (the NHS number and its check digit), consent
//! directives, the access decision, and the audit trail's hash chain. Pure: no IO, no
//! clock (the time of a decision is an input), no database; the server and the store call
//! in with facts and get decisions back.

pub mod model;

pub use model::{OrganisationType, Purpose, Role};
