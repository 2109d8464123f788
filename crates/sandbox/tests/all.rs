//! Plan-versus-model tests of the sandbox crate: replay each plan in a small model of what the
//! OS would do, and compare path by path with the decision model.

mod suite;
