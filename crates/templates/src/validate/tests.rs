//! Unit tests of `validate`: one hand-built template and composition per constraint.
