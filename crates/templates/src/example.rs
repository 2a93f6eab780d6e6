//! Example and random compositions generated from a template, and mutations that break one constraint.
