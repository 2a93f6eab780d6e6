//! The library half of the `kith` binary: what its commands do that tests call directly.
//! `kith seed` lives here so that the integration tests seed a store in-process.

pub mod seed;
