//! pos tests
