//! The conformance suite: real commands under the real kernel, compared with the decision
//! model path by path, for every route, as root and as an unprivileged user.

mod suite;
