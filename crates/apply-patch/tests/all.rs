//! End-to-end tests of the apply_patch engine: the fixture corpus and property tests.

mod suite;
