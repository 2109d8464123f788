//! Integration tests of auth against a real token server on 127.0.0.1.

mod suite;
